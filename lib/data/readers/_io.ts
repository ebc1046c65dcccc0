/** Small file-system helpers shared by the readers; every failure becomes a one-line {@linkcode DatasetError}. */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { InputFileError, readRegularFile } from "../../util/files.ts";
import { DatasetError } from "./types.ts";

/** True when `path` exists and is a folder. */
export async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** True when `path` exists and is a file. */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Throws a DatasetError unless the data path is an existing folder; `expected` says what it should hold. */
export async function requireDataPath(root: string, expected: string): Promise<void> {
  let s;
  try {
    s = await stat(root);
  } catch {
    throw new DatasetError(`data path ${root} does not exist; expected ${expected}`);
  }
  if (!s.isDirectory()) throw new DatasetError(`data path ${root} is not a folder; expected ${expected}`);
}

/**
 * Reads a label file or CSV: a regular file (a FIFO or a device is refused, it would hang or
 * never end) within ADADF_MAX_LABEL_FILE_BYTES. A missing, unreadable, non-regular or
 * oversized one is a DatasetError saying what it should be.
 */
export async function readLabelFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readRegularFile(path, { maxBytes: "ADADF_MAX_LABEL_FILE_BYTES", what });
  } catch (e) {
    if (!(e instanceof InputFileError)) throw e;
    const m = e.message.slice(`${path}: ${what} `.length);
    const why = m.startsWith("does not exist") ? "is missing" : m.startsWith("is a folder") ? "is a folder" : m;
    throw new DatasetError(`${what} ${path} ${why}`);
  }
}

/**
 * The entries of a folder, sorted by name (byte order, like Python's sorted()), or [] when it
 * is missing. A symbolic link counts as what it points to (a linked class folder is a folder).
 */
export async function listDir(path: string): Promise<{ name: string; isDir: boolean }[]> {
  let entries;
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch {
    return [];
  }
  const out = await Promise.all(entries.map(async (e) => {
    let dir = e.isDirectory();
    if (e.isSymbolicLink()) dir = await isDir(join(path, e.name));
    return { name: e.name, isDir: dir };
  }));
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** File name extensions the image readers accept (torchvision's IMG_EXTENSIONS that sharp decodes). */
export const IMAGE_EXTENSIONS: readonly string[] = [".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"];

/** True when the file name has an image extension (case-insensitive). */
export function isImageName(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

/** Decodes UTF-8 text, dropping a leading byte-order mark. */
export function utf8(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  fn: (item: T, i: number) => Promise<R>,
  options: { limit: number },
): Promise<R[]> {
  const { limit } = options;
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

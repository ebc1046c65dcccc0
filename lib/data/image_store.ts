/**
 * Decoded faces, each decoded once and reused every epoch: in memory, or in one flat file of
 * N x S x S x 3 bytes that is read back with positioned reads (for data sets larger than
 * memory) and kept across runs as a cache.
 *
 * The disk cache is a folder `<cacheDir>/<label>-<key>/` holding `images.u8` (the kept faces,
 * in order) and `meta.json` (format, key, size, which sources were kept, which failed and
 * why, a SHA-256 of a sample of the images). The key is a hash of what was decoded (the
 * caller's: data set root, file list with sizes and mtimes, image size), so a second run on
 * the same files decodes nothing. The folder is written under a temporary name and renamed
 * into place; a folder whose file size, metadata or sample hash does not match is deleted
 * and rebuilt.
 *
 * @module
 */
import { createHash, randomUUID } from "node:crypto";
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import process from "node:process";
import { decodeFace, ImageDecodeError } from "./images.ts";
import { readRegularFile } from "../util/files.ts";
import type { ImageSource } from "./readers/types.ts";

/** N decoded faces of side S, read by index. */
export interface ImageStore {
  /** Number of faces N. */
  readonly count: number;
  /** Side S of every face. */
  readonly size: number;
  /**
   * Face `i`: `Uint8Array` [S, S, 3] RGB. The memory store returns a view into its buffer
   * (do not write to it); the disk store returns a fresh array per call.
   */
  get(i: number): Uint8Array;
  /** Releases the file handle (disk); a no-op in memory. */
  close(): void;
}

/** Bytes of one face of side `size`. */
function faceBytes(size: number): number {
  return size * size * 3;
}

/** Faces held in one `Uint8Array` [N, S, S, 3]. */
export class MemoryImageStore implements ImageStore {
  readonly size: number;
  readonly count: number;
  /** All faces, [N, S, S, 3]. */
  readonly pixels: Uint8Array;
  constructor(pixels: Uint8Array, size: number) {
    const b = faceBytes(size);
    if (pixels.length % b !== 0) {
      throw new RangeError(`${pixels.length} bytes is not a whole number of ${size}x${size}x3 faces`);
    }
    this.pixels = pixels;
    this.size = size;
    this.count = pixels.length / b;
  }
  get(i: number): Uint8Array {
    if (!(Number.isInteger(i) && i >= 0 && i < this.count)) {
      throw new RangeError(`face index ${i} is outside [0, ${this.count})`);
    }
    const b = faceBytes(this.size);
    return this.pixels.subarray(i * b, (i + 1) * b);
  }
  close(): void {}
}

/** Faces in a flat file [N, S, S, 3], read with positioned reads. */
export class DiskImageStore implements ImageStore {
  readonly size: number;
  readonly count: number;
  /** The file. */
  readonly path: string;
  #fd: number | null;
  /** Opens `path` (its size must be a whole number of faces). */
  constructor(path: string, size: number) {
    const b = faceBytes(size);
    const fd = openSync(path, "r");
    const bytes = fstatSync(fd).size;
    if (bytes % b !== 0) {
      closeSync(fd);
      throw new RangeError(`${path}: ${bytes} bytes is not a whole number of ${size}x${size}x3 faces`);
    }
    this.#fd = fd;
    this.path = path;
    this.size = size;
    this.count = bytes / b;
  }
  get(i: number): Uint8Array {
    if (this.#fd === null) throw new RangeError(`${this.path} is closed`);
    if (!(Number.isInteger(i) && i >= 0 && i < this.count)) {
      throw new RangeError(`face index ${i} is outside [0, ${this.count})`);
    }
    const b = faceBytes(this.size);
    const out = new Uint8Array(b);
    let off = 0;
    while (off < b) {
      const n = readSync(this.#fd, out, off, b - off, i * b + off);
      if (n <= 0) throw new RangeError(`${this.path}: face ${i} is cut short (the file shrank?)`);
      off += n;
    }
    return out;
  }
  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}

/** A source that could not be decoded. */
export interface FailedImage {
  /** Its index in the `sources` given to {@linkcode buildImageStore}. */
  index: number;
  reason: string;
}

/** Options of {@linkcode buildImageStore}. */
export interface BuildImageStoreOptions {
  /** Side S of the stored faces. */
  size: number;
  /** "memory" (default) or "disk" (needs `cacheDir` and `key`). */
  kind?: "memory" | "disk";
  /** Disk: the folder that holds the cache folders. */
  cacheDir?: string;
  /** Disk: a hash of everything the faces depend on (see the module doc). */
  key?: string;
  /** Disk: a readable prefix of the cache folder name, e.g. `raf-db-train-224px`. */
  label?: string;
  /** Decodes in flight at once (default 6). */
  concurrency?: number;
  /** The decoder (default {@linkcode decodeFace}); tests count calls through it. */
  decode?: (source: ImageSource, size: number) => Promise<Uint8Array>;
  /** Called after each face with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** What {@linkcode buildImageStore} returns. */
export interface BuiltImageStore {
  store: ImageStore;
  /** Indices into `sources` of the stored faces, in store order. */
  kept: Int32Array;
  /** The sources that failed to decode, in order. */
  failed: FailedImage[];
  /** Number of decode calls made (0 when a disk cache was reused). */
  decoded: number;
  /** Disk: true when a valid cache was found and used. */
  reused: boolean;
  /** Disk: the cache folder. */
  path?: string;
}

/** The cache's format name and version; bump the version when stored bytes change. */
const FORMAT = "adadf-image-cache";
const FORMAT_VERSION = 1;

interface CacheMeta {
  format: string;
  version: number;
  key: string;
  size: number;
  total: number;
  kept: number[];
  failed: FailedImage[];
  bytes: number;
  sampleSha256: string;
}

/** SHA-256 over up to 64 evenly spaced faces plus the last one: cheap, catches damage and truncation. */
function sampleHash(get: (i: number) => Uint8Array, count: number): string {
  const h = createHash("sha256");
  const picks = new Set<number>();
  for (let j = 0; j < 64 && count > 0; j++) picks.add(Math.floor((j * (count - 1)) / 63));
  if (count > 0) picks.add(count - 1);
  for (const i of [...picks].sort((a, b) => a - b)) h.update(get(i));
  return h.digest("hex");
}

/**
 * Decodes every source once, with at most `concurrency` decodes in flight, into a memory or a
 * disk store, keeping the sources' order. A source whose decode throws an
 * {@linkcode ImageDecodeError} is left out and listed in `failed`; any other error propagates.
 * In "disk" mode a valid cache folder for `key` is reused without decoding anything.
 */
export async function buildImageStore(
  sources: readonly ImageSource[],
  options: BuildImageStoreOptions,
): Promise<BuiltImageStore> {
  const { size } = options;
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`size must be a positive integer, got ${size}`);
  const kind = options.kind ?? "memory";
  if (kind === "memory") {
    const b = faceBytes(size);
    const pixels = new Uint8Array(sources.length * b);
    let k = 0;
    const r = await decodeAll(sources, { ...options, put: (face) => pixels.set(face, (k++) * b) });
    return { ...r, store: new MemoryImageStore(pixels.subarray(0, k * b), size), reused: false };
  }
  if (options.cacheDir === undefined || options.key === undefined) {
    throw new TypeError("a disk image store needs cacheDir and key");
  }
  const dir = join(options.cacheDir, `${options.label ? `${options.label}-` : ""}${options.key}`);
  const cached = await openCache(dir, { key: options.key, size, total: sources.length });
  if (cached) return cached;
  await rm(dir, { recursive: true, force: true }); // damaged or stale
  await mkdir(options.cacheDir, { recursive: true });
  await removeAbandoned(dir);
  const tmp = `${dir}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`;
  await mkdir(tmp);
  try {
    const file = join(tmp, "images.u8");
    const fd = openSync(file, "w");
    let r;
    try {
      r = await decodeAll(sources, {
        ...options,
        put: (face) => {
          let off = 0;
          while (off < face.length) off += writeSync(fd, face, off, face.length - off);
        },
      });
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const probe = new DiskImageStore(file, size);
    const meta: CacheMeta = {
      format: FORMAT,
      version: FORMAT_VERSION,
      key: options.key,
      size,
      total: sources.length,
      kept: [...r.kept],
      failed: r.failed,
      bytes: probe.count * faceBytes(size),
      sampleSha256: sampleHash((i) => probe.get(i), probe.count),
    };
    probe.close();
    await writeFile(join(tmp, "meta.json"), JSON.stringify(meta));
    try {
      await rename(tmp, dir);
    } catch (e) {
      // another run finished the same cache first: use theirs if it is valid
      const theirs = await openCache(dir, { key: options.key, size, total: sources.length });
      if (theirs) return { ...theirs, decoded: r.decoded };
      throw e;
    }
    const store = new DiskImageStore(join(dir, "images.u8"), size);
    return { ...r, store, reused: false, path: dir };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** True when a process with this id runs (signal 0 tests without sending). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/** Removes the temporary folders of `dir` left by runs that were killed while writing it. */
async function removeAbandoned(dir: string): Promise<void> {
  const prefix = `${basename(dir)}.tmp-`;
  let names: string[] = [];
  try {
    names = await readdir(dirname(dir));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split("-")[0]);
    if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || alive(pid))) continue; // still being written
    await rm(join(dirname(dir), name), { recursive: true, force: true });
  }
}

/** A valid cache folder opened as a store, or null (missing, stale or damaged). Never throws. */
async function openCache(
  dir: string,
  expect: { key: string; size: number; total: number },
): Promise<BuiltImageStore | null> {
  const { key, size, total } = expect;
  let meta: CacheMeta;
  try {
    // a regular file of sane size only: a FIFO or a device planted in the cache must not hang the run
    meta = JSON.parse(
      new TextDecoder().decode(await readRegularFile(join(dir, "meta.json"), { maxBytes: "ADADF_MAX_JSON_BYTES" })),
    );
  } catch {
    return null;
  }
  if (
    meta.format !== FORMAT || meta.version !== FORMAT_VERSION || meta.key !== key || meta.size !== size ||
    meta.total !== total || !Array.isArray(meta.kept) || !Array.isArray(meta.failed) ||
    meta.kept.length + meta.failed.length !== total || meta.bytes !== meta.kept.length * faceBytes(size)
  ) return null;
  const file = join(dir, "images.u8");
  try {
    const st = await stat(file);
    if (!st.isFile() || st.size !== meta.bytes) return null;
    const store = new DiskImageStore(file, size);
    if (sampleHash((i) => store.get(i), store.count) !== meta.sampleSha256) {
      store.close();
      return null;
    }
    return { store, kept: Int32Array.from(meta.kept), failed: meta.failed, decoded: 0, reused: true, path: dir };
  } catch {
    return null;
  }
}

/** The ordered decode loop: a sliding window of `concurrency` decodes, results handed to `put` in order. */
async function decodeAll(
  sources: readonly ImageSource[],
  options: BuildImageStoreOptions & { put: (face: Uint8Array) => void },
): Promise<{ kept: Int32Array; failed: FailedImage[]; decoded: number }> {
  const { put } = options;
  const decode = options.decode ?? decodeFace;
  const limit = Math.max(1, options.concurrency ?? 6);
  const expect = faceBytes(options.size);
  const n = sources.length;
  // results never reject while they wait in the window (an unawaited rejection would be "unhandled")
  const window: Promise<Uint8Array | ImageDecodeError | { fatal: unknown }>[] = [];
  const kept: number[] = [];
  const failed: FailedImage[] = [];
  let started = 0;
  const launch = () => {
    const src = sources[started++];
    window.push(decode(src, options.size).catch((e) => (e instanceof ImageDecodeError ? e : { fatal: e })));
  };
  for (let i = 0; i < n; i++) {
    while (started < n && started < i + limit) launch();
    const r = await window.shift()!;
    if (r instanceof ImageDecodeError) failed.push({ index: i, reason: r.message });
    else if (r instanceof Uint8Array) {
      if (r.length !== expect) {
        throw new RangeError(`decoder returned ${r.length} bytes for source ${i}, expected ${expect}`);
      }
      put(r);
      kept.push(i);
    } else {
      await Promise.allSettled(window); // let the decodes in flight finish before giving up
      throw r.fatal;
    }
    options.onProgress?.(i + 1, n);
  }
  return { kept: Int32Array.from(kept), failed, decoded: n };
}

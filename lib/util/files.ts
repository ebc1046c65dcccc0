/**
 * Small file helpers: reading an outside file safely (a regular file only, under a size cap,
 * so a FIFO, `/dev/zero` or a huge file is one clear error), atomic writes (temp file +
 * rename, so a reader never sees half a file) and .npy.
 */
import { closeSync, constants, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { bytesText, limit, type LimitName } from "./limits.ts";

/**
 * An input file that cannot be used: missing, not a regular file, above its size limit, or
 * malformed. The message is one line that starts with the path. A `RangeError`, so the CLI
 * reports it as bad input (exit code 2).
 */
export class InputFileError extends RangeError {
  override name = "InputFileError";
  /** The file. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

/** Options of {@linkcode readRegularFileSync} and {@linkcode readRegularFile}. */
export interface ReadLimitOptions {
  /** The cap in bytes, or the name of a limit of lib/util/limits.ts (default ADADF_MAX_WEIGHTS_BYTES). */
  maxBytes?: number | LimitName;
  /** What the file is, for the messages (`--weights`, `label file`); default `file`. */
  what?: string;
}

function capOf(options: ReadLimitOptions): { cap: number; env?: LimitName } {
  const m = options.maxBytes ?? "ADADF_MAX_WEIGHTS_BYTES";
  return typeof m === "number" ? { cap: m } : { cap: limit(m), env: m };
}

function openError(path: string, what: string, e: unknown): InputFileError {
  const code = (e as { code?: string }).code;
  const why = code === "ENOENT"
    ? "does not exist"
    : code === "EISDIR"
    ? "is a folder, expected a file"
    : code === "EACCES" || code === "EPERM"
    ? "cannot be read (permission denied)"
    : `cannot be read (${String((e as Error)?.message ?? e).split("\n")[0]})`;
  return new InputFileError(path, `${what} ${why}`);
}

function kindError(
  path: string,
  what: string,
  st: {
    isDirectory(): boolean;
    isFIFO(): boolean;
    isCharacterDevice(): boolean;
    isBlockDevice(): boolean;
    isSocket(): boolean;
  },
): InputFileError {
  const kind = st.isDirectory()
    ? "a folder"
    : st.isFIFO()
    ? "a FIFO (named pipe)"
    : st.isCharacterDevice() || st.isBlockDevice()
    ? "a device"
    : st.isSocket()
    ? "a socket"
    : "not a regular file";
  return new InputFileError(path, `${what} is ${kind}; expected a regular file`);
}

function sizeError(path: string, what: string, size: number, cap: number, env?: LimitName): InputFileError {
  return new InputFileError(
    path,
    `${what} is ${bytesText(size)}, above the limit of ${bytesText(cap)}` + (env ? ` (raise it with ${env})` : ""),
  );
}

/**
 * Reads a whole file that must be a regular file (a symbolic link to one is fine) of at most
 * `maxBytes` bytes. It is opened non-blocking (a FIFO does not hang the open), checked with
 * fstat (so what is checked is what is read), and exactly its size is read: a device such as
 * `/dev/zero`, a FIFO, a socket or a folder, or a file above the cap, is an
 * {@linkcode InputFileError} naming the path, before anything of its size is allocated.
 *
 * @example
 * ```ts
 * import { readRegularFileSync } from "./files.ts";
 * let refused = false;
 * try { readRegularFileSync("/dev/zero", { maxBytes: 1024, what: "--weights" }); } catch { refused = true; }
 * if (!refused) throw new Error("/dev/zero must be refused");
 * ```
 */
export function readRegularFileSync(path: string, options: ReadLimitOptions = {}): Uint8Array {
  const what = options.what ?? "file";
  const { cap, env } = capOf(options);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw openError(path, what, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw kindError(path, what, st);
    if (st.size > cap) throw sizeError(path, what, st.size, cap, env);
    const out = new Uint8Array(st.size);
    let off = 0;
    while (off < out.length) {
      const n = readSync(fd, out, off, out.length - off, off);
      if (n <= 0) break; // the file shrank while being read
      off += n;
    }
    return off === out.length ? out : out.subarray(0, off);
  } catch (e) {
    if (e instanceof InputFileError) throw e;
    throw openError(path, what, e);
  } finally {
    closeSync(fd);
  }
}

/** The asynchronous {@linkcode readRegularFileSync} (the same checks, for many files at once). */
export async function readRegularFile(path: string, options: ReadLimitOptions = {}): Promise<Uint8Array> {
  const what = options.what ?? "file";
  const { cap, env } = capOf(options);
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw openError(path, what, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw kindError(path, what, st);
    if (st.size > cap) throw sizeError(path, what, st.size, cap, env);
    const out = new Uint8Array(st.size);
    let off = 0;
    while (off < out.length) {
      const { bytesRead } = await fh.read(out, off, out.length - off, off);
      if (bytesRead <= 0) break;
      off += bytesRead;
    }
    return off === out.length ? out : out.subarray(0, off);
  } catch (e) {
    if (e instanceof InputFileError) throw e;
    throw openError(path, what, e);
  } finally {
    await fh.close();
  }
}

/** Reads a JSON file (`--config`, a run folder's JSON) with {@linkcode readRegularFileSync}'s checks; bad JSON is an InputFileError too. */
export function readJsonFileSync(path: string, options: ReadLimitOptions = {}): unknown {
  const what = options.what ?? "JSON file";
  const bytes = readRegularFileSync(path, { maxBytes: options.maxBytes ?? "ADADF_MAX_JSON_BYTES", what });
  try {
    // TextDecoder drops a UTF-8 byte order mark, as the label-file readers accept one
    return JSON.parse(new TextDecoder("utf-8", { ignoreBOM: false }).decode(bytes));
  } catch (e) {
    throw new InputFileError(path, `${what} is not valid JSON (${String((e as Error).message).split("\n")[0]})`);
  }
}

/** JSON.stringify replacer: NaN and infinities become null (JSON has no such numbers). */
export function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? null : value;
}

/** Writes `data` to `path` atomically: a temp file in the same folder, fsync, rename. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = `${path}.tmp-${Deno.pid}`;
  const fd = openSync(tmp, "w");
  try {
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    // disk full, quota, I/O error: the old file stays as it was and no temp file is left
    rmSync(tmp, { force: true });
    throw new Error(`cannot write ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** Encodes a float32 array as a NumPy .npy (v1.0, little-endian, C order). */
export function encodeNpy(data: Float32Array, shape: number[]): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")}${
    shape.length === 1 ? "," : ""
  }), }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/**
 * Parses a .npy header, a Python dict literal, as numpy's `safe_eval` does: strings,
 * integers, True/False/None, tuples, lists and dicts; nothing else.
 */
function parsePyLiteral(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new RangeError(`.npy header is not a Python literal (${what} at character ${i})`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  let depth = 0;
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail("an unterminated string");
      const s = text.slice(i + 1, end);
      if (s.includes("\\")) fail("an escape in a string");
      i = end + 1;
      return s;
    }
    if (c === "(" || c === "[" || c === "{") {
      if (++depth > 8) fail("nesting too deep");
      const close = c === "(" ? ")" : c === "[" ? "]" : "}";
      i++;
      const items: unknown[] = [];
      const dict = c === "{" ? new Map<unknown, unknown>() : null;
      let commas = 0;
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          break;
        }
        const k = value();
        if (dict) {
          ws();
          if (text[i++] !== ":") fail("a dict entry without ':'");
          if (typeof k !== "string") fail("a dict key that is not a string");
          if (dict.has(k)) fail(`the key '${k}' twice`);
          dict.set(k, value());
        } else items.push(k);
        ws();
        if (text[i] === ",") {
          i++;
          commas++;
        } else if (text[i] !== close) fail(`'${text[i] ?? "end"}' where ',' or '${close}' was expected`);
      }
      depth--;
      if (dict) return dict;
      // (3) is the integer 3, (3,) a tuple
      if (c === "(" && items.length === 1 && commas === 0) return items[0];
      return items;
    }
    const m = /^(-?\d+)L?|^(True|False|None)\b/.exec(text.slice(i, i + 40));
    if (m === null) fail(`'${text.slice(i, i + 10)}'`);
    i += m![0].length;
    if (m![2] !== undefined) return m![2] === "True" ? true : m![2] === "False" ? false : null;
    const n = Number(m![1]);
    if (!Number.isSafeInteger(n)) fail(`the integer ${m![1]} is too large`);
    return n;
  };
  const v = value();
  ws();
  if (i !== text.length) fail("text after the literal");
  return v;
}

/** What an .npy header says: its dtype string, order, shape, and where the data starts. */
export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** byte offset of the data in the file */
  dataStart: number;
}

/**
 * Parses an .npy header (format 1.0, 2.0 or 3.0) as numpy does: the dict literal with
 * exactly the keys `descr` (a string), `fortran_order` (True/False) and `shape` (a tuple of
 * integers >= 0). Nothing of the data is read.
 * @throws {RangeError} one line saying what is wrong and what was expected
 */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== "NUMPY") {
    throw new RangeError("not a .npy file (missing the \\x93NUMPY magic)");
  }
  const major = bytes[6];
  if (major !== 1 && major !== 2 && major !== 3) {
    throw new RangeError(`.npy format version ${major}.${bytes[7]} is not supported; expected 1.0, 2.0 or 3.0`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start) throw new RangeError(".npy file is truncated in its header");
  const hlen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (start + hlen > bytes.length) {
    throw new RangeError(`.npy header of ${hlen} bytes runs past the end of the ${bytes.length}-byte file`);
  }
  let headerText: string;
  try {
    headerText = new TextDecoder(major === 3 ? "utf-8" : "latin1", { fatal: true }).decode(
      bytes.subarray(start, start + hlen),
    );
  } catch {
    throw new RangeError(".npy header is not text");
  }
  const header = parsePyLiteral(headerText);
  if (!(header instanceof Map)) throw new RangeError(".npy header is not a dict");
  const keys = [...header.keys()].sort().join(", ");
  if (keys !== "descr, fortran_order, shape") {
    throw new RangeError(`.npy header has the keys ${keys || "(none)"}; expected descr, fortran_order, shape`);
  }
  const descr = header.get("descr");
  const fortran = header.get("fortran_order");
  const shape = header.get("shape");
  if (typeof descr !== "string") throw new RangeError(".npy header's descr is not a string (a structured dtype?)");
  if (typeof fortran !== "boolean") throw new RangeError(".npy header's fortran_order is not True or False");
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new RangeError(`.npy shape ${JSON.stringify(shape)} is not a tuple of integers >= 0`);
  }
  return { descr, fortranOrder: fortran, shape: (shape as number[]).slice(), dataStart: start + hlen };
}

/**
 * Decodes a float32 (or float64, converted) little-endian C-order .npy (format 1.0, 2.0 or
 * 3.0). The header is parsed by {@linkcode parseNpyHeader}; the shape's product must be
 * exactly what the file holds, checked before anything is allocated.
 * @throws {RangeError} one line saying what is wrong and what was expected
 */
export function decodeNpy(bytes: Uint8Array): { data: Float32Array; shape: number[] } {
  const { descr, fortranOrder, shape, dataStart } = parseNpyHeader(bytes);
  if (fortranOrder) throw new RangeError(".npy in Fortran order is not supported; save it C-contiguous");
  const itemSize = descr === "<f4" ? 4 : descr === "<f8" ? 8 : 0;
  if (itemSize === 0) {
    throw new RangeError(
      `.npy dtype ${JSON.stringify(descr)} is not supported; expected float32 ('<f4') or float64 ('<f8')`,
    );
  }
  const available = bytes.length - dataStart;
  let n = 1;
  for (const d of shape) n *= d; // exact while n * itemSize <= available (checked below)
  if (n * itemSize !== available) {
    throw new RangeError(
      `.npy shape (${shape.join(", ")}) needs ${n * itemSize} bytes of ${descr} data, the file holds ${available}`,
    );
  }
  // a copy, aligned: a Node Buffer's slice() is a view into a shared pool
  const raw = Uint8Array.prototype.slice.call(bytes, dataStart);
  const data = itemSize === 4 ? new Float32Array(raw.buffer) : Float32Array.from(new Float64Array(raw.buffer));
  return { data, shape };
}

/**
 * Reads and decodes an .npy file (`predict --npy`, `tsne FEATURES.npy`): a regular file
 * within ADADF_MAX_NPY_BYTES, then {@linkcode decodeNpy}.
 * @throws {InputFileError} one line naming the path and what was expected
 */
export function readNpyFile(path: string, options: { what?: string } = {}): { data: Float32Array; shape: number[] } {
  const what = options.what ?? ".npy file";
  const bytes = readRegularFileSync(path, { maxBytes: "ADADF_MAX_NPY_BYTES", what });
  try {
    return decodeNpy(bytes);
  } catch (e) {
    throw new InputFileError(path, (e as Error).message.split("\n")[0]);
  }
}

/** Small file helpers: atomic writes (temp file + rename, so a reader never sees half a file) and .npy. */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

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

/** Decodes a float32 (or float64, converted) little-endian C-order .npy. */
export function decodeNpy(bytes: Uint8Array): { data: Float32Array; shape: number[] } {
  if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== "NUMPY") {
    throw new RangeError("not a .npy file (missing the \\x93NUMPY magic)");
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "";
  if (/'fortran_order':\s*True/.test(header)) {
    throw new RangeError(".npy in Fortran order is not supported; save it C-contiguous");
  }
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  // a copy, aligned: a Node Buffer's slice() is a view into a shared pool
  const raw = Uint8Array.prototype.slice.call(bytes, start + hlen);
  let data: Float32Array;
  if (descr === "<f4") data = new Float32Array(raw.buffer);
  else if (descr === "<f8") data = Float32Array.from(new Float64Array(raw.buffer));
  else throw new RangeError(`.npy dtype ${descr} is not supported; expected float32 ('<f4') or float64 ('<f8')`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new RangeError(`.npy holds ${data.length} values but its shape (${shape}) needs ${n}`);
  return { data, shape };
}

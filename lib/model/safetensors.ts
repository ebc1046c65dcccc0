/**
 * The safetensors format (8-byte little-endian header length, a JSON header, raw
 * little-endian tensor bytes): how the toolkit stores weights. Pure encode/decode.
 */

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

/** One tensor to write: float32 values or int64 counters. */
export interface TypedArrayEntry {
  dtype: "F32" | "I64";
  shape: number[];
  data: Float32Array | BigInt64Array;
}

/** Encodes float32 tensors (keys sorted) and string metadata into one safetensors buffer. */
export function encodeSafetensors(
  tensors: Record<string, NamedArray>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const sorted: Record<string, TypedArrayEntry> = {};
  for (const name of Object.keys(tensors).sort()) sorted[name] = { dtype: "F32", ...tensors[name] };
  return encodeTypedSafetensors(sorted, metadata);
}

/** Encodes F32 and I64 tensors (in the given order) and string metadata as safetensors. */
export function encodeTypedSafetensors(
  tensors: Record<string, TypedArrayEntry>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new RangeError(`tensor '${name}' has ${t.data.length} values, its shape [${t.shape}] needs ${n}`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += " ";
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** Decodes a safetensors buffer (F32 and F16 tensors) into float32 arrays and its metadata. */
export function decodeSafetensors(
  bytes: Uint8Array,
): { tensors: Record<string, NamedArray>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new RangeError(`not a safetensors file: ${bytes.length} bytes, expected at least 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n <= 0 || 8 + n > bytes.length) {
    throw new RangeError(`not a safetensors file: header length ${n} does not fit in ${bytes.length} bytes`);
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new RangeError("not a safetensors file: its header is not JSON");
  }
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  const base = 8 + n;
  const tensors: Record<string, NamedArray> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [b, e] = info.data_offsets;
    if (base + e > bytes.length) {
      throw new RangeError(`safetensors tensor '${name}' runs past the end of the file (truncated?)`);
    }
    // a copy, aligned: a Node Buffer's slice() is a view into a shared pool
    const raw = Uint8Array.prototype.slice.call(bytes, base + b, base + e);
    let data: Float32Array;
    if (info.dtype === "F32") data = new Float32Array(raw.buffer);
    else if (info.dtype === "F16") data = Float32Array.from(new Float16Array(raw.buffer));
    else throw new RangeError(`safetensors tensor '${name}' has dtype ${info.dtype}; expected F32 or F16`);
    tensors[name] = { shape: info.shape, data };
  }
  return { tensors, metadata };
}

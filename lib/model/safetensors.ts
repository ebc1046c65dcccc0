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

/** The safetensors spec's own limit on the JSON header (100 MB). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/** Bytes per element of the safetensors dtypes this toolkit reads. */
export const SAFETENSORS_ELEMENT_SIZE: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** One tensor of a checked safetensors header: its bytes are `bytes[begin, end)` (absolute). */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;

/**
 * Reads and checks a safetensors header before any tensor is decoded: the header length
 * within the file and the spec's 100 MB, a JSON object, string metadata, and for every
 * tensor a known dtype (of `dtypes`), a shape of integers >= 0, two integer offsets in
 * order, inside the data, of exactly shape x element size bytes, and no two tensors
 * overlapping. Nothing is allocated for the tensors.
 * @throws {RangeError} one line naming the first offending tensor
 */
export function checkSafetensorsHeader(
  bytes: Uint8Array,
  dtypes: readonly string[] = Object.keys(SAFETENSORS_ELEMENT_SIZE),
): { entries: SafetensorsEntry[]; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new RangeError(`not a safetensors file: ${bytes.length} bytes, expected at least 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n < 2 || 8 + n > bytes.length || n > MAX_SAFETENSORS_HEADER_BYTES) {
    throw new RangeError(`not a safetensors file: header length ${n} does not fit in ${bytes.length} bytes`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new RangeError("not a safetensors file: its header is not JSON");
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new RangeError("not a safetensors file: its header is not a JSON object");
  }
  const h = header as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  const meta = h.__metadata__;
  if (meta !== undefined && meta !== null) {
    if (typeof meta !== "object" || Array.isArray(meta)) {
      throw new RangeError("safetensors __metadata__ is not an object");
    }
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== "string") throw new RangeError(`safetensors __metadata__ '${k}' is not a string`);
      metadata[k] = v;
    }
  }
  const base = 8 + n;
  const dataLength = bytes.length - base;
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(h)) {
    if (name === "__metadata__") continue;
    const bad = (what: string): never => {
      throw new RangeError(`safetensors tensor '${name}' ${what}`);
    };
    if (info === null || typeof info !== "object" || Array.isArray(info)) bad("is not an object");
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== "string" || !dtypes.includes(dtype)) {
      bad(`has dtype ${JSON.stringify(dtype)}; expected one of ${dtypes.join(", ")}`);
    }
    if (!Array.isArray(shape) || shape.length > 16 || !shape.every(isCount)) {
      bad(`has shape ${JSON.stringify(shape)}; expected an array of integers >= 0`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      bad(`has data_offsets ${JSON.stringify(offsets)}; expected [begin, end], integers with 0 <= begin <= end`);
    }
    const [b, e] = offsets as [number, number];
    if (e > dataLength) bad("does not fit the file (truncated?)");
    let count = 1;
    for (const d of shape as number[]) count *= d;
    const want = count * SAFETENSORS_ELEMENT_SIZE[dtype as string];
    if (want !== e - b) bad(`has ${e - b} bytes, its shape [${shape}] of ${dtype} needs ${want} (truncated?)`);
    entries.push({ name, dtype: dtype as string, shape: (shape as number[]).slice(), begin: base + b, end: base + e });
  }
  const sorted = entries.slice().sort((x, y) => x.begin - y.begin || x.end - y.end);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) {
      throw new RangeError(`safetensors tensors '${sorted[i - 1].name}' and '${sorted[i].name}' overlap`);
    }
  }
  return { entries, metadata };
}

/** Decodes a safetensors buffer (F32 and F16 tensors) into float32 arrays and its metadata; the header is checked first. */
export function decodeSafetensors(
  bytes: Uint8Array,
): { tensors: Record<string, NamedArray>; metadata: Record<string, string> } {
  const { entries, metadata } = checkSafetensorsHeader(bytes, ["F32", "F16"]);
  const tensors: Record<string, NamedArray> = {};
  for (const { name, dtype, shape, begin, end } of entries) {
    // a copy, aligned: a Node Buffer's slice() is a view into a shared pool
    const raw = Uint8Array.prototype.slice.call(bytes, begin, end);
    const data = dtype === "F32" ? new Float32Array(raw.buffer) : Float32Array.from(new Float16Array(raw.buffer));
    tensors[name] = { shape, data };
  }
  return { tensors, metadata };
}

/**
 * Reading PyTorch weight files without Python: the zip format of `torch.save` (PyTorch
 * >= 1.6: `<archive>/data.pkl` plus one raw little-endian file per storage under
 * `<archive>/data/`), the legacy format before 1.6 (five pickles then the raw storages,
 * `_use_new_zipfile_serialization=False`), and safetensors. Tensors come out as float32,
 * contiguous, in PyTorch's own layout (conv [Cout, Cin, KH, KW], linear [out, in]);
 * views are materialised through their offset and strides, storages shared between
 * several keys are read once, and the device a tensor was saved from (`cuda:0`) is
 * ignored: everything loads on the CPU. An I/O module: `readWeightsFile` reads the disk.
 */
import { unzipSync } from "fflate";
import { readFileSync } from "node:fs";
import { PickleError, PyGlobal, type PyObject, unpickle } from "./_pickle.ts";

/** A tensor read from a file: float32 values, contiguous (row-major) in `shape`. */
export interface TorchTensor {
  /** the dtype in the file: float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool */
  dtype: string;
  shape: number[];
  /** [prod(shape)] values converted to float32 */
  data: Float32Array;
  /** the storage it was read from (tensors with equal keys share memory in PyTorch) */
  storage?: string;
}

/** What a file holds: dicts (keys as strings), arrays (lists and tuples), tensors, scalars, inert objects. */
export type TorchObject =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | TorchTensor
  | PyObject
  | TorchObject[]
  | { [key: string]: TorchObject };

/** A file that is not a readable checkpoint, or weights that do not fit the model; one line naming the key. */
export class WeightsError extends RangeError {
  override name = "WeightsError";
}

/** Whether a value read by `readTorchFile` is a tensor. */
export function isTorchTensor(v: unknown): v is TorchTensor {
  return v !== null && typeof v === "object" && (v as TorchTensor).data instanceof Float32Array &&
    Array.isArray((v as TorchTensor).shape);
}

const STORAGE_DTYPES: Record<string, { dtype: string; size: number }> = {
  FloatStorage: { dtype: "float32", size: 4 },
  HalfStorage: { dtype: "float16", size: 2 },
  BFloat16Storage: { dtype: "bfloat16", size: 2 },
  DoubleStorage: { dtype: "float64", size: 8 },
  LongStorage: { dtype: "int64", size: 8 },
  IntStorage: { dtype: "int32", size: 4 },
  ShortStorage: { dtype: "int16", size: 2 },
  CharStorage: { dtype: "int8", size: 1 },
  ByteStorage: { dtype: "uint8", size: 1 },
  BoolStorage: { dtype: "bool", size: 1 },
};

/** Raw little-endian bytes of one dtype to float32 (a copy). */
function toFloat32(raw: Uint8Array, dtype: string): Float32Array {
  const buf = Uint8Array.prototype.slice.call(raw).buffer; // aligned copy (Node Buffers are pooled views)
  switch (dtype) {
    case "float32":
      return new Float32Array(buf);
    case "float16":
      return Float32Array.from(new Float16Array(buf));
    case "bfloat16": {
      const u = new Uint16Array(buf);
      const out = new Uint32Array(u.length);
      for (let i = 0; i < u.length; i++) out[i] = u[i] << 16;
      return new Float32Array(out.buffer);
    }
    case "float64":
      return Float32Array.from(new Float64Array(buf));
    case "int64": {
      const b = new BigInt64Array(buf);
      const out = new Float32Array(b.length);
      for (let i = 0; i < b.length; i++) out[i] = Number(b[i]);
      return out;
    }
    case "int32":
      return Float32Array.from(new Int32Array(buf));
    case "int16":
      return Float32Array.from(new Int16Array(buf));
    case "int8":
      return Float32Array.from(new Int8Array(buf));
    default: // uint8, bool
      return Float32Array.from(new Uint8Array(buf));
  }
}

interface StorageRef {
  key: string;
  dtype: string;
  /** element offset into the root storage (legacy views) */
  offset: number;
  numel: number;
}

interface Pending {
  tensor: TorchTensor;
  ref: StorageRef;
  offset: number;
  stride: number[];
}

/** persistent_load for both formats: ('storage', FooStorage, key, location, numel[, view_metadata]). */
function storageRef(pid: unknown): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== "storage" || !(pid[1] instanceof PyGlobal)) {
    throw new WeightsError(`weights: unknown persistent id in the pickle (${JSON.stringify(String(pid))})`);
  }
  const kind = STORAGE_DTYPES[(pid[1] as PyGlobal).name];
  if (kind === undefined) {
    throw new WeightsError(`weights: storage type ${(pid[1] as PyGlobal).qualified} is not supported`);
  }
  const ref: StorageRef = { key: String(pid[2]), dtype: kind.dtype, offset: 0, numel: Number(pid[4]) };
  const view = pid[5];
  if (Array.isArray(view)) ref.offset = Number(view[1]); // legacy (view_key, offset, size)
  return ref;
}

/** Reduces torch's tensor rebuild functions to pending tensors (filled once the storages are known). */
function tensorReducer(pending: Pending[]) {
  return (fn: PyGlobal, args: unknown[]): unknown => {
    switch (fn.qualified) {
      case "torch._utils._rebuild_tensor":
      case "torch._utils._rebuild_tensor_v2": {
        const [ref, offset, size, stride] = args as [StorageRef, number, number[], number[]];
        const tensor: TorchTensor = {
          dtype: ref.dtype,
          shape: (size ?? []).map(Number),
          data: new Float32Array(0),
          storage: ref.key,
        };
        pending.push({ tensor, ref, offset: Number(offset), stride: (stride ?? []).map(Number) });
        return tensor;
      }
      case "torch._utils._rebuild_parameter":
      case "torch._utils._rebuild_parameter_with_state":
        return args[0];
      case "torch.nn.parameter.Parameter":
        return args[0];
    }
    return undefined;
  };
}

/** Gathers a (possibly strided, offset) view out of its storage into a contiguous array. */
function materialise(p: Pending, storage: Float32Array): void {
  const shape = p.tensor.shape;
  const n = shape.reduce((a, b) => a * b, 1);
  const base = p.ref.offset + p.offset;
  let maxIndex = base;
  for (let d = 0; d < shape.length; d++) if (shape[d] > 0) maxIndex += (shape[d] - 1) * p.stride[d];
  if (n > 0 && (maxIndex >= storage.length || base < 0)) {
    throw new WeightsError(
      `weights: a tensor of shape [${shape}] at offset ${base} runs past its storage '${p.ref.key}' of ${storage.length} elements`,
    );
  }
  let contiguous = true;
  for (let d = shape.length - 1, expect = 1; d >= 0; expect *= shape[d], d--) {
    if (shape[d] !== 1 && p.stride[d] !== expect) contiguous = false;
  }
  if (contiguous) {
    p.tensor.data = storage.slice(base, base + n); // the common case: one copy
    return;
  }
  const out = new Float32Array(n);
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let src = base;
    for (let d = 0; d < shape.length; d++) src += idx[d] * p.stride[d];
    out[i] = storage[src];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  p.tensor.data = out;
}

function finish(pending: Pending[], storageOf: (ref: StorageRef) => Float32Array): void {
  for (const p of pending) materialise(p, storageOf(p.ref));
}

function readZip(bytes: Uint8Array): TorchObject {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new WeightsError(`weights: a zip file that cannot be read (${(e as Error).message})`);
  }
  const names = Object.keys(files);
  const pkl = names.find((n) => /(^|\/)data\.pkl$/.test(n));
  if (pkl === undefined) {
    const hint = names.some((n) => n.endsWith("constants.pkl")) ? " (a TorchScript archive?)" : "";
    throw new WeightsError(`weights: a zip file without data.pkl${hint}; expected a torch.save checkpoint`);
  }
  const root = pkl.slice(0, pkl.length - "data.pkl".length);
  const order = files[`${root}byteorder`];
  if (order !== undefined && new TextDecoder().decode(order).trim() === "big") {
    throw new WeightsError("weights: the file was saved big-endian; only little-endian checkpoints are supported");
  }
  const pending: Pending[] = [];
  const { value } = unpickle(files[pkl], 0, { persistentLoad: storageRef, reduce: tensorReducer(pending) });
  const cache = new Map<string, Float32Array>();
  finish(pending, (ref) => {
    let s = cache.get(ref.key);
    if (s === undefined) {
      const raw = files[`${root}data/${ref.key}`];
      if (raw === undefined) throw new WeightsError(`weights: storage '${ref.key}' is missing from the archive`);
      s = toFloat32(raw, ref.dtype);
      cache.set(ref.key, s);
    }
    return s;
  });
  return value as TorchObject;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function readLegacy(bytes: Uint8Array): TorchObject {
  const noStorage = {
    persistentLoad: () => {
      throw new WeightsError("weights: unexpected storage in the legacy header");
    },
  };
  const magic = unpickle(bytes, 0, noStorage);
  if (magic.value !== LEGACY_MAGIC) throw new WeightsError("weights: a pickle, but not a torch.save checkpoint");
  const proto = unpickle(bytes, magic.end, noStorage);
  if (proto.value !== 1001) {
    throw new WeightsError(`weights: legacy torch.save protocol ${String(proto.value)}, expected 1001`);
  }
  const sysInfo = unpickle(bytes, proto.end, noStorage);
  const info = sysInfo.value as Record<string, unknown>;
  if (info && info.little_endian === false) {
    throw new WeightsError("weights: the file was saved big-endian; only little-endian checkpoints are supported");
  }
  const pending: Pending[] = [];
  const refs = new Map<string, StorageRef>();
  const main = unpickle(bytes, sysInfo.end, {
    persistentLoad: (pid) => {
      const r = storageRef(pid);
      if (!refs.has(r.key)) refs.set(r.key, { ...r, offset: 0 });
      return r;
    },
    reduce: tensorReducer(pending),
  });
  const keys = unpickle(bytes, main.end, noStorage);
  let pos = keys.end;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, Float32Array>();
  for (const key of keys.value as string[]) {
    const ref = refs.get(String(key));
    if (ref === undefined) throw new WeightsError(`weights: legacy storage '${key}' is not referenced by the pickle`);
    const size = STORAGE_DTYPES[Object.keys(STORAGE_DTYPES).find((k) => STORAGE_DTYPES[k].dtype === ref.dtype)!].size;
    if (pos + 8 > bytes.length) throw new WeightsError(`weights: the legacy file is truncated at storage '${key}'`);
    const numel = Number(view.getBigInt64(pos, true));
    pos += 8;
    if (pos + numel * size > bytes.length) {
      throw new WeightsError(`weights: the legacy file is truncated at storage '${key}'`);
    }
    storages.set(String(key), toFloat32(bytes.subarray(pos, pos + numel * size), ref.dtype));
    pos += numel * size;
  }
  finish(pending, (ref) => {
    const s = storages.get(ref.key);
    if (s === undefined) throw new WeightsError(`weights: legacy storage '${ref.key}' is missing`);
    return s;
  });
  return main.value as TorchObject;
}

/**
 * Reads a `torch.save` file from its bytes: the zip format (PyTorch >= 1.6) or the legacy
 * format (pickles then raw storages). Tensors become `TorchTensor`s, dicts and
 * OrderedDicts plain objects, lists and tuples arrays.
 * @throws {WeightsError} for anything that is not such a file (a tar-format file of
 * PyTorch < 0.4 is named as such), or a broken one
 */
export function readTorchFile(bytes: Uint8Array): TorchObject {
  try {
    if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
      return readZip(bytes);
    }
    if (bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === "ustar") {
      throw new WeightsError(
        "weights: a tar archive: the tar format of torch.save before PyTorch 0.4 is not supported; " +
          "load it in PyTorch and save it again",
      );
    }
    if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] >= 2) return readLegacy(bytes);
  } catch (e) {
    if (e instanceof PickleError) throw new WeightsError(`weights: a broken checkpoint (${e.message})`);
    throw e;
  }
  throw new WeightsError("weights: not a PyTorch checkpoint (neither the zip nor the legacy torch.save format)");
}

const SAFETENSORS_DTYPES: Record<string, { dtype: string; size: number }> = {
  F32: { dtype: "float32", size: 4 },
  F16: { dtype: "float16", size: 2 },
  BF16: { dtype: "bfloat16", size: 2 },
  F64: { dtype: "float64", size: 8 },
  I64: { dtype: "int64", size: 8 },
  I32: { dtype: "int32", size: 4 },
  I16: { dtype: "int16", size: 2 },
  I8: { dtype: "int8", size: 1 },
  U8: { dtype: "uint8", size: 1 },
  BOOL: { dtype: "bool", size: 1 },
};

/** Whether the bytes look like safetensors: an 8-byte length, then a JSON header starting with '{'. */
function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return n > 1 && 8 + n <= bytes.length && bytes[8] === 0x7b;
}

/** Decodes safetensors of any common dtype (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL) to float32. */
export function readSafetensorsAny(
  bytes: Uint8Array,
): { tensors: Record<string, TorchTensor>; metadata: Record<string, string> } {
  if (!looksLikeSafetensors(bytes)) throw new WeightsError("weights: not a safetensors file");
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new WeightsError("weights: not a safetensors file (its header is not JSON)");
  }
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  const tensors: Record<string, TorchTensor> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const kind = SAFETENSORS_DTYPES[info.dtype];
    if (kind === undefined) throw new WeightsError(`weights: safetensors tensor '${name}' has dtype ${info.dtype}`);
    const [b, e] = info.data_offsets;
    const count = info.shape.reduce((x, y) => x * y, 1);
    if (e - b !== count * kind.size || 8 + n + e > bytes.length) {
      throw new WeightsError(`weights: safetensors tensor '${name}' does not fit the file (truncated?)`);
    }
    tensors[name] = {
      dtype: kind.dtype,
      shape: info.shape.slice(),
      data: toFloat32(bytes.subarray(8 + n + b, 8 + n + e), kind.dtype),
    };
  }
  return { tensors, metadata };
}

/** A weights file as read from disk. */
export interface WeightsFile {
  path: string;
  format: "torch-zip" | "torch-legacy" | "safetensors";
  /** the unpickled object (torch files) or the dict of tensors (safetensors) */
  root: TorchObject;
  /** safetensors metadata (empty for torch files) */
  metadata: Record<string, string>;
}

/**
 * Reads a weights file, recognising its format from its first bytes (not its name): a
 * torch.save zip (`.pth`, `.pth.tar`, `.pt`), a legacy torch.save file, or safetensors.
 * @throws {WeightsError} naming the path when the file is none of them
 */
export function readWeightsFile(path: string): Promise<WeightsFile> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    return Promise.reject(new WeightsError(`weights: cannot read ${path}: ${(e as Error).message.split("\n")[0]}`));
  }
  try {
    if (looksLikeSafetensors(bytes)) {
      const { tensors, metadata } = readSafetensorsAny(bytes);
      return Promise.resolve({ path, format: "safetensors", root: tensors, metadata });
    }
    const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b;
    const root = readTorchFile(bytes);
    return Promise.resolve({ path, format: isZip ? "torch-zip" : "torch-legacy", root, metadata: {} });
  } catch (e) {
    if (e instanceof WeightsError) {
      return Promise.reject(new WeightsError(e.message.replace(/^weights: /, `weights: ${path}: `)));
    }
    throw e;
  }
}

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
import { PickleError, PyGlobal, type PyObject, unpickle } from "./_pickle.ts";
import { readZipEntry, readZipIndex, ZipError } from "./_zip.ts";
import { checkSafetensorsHeader } from "./safetensors.ts";
import { InputFileError, readRegularFileSync } from "../util/files.ts";
import { limit } from "../util/limits.ts";

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

/**
 * A tensor of a torch.save file whose values are read from its storage on first use of
 * `data`: its dtype, shape and storage are known (and checked) as soon as the pickle is
 * read, so a caller can check every shape against a model before any value is read or
 * inflated, and a key nobody uses is never materialised.
 */
class LazyTensor implements TorchTensor {
  #load: (() => Float32Array) | undefined;
  #data: Float32Array | undefined;
  constructor(
    readonly dtype: string,
    readonly shape: number[],
    readonly storage: string,
    load: () => Float32Array,
  ) {
    this.#load = load;
  }
  get data(): Float32Array {
    if (this.#data === undefined) {
      this.#data = this.#load!();
      this.#load = undefined;
    }
    return this.#data;
  }
  set data(v: Float32Array) {
    this.#data = v;
    this.#load = undefined;
  }
}

/** Whether a value read by `readTorchFile` is a tensor (without reading its values). */
export function isTorchTensor(v: unknown): v is TorchTensor {
  if (v instanceof LazyTensor) return true;
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

/** What a persistent id names: one storage (a root storage, or a legacy view into one). */
class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: string,
    readonly elementSize: number,
    /** elements of the root storage, as the pickle declares them */
    readonly numel: number,
    /** element offset into the root storage (legacy views) */
    readonly offset: number,
  ) {}
}

/** At most this many dimensions (PyTorch's own limit is 64; weights have at most 4). */
const MAX_DIMS = 16;

/**
 * A view with more elements than its storage (stride 0, `expand`, overlapping strides) is
 * refused above this many elements: no checkpoint needs one, and an 808-byte file could
 * otherwise ask for gigabytes.
 */
const MAX_OVERLAPPING_VIEW = 1 << 24;

const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;

/** Short text for a value of the pickle in a message (never recursive: it may be deep or huge). */
function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint" || v === null) return String(v);
  if (Array.isArray(v)) return `a tuple of ${v.length}`;
  if (v instanceof PyGlobal) return v.qualified;
  return typeof v === "object" ? "an object" : typeof v;
}

/** persistent_load for both formats: ('storage', FooStorage, key, location, numel[, view_metadata]). */
function storageRef(pid: unknown): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== "storage" || !(pid[1] instanceof PyGlobal)) {
    throw new WeightsError(`unknown persistent id in the pickle (${describe(pid)})`);
  }
  const kind = STORAGE_DTYPES[(pid[1] as PyGlobal).name];
  if (kind === undefined) throw new WeightsError(`storage type ${(pid[1] as PyGlobal).qualified} is not supported`);
  const key = pid[2];
  if (typeof key !== "string" && !(typeof key === "number" && isCount(key))) {
    throw new WeightsError(`a storage key that is not text (${describe(key)})`);
  }
  const numel = pid[4];
  if (!isCount(numel)) throw new WeightsError(`storage '${key}' has size ${describe(numel)}; expected an integer >= 0`);
  let offset = 0;
  const view = pid[5];
  if (view !== undefined && view !== null) {
    // legacy (view_key, offset, size)
    if (!Array.isArray(view) || !isCount(view[1]) || !isCount(view[2]) || view[1] + view[2] > numel) {
      throw new WeightsError(`storage '${key}' has a broken view (${describe(view)})`);
    }
    offset = view[1];
  }
  return new StorageRef(String(key), kind.dtype, kind.size, numel, offset);
}

/** The bytes of a root storage, read (or inflated) when a tensor's values are first needed. */
type StorageBytes = (ref: StorageRef) => Uint8Array;

interface ReadContext {
  /** how the messages name the file: `weights: path: ` or `weights: ` */
  prefix: string;
  storageBytes: StorageBytes;
  /** elements left to materialise, over every tensor of the file */
  budget: number;
}

/** Reduces torch's tensor rebuild functions to lazy tensors, checking their metadata first. */
function tensorReducer(ctx: ReadContext) {
  return (fn: PyGlobal, args: unknown[]): unknown => {
    switch (fn.qualified) {
      case "torch._utils._rebuild_tensor":
      case "torch._utils._rebuild_tensor_v2": {
        const [ref, offset, size, stride] = args;
        const bad = (what: string): never => {
          throw new WeightsError(`a tensor ${what}`);
        };
        if (!(ref instanceof StorageRef)) bad(`without a storage (${describe(ref)})`);
        const r = ref as StorageRef;
        if (!isCount(offset)) bad(`in storage '${r.key}' has offset ${describe(offset)}; expected an integer >= 0`);
        if (!Array.isArray(size) || size.length > MAX_DIMS || !size.every(isCount)) {
          bad(`in storage '${r.key}' has size ${describe(size)}; expected a tuple of integers >= 0`);
        }
        const shape = (size as number[]).slice();
        if (!Array.isArray(stride) || stride.length !== shape.length || !stride.every(isCount)) {
          bad(
            `in storage '${r.key}' of shape [${shape}] has strides ${describe(stride)}; ` +
              `expected ${shape.length} integers >= 0`,
          );
        }
        const strides = (stride as number[]).slice();
        let n = 1;
        for (const d of shape) n *= d;
        const base = r.offset + (offset as number);
        let last = base;
        for (let d = 0; d < shape.length; d++) if (shape[d] > 0) last += (shape[d] - 1) * strides[d];
        if (n > 0 && last >= r.numel) {
          bad(`of shape [${shape}] at offset ${base} runs past its storage '${r.key}' of ${r.numel} elements`);
        }
        if (n > r.numel && n > MAX_OVERLAPPING_VIEW) {
          bad(
            `of shape [${shape}] is a view with ${n} elements of a storage of ${r.numel} (stride 0 or overlapping); ` +
              "save it with .contiguous()",
          );
        }
        return new LazyTensor(r.dtype, shape, r.key, () => materialise(ctx, r, { shape, strides, base, n, last }));
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

/** Gathers a (possibly strided, offset) view out of its storage into a contiguous array: only the span it reads is converted. */
function materialise(
  ctx: ReadContext,
  ref: StorageRef,
  view: { shape: number[]; strides: number[]; base: number; n: number; last: number },
): Float32Array {
  const { shape, strides, base, n, last } = view;
  try {
    if (n === 0) return new Float32Array(0);
    ctx.budget -= n;
    if (ctx.budget < 0) {
      throw new WeightsError("the tensors read from the file add up to far more values than the file holds");
    }
    const raw = ctx.storageBytes(ref);
    const es = ref.elementSize;
    if (raw.length < (last + 1) * es) {
      throw new WeightsError(
        `storage '${ref.key}' holds ${raw.length} bytes, a tensor of shape [${shape}] needs ${(last + 1) * es}`,
      );
    }
    let contiguous = true;
    for (let d = shape.length - 1, expect = 1; d >= 0; expect *= shape[d], d--) {
      if (shape[d] !== 1 && strides[d] !== expect) contiguous = false;
    }
    if (contiguous) return toFloat32(raw.subarray(base * es, (base + n) * es), ref.dtype); // the common case
    const span = toFloat32(raw.subarray(base * es, (last + 1) * es), ref.dtype);
    const out = new Float32Array(n);
    const idx = new Array(shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      let src = 0;
      for (let d = 0; d < shape.length; d++) src += idx[d] * strides[d];
      out[i] = span[src];
      for (let d = shape.length - 1; d >= 0; d--) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
    return out;
  } catch (e) {
    throw named(ctx.prefix, e);
  }
}

/** Any error of the reader as one WeightsError line starting with the prefix (`weights: PATH: `). */
function named(prefix: string, e: unknown): WeightsError {
  const msg = String((e as Error)?.message ?? e).split("\n")[0];
  if (e instanceof WeightsError) return msg.startsWith("weights: ") ? e : new WeightsError(prefix + msg);
  if (e instanceof ZipError) return new WeightsError(`${prefix}a zip file that cannot be read (${msg})`);
  if (e instanceof PickleError) return new WeightsError(`${prefix}a broken checkpoint (${msg})`);
  // V8's own: "Invalid typed array length", "Array buffer allocation failed", a stack overflow...
  return new WeightsError(`${prefix}a broken or oversized checkpoint (${msg})`);
}

function readZip(bytes: Uint8Array, ctx: ReadContext): TorchObject {
  const entries = readZipIndex(bytes);
  const names = [...entries.keys()];
  const pkl = names.find((n) => /(^|\/)data\.pkl$/.test(n));
  if (pkl === undefined) {
    const hint = names.some((n) => n.endsWith("constants.pkl")) ? " (a TorchScript archive?)" : "";
    throw new WeightsError(`a zip file without data.pkl${hint}; expected a torch.save checkpoint`);
  }
  const root = pkl.slice(0, pkl.length - "data.pkl".length);
  // only the entries used are inflated, each capped: data.pkl, byteorder, then each storage on first use
  let inflateLeft = limit("ADADF_MAX_WEIGHTS_BYTES");
  const entry = (name: string, cap: number): Uint8Array | undefined => {
    const e = entries.get(name);
    if (e === undefined) return undefined;
    const out = readZipEntry(bytes, e, { maxBytes: Math.min(cap, inflateLeft) });
    if (e.method !== 0) inflateLeft -= out.length;
    return out;
  };
  const order = entry(`${root}byteorder`, 64);
  if (order !== undefined && new TextDecoder().decode(order).trim() === "big") {
    throw new WeightsError("the file was saved big-endian; only little-endian checkpoints are supported");
  }
  const cache = new Map<string, Uint8Array>();
  ctx.storageBytes = (ref) => {
    let raw = cache.get(ref.key);
    if (raw === undefined) {
      const name = `${root}data/${ref.key}`;
      const e = entries.get(name);
      if (e === undefined) throw new WeightsError(`storage '${ref.key}' is missing from the archive`);
      if (e.size !== ref.numel * ref.elementSize) {
        throw new WeightsError(
          `storage '${ref.key}' holds ${e.size} bytes, the pickle declares ${ref.numel} ${ref.dtype} elements`,
        );
      }
      raw = entry(name, Infinity)!;
      cache.set(ref.key, raw);
    }
    return raw;
  };
  const pickle = entry(pkl, limit("ADADF_MAX_PICKLE_BYTES"))!;
  ctx.budget = 4 * (bytes.length + pickle.length) + (1 << 26);
  const { value } = unpickle(pickle, 0, { persistentLoad: storageRef, reduce: tensorReducer(ctx) });
  return value as TorchObject;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function readLegacy(bytes: Uint8Array, ctx: ReadContext): TorchObject {
  const noStorage = {
    persistentLoad: () => {
      throw new WeightsError("unexpected storage in the legacy header");
    },
  };
  const magic = unpickle(bytes, 0, noStorage);
  if (magic.value !== LEGACY_MAGIC) throw new WeightsError("a pickle, but not a torch.save checkpoint");
  const proto = unpickle(bytes, magic.end, noStorage);
  if (proto.value !== 1001) {
    throw new WeightsError(`legacy torch.save protocol ${describe(proto.value)}, expected 1001`);
  }
  const sysInfo = unpickle(bytes, proto.end, noStorage);
  const info = sysInfo.value as Record<string, unknown>;
  if (info && typeof info === "object" && info.little_endian === false) {
    throw new WeightsError("the file was saved big-endian; only little-endian checkpoints are supported");
  }
  const refs = new Map<string, StorageRef>();
  ctx.budget = 4 * bytes.length + (1 << 26);
  const main = unpickle(bytes, sysInfo.end, {
    persistentLoad: (pid) => {
      const r = storageRef(pid);
      const seen = refs.get(r.key);
      if (seen === undefined) refs.set(r.key, r);
      else if (seen.dtype !== r.dtype || seen.numel !== r.numel) {
        throw new WeightsError(`storage '${r.key}' is declared twice with different types or sizes`);
      }
      return r;
    },
    reduce: tensorReducer(ctx),
  });
  const keys = unpickle(bytes, main.end, noStorage);
  if (!Array.isArray(keys.value)) throw new WeightsError("the legacy list of storage keys is not a list");
  let pos = keys.end;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, Uint8Array>();
  for (const k of keys.value as unknown[]) {
    const key = typeof k === "string" || typeof k === "number" ? String(k) : describe(k);
    const ref = refs.get(key);
    if (ref === undefined) throw new WeightsError(`legacy storage '${key}' is not referenced by the pickle`);
    if (pos + 8 > bytes.length) throw new WeightsError(`the legacy file is truncated at storage '${key}'`);
    const numel = Number(view.getBigInt64(pos, true));
    pos += 8;
    if (numel !== ref.numel) {
      throw new WeightsError(`legacy storage '${key}' holds ${numel} elements, the pickle declares ${ref.numel}`);
    }
    const size = numel * ref.elementSize;
    if (pos + size > bytes.length) throw new WeightsError(`the legacy file is truncated at storage '${key}'`);
    storages.set(key, bytes.subarray(pos, pos + size));
    pos += size;
  }
  ctx.storageBytes = (ref) => {
    const s = storages.get(ref.key);
    if (s === undefined) throw new WeightsError(`legacy storage '${ref.key}' is missing`);
    return s;
  };
  return main.value as TorchObject;
}

/**
 * Reads a `torch.save` file from its bytes: the zip format (PyTorch >= 1.6) or the legacy
 * format (pickles then raw storages). Tensors become `TorchTensor`s, dicts and
 * OrderedDicts plain objects, lists and tuples arrays. Every tensor's dtype, shape, offset
 * and strides are checked against its storage here; its values are read (and its zip entry
 * inflated) on first use of `data`, so a key that is never used costs nothing.
 * @throws {WeightsError} for anything that is not such a file (a tar-format file of
 * PyTorch < 0.4 is named as such), or a broken one; `options.path` names the file in the
 * messages (also those thrown later, when a tensor's values are read)
 */
export function readTorchFile(bytes: Uint8Array, options: { path?: string } = {}): TorchObject {
  const prefix = options.path === undefined ? "weights: " : `weights: ${options.path}: `;
  const ctx: ReadContext = {
    prefix,
    budget: 0,
    storageBytes: () => {
      throw new WeightsError("a storage was read before the file was");
    },
  };
  try {
    if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
      return readZip(bytes, ctx);
    }
    if (bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === "ustar") {
      throw new WeightsError(
        "a tar archive: the tar format of torch.save before PyTorch 0.4 is not supported; " +
          "load it in PyTorch and save it again",
      );
    }
    if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] >= 2) return readLegacy(bytes, ctx);
  } catch (e) {
    throw named(prefix, e);
  }
  throw new WeightsError(`${prefix}not a PyTorch checkpoint (neither the zip nor the legacy torch.save format)`);
}

const SAFETENSORS_DTYPES: Record<string, string> = {
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
  F64: "float64",
  I64: "int64",
  I32: "int32",
  I16: "int16",
  I8: "int8",
  U8: "uint8",
  BOOL: "bool",
};

/** Whether the bytes look like safetensors: an 8-byte length, then a JSON header starting with '{'. */
function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return n > 1 && 8 + n <= bytes.length && bytes[8] === 0x7b;
}

/**
 * Decodes safetensors of any common dtype (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)
 * to float32. The whole header is checked first (`checkSafetensorsHeader`: offsets in order,
 * inside the file, of the shape's size, not overlapping); each tensor's values are
 * converted on first use of `data`.
 */
export function readSafetensorsAny(
  bytes: Uint8Array,
): { tensors: Record<string, TorchTensor>; metadata: Record<string, string> } {
  if (!looksLikeSafetensors(bytes)) throw new WeightsError("weights: not a safetensors file");
  let checked;
  try {
    checked = checkSafetensorsHeader(bytes, Object.keys(SAFETENSORS_DTYPES));
  } catch (e) {
    throw new WeightsError(`weights: ${(e as Error).message.replace(/^safetensors /, "safetensors ")}`);
  }
  const tensors: Record<string, TorchTensor> = Object.create(null);
  for (const { name, dtype, shape, begin, end } of checked.entries) {
    const d = SAFETENSORS_DTYPES[dtype];
    tensors[name] = new LazyTensor(d, shape, name, () => toFloat32(bytes.subarray(begin, end), d));
  }
  return { tensors, metadata: checked.metadata };
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
  try {
    let bytes: Uint8Array;
    try {
      bytes = readRegularFileSync(path, { maxBytes: "ADADF_MAX_WEIGHTS_BYTES", what: "weights file" });
    } catch (e) {
      if (e instanceof InputFileError) throw new WeightsError(`weights: cannot read ${e.message}`);
      throw e;
    }
    if (looksLikeSafetensors(bytes)) {
      const { tensors, metadata } = readSafetensorsAny(bytes);
      return Promise.resolve({ path, format: "safetensors", root: tensors, metadata });
    }
    const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b;
    const root = readTorchFile(bytes, { path });
    return Promise.resolve({ path, format: isZip ? "torch-zip" : "torch-legacy", root, metadata: {} });
  } catch (e) {
    const msg = String((e as Error)?.message ?? e).split("\n")[0];
    if (e instanceof WeightsError && msg.includes(path)) return Promise.reject(e);
    // every other failure, V8's own included, as one line naming the file
    return Promise.reject(new WeightsError(`weights: ${path}: ${msg.replace(/^weights: /, "")}`));
  }
}

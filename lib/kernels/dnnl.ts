/**
 * oneDNN (the field's CPU library, what PyTorch's CPU path runs on) through Deno's FFI, for the
 * `wasm` backend's heavy ops, reading and writing the tensors in place in the WebAssembly heap:
 * convolutions (forward, backward-data, backward-weights), BatchNorm (training, fused with the
 * ReLU after it, and its backward; inference), max pooling (forward, backward), the global
 * average pool and matrix products (register.ts routes TF.js's kernels here).
 *
 * Activations stay in TF.js's NHWC layout (`dnnl_nhwc`, which oneDNN's JIT convolutions take
 * directly); the filter is TF.js's [KH, KW, Cin, Cout] (`dnnl_hwio`). Each primitive is created
 * with the weights' format left to oneDNN (`any`: a blocked layout its JIT kernels want), so a
 * small reorder of the weights runs once per filter tensor (each step in training, once in
 * inference), never one of the activations. Primitives, their memory objects and the reordered
 * weights' buffers are created once per shape and kept.
 *
 * The C API is oneDNN 2.x's (Debian 12's `libdnnl2` 2.6; the `*_desc_init` functions, gone in
 * 3.x): the struct sizes and enum values below are read off its `dnnl_types.h`, and a library
 * of another major version is refused with a reason. Threads: oneDNN's OpenMP pool takes
 * `OMP_NUM_THREADS` when set, else the count given to `loadDnnl` (the toolkit passes the count
 * asked for with `--threads`, else every logical CPU).
 *
 * The library is optional and on wherever it is installed: unset (or auto, on, 1, true, yes)
 * looks in the usual places, `ADADF_DNNL=/path` names it, `ADADF_DNNL=off` (or 0, false, no)
 * leaves everything to OpenBLAS and XNNPACK. It is kept loaded until the process ends
 * (`RTLD_NODELETE`: see `pinInMemory`).
 * @module
 */
import { heapPointer, offsetOf, type WasmBackendLike } from "./_wasm_heap.ts";
import { envGet } from "./openblas.ts";
import type * as tf from "@tensorflow/tfjs";

type ConvInfo = tf.backend_util.Conv2DInfo;
type PoolInfo = tf.backend_util.Conv2DInfo;

// dnnl_types.h of oneDNN 2.6 (sizes from sizeof on x86-64)
const MD_BYTES = 696; // dnnl_memory_desc_t
const OP_DESC_BYTES = 8192; // >= dnnl_convolution_desc_t (5976)
const F32 = 3;
const TAG_ANY = 1, TAG_NHWC = 20, TAG_HWIO = 30;
const FORWARD_TRAINING = 64, FORWARD_INFERENCE = 96;
const USE_GLOBAL_STATS = 1;
const POOLING_AVG_EXCLUDE_PADDING = 0x3ff;
const CONVOLUTION_DIRECT = 1;
const ARG_SRC = 1, ARG_DST = 17, ARG_WEIGHTS = 33, ARG_DIFF_SRC = 129, ARG_DIFF_DST = 145, ARG_DIFF_WEIGHTS = 161;
const ARG_FROM = ARG_SRC, ARG_TO = ARG_DST;
const QUERY_IMPL_INFO_STR = 8; // dnnl_query_impl_info_str
const QUERY_WEIGHTS_MD = 131, QUERY_DIFF_WEIGHTS_MD = 132;
const CPU = 1, STREAM_DEFAULT = 1;
const BACKWARD = 128;
const USE_SCALE = 8, USE_SHIFT = 16, FUSE_NORM_RELU = 4;
const ARG_MEAN = 49, ARG_VARIANCE = 50, ARG_SCALE = 51, ARG_SHIFT = 52, ARG_WORKSPACE = 64;
const ARG_DIFF_SCALE = 255, ARG_DIFF_SHIFT = 256;
const QUERY_WORKSPACE_MD = 135;
const QUERY_DST_MD = 133;
const POOLING_MAX = 511;

const SYMBOLS = {
  dnnl_version: { parameters: [], result: "pointer" },
  dnnl_engine_create: { parameters: ["buffer", "i32", "usize"], result: "i32" },
  dnnl_stream_create: { parameters: ["buffer", "pointer", "u32"], result: "i32" },
  dnnl_stream_wait: { parameters: ["pointer"], result: "i32" },
  dnnl_memory_desc_init_by_tag: { parameters: ["buffer", "i32", "buffer", "i32", "i32"], result: "i32" },
  dnnl_memory_desc_init_by_strides: { parameters: ["buffer", "i32", "buffer", "i32", "buffer"], result: "i32" },
  dnnl_matmul_desc_init: { parameters: ["buffer", "buffer", "buffer", "pointer", "buffer"], result: "i32" },
  dnnl_memory_desc_equal: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_memory_desc_get_size: { parameters: ["pointer"], result: "usize" },
  dnnl_convolution_forward_desc_init: {
    parameters: ["buffer", "i32", "i32", "buffer", "buffer", "pointer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_convolution_backward_data_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_convolution_backward_weights_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "pointer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_batch_normalization_forward_desc_init: { parameters: ["buffer", "i32", "buffer", "f32", "u32"], result: "i32" },
  dnnl_batch_normalization_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "u32"],
    result: "i32",
  },
  dnnl_pooling_v2_forward_desc_init: {
    parameters: ["buffer", "i32", "i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_pooling_v2_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_primitive_desc_create: { parameters: ["buffer", "buffer", "pointer", "pointer", "pointer"], result: "i32" },
  dnnl_reorder_primitive_desc_create: {
    parameters: ["buffer", "pointer", "pointer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_primitive_desc_query: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
  dnnl_primitive_desc_query_md: { parameters: ["pointer", "i32", "i32"], result: "pointer" },
  dnnl_primitive_create: { parameters: ["buffer", "pointer"], result: "i32" },
  dnnl_memory_create: { parameters: ["buffer", "pointer", "pointer", "pointer"], result: "i32" },
  dnnl_memory_set_data_handle: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_primitive_execute: { parameters: ["pointer", "pointer", "i32", "buffer"], result: "i32" },
} as const;

const GOMP = { omp_set_num_threads: { parameters: ["i32"], result: "void" } } as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The loaded library. */
export interface Dnnl {
  path: string;
  /** e.g. "2.6.3" */
  version: string;
  /** threads of oneDNN's OpenMP pool (undefined: OpenMP's default, every core or OMP_NUM_THREADS) */
  threads: number | undefined;
  /** y [N, OH, OW, Cout] = conv(x [N, H, W, Cin], W [KH, KW, Cin, Cout]) */
  conv2d(backend: WasmBackendLike, x: tf.TensorInfo, filter: tf.TensorInfo, info: ConvInfo): tf.TensorInfo;
  /** dx [N, H, W, Cin] from dy [N, OH, OW, Cout] and W */
  conv2dInputGrad(backend: WasmBackendLike, dy: tf.TensorInfo, filter: tf.TensorInfo, info: ConvInfo): tf.TensorInfo;
  /** dW [KH, KW, Cin, Cout] from x and dy */
  conv2dFilterGrad(backend: WasmBackendLike, x: tf.TensorInfo, dy: tf.TensorInfo, info: ConvInfo): tf.TensorInfo;
  /**
   * Training BatchNorm (+ ReLU) of x [N, H, W, C]: y, the batch mean and biased variance [C],
   * and with `relu` oneDNN's workspace (the ReLU's mask, an int32 tensor) for the backward pass.
   */
  batchNormTrain(
    backend: WasmBackendLike,
    x: tf.TensorInfo,
    gamma: tf.TensorInfo,
    beta: tf.TensorInfo,
    epsilon: number,
    relu: boolean,
  ): tf.TensorInfo[];
  /** dx, dgamma, dbeta of `batchNormTrain` from dy and what it saved. */
  batchNormGrad(
    backend: WasmBackendLike,
    saved: {
      dy: tf.TensorInfo;
      x: tf.TensorInfo;
      mean: tf.TensorInfo;
      variance: tf.TensorInfo;
      gamma: tf.TensorInfo;
      beta: tf.TensorInfo;
      workspace?: tf.TensorInfo;
    },
    epsilon: number,
    relu: boolean,
  ): tf.TensorInfo[];
  /**
   * The gradient of a max pool (TF.js's `MaxPoolGrad`: dy, the pool's input x) as oneDNN's: its
   * forward pass again for the workspace (where each window's maximum was), then its backward.
   */
  maxPoolGrad(backend: WasmBackendLike, dy: tf.TensorInfo, x: tf.TensorInfo, info: PoolInfo): tf.TensorInfo;
  /** Inference BatchNorm of x [N, H, W, C] with running statistics (TF.js's `FusedBatchNorm`, `tf.batchNorm4d`). */
  batchNormInference(
    backend: WasmBackendLike,
    x: tf.TensorInfo,
    stats: { mean: tf.TensorInfo; variance: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo },
    epsilon: number,
  ): tf.TensorInfo | undefined;
  /** Max pool forward (TF.js's `MaxPool`): y [N, OH, OW, C] of x [N, H, W, C]. */
  maxPool(backend: WasmBackendLike, x: tf.TensorInfo, info: PoolInfo): tf.TensorInfo | undefined;
  /** The mean over H and W of x [N, H, W, C] (an average pool over the whole map): [N, C] ([N, 1, 1, C] with keepDims). */
  globalAveragePool(backend: WasmBackendLike, x: tf.TensorInfo, keepDims?: boolean): tf.TensorInfo | undefined;
  /**
   * [..., M, K] . [..., K, N] (TF.js's `BatchMatMul`; batch dimensions broadcast), or undefined
   * where oneDNN's matmul does not take the shapes.
   */
  matMul(
    backend: WasmBackendLike,
    a: tf.TensorInfo,
    b: tf.TensorInfo,
    transposeA: boolean,
    transposeB: boolean,
  ): tf.TensorInfo | undefined;
  /** oneDNN's implementation of each primitive made so far ("brgconv:avx512_core", ...), by kind and shape */
  implementations(): Map<string, string>;
}

/** Either the library or why it is not used. */
export type DnnlResult = { dnnl: Dnnl } | { dnnl: undefined; reason: string };

const CANDIDATES: Record<string, string[]> = {
  linux: [
    "libdnnl.so.2",
    "/usr/lib/x86_64-linux-gnu/libdnnl.so.2",
    "/usr/lib/aarch64-linux-gnu/libdnnl.so.2",
    "/usr/lib64/libdnnl.so.2",
  ],
  darwin: [
    "libdnnl.2.dylib",
    "/opt/homebrew/opt/onednn/lib/libdnnl.2.dylib",
    "/usr/local/opt/onednn/lib/libdnnl.2.dylib",
  ],
  windows: ["dnnl.dll"],
};

let loaded: DnnlResult | undefined;

/**
 * Opens oneDNN once per process (later calls return the first answer); `threads` sizes its
 * OpenMP pool unless `OMP_NUM_THREADS` is set. Never throws: a missing library, another major
 * version or a missing `--allow-ffi` comes back as `reason`.
 */
export function loadDnnl(options: { threads?: number } = {}): DnnlResult {
  if (loaded !== undefined) return loaded;
  loaded = open(options.threads);
  return loaded;
}

function open(threads: number | undefined): DnnlResult {
  const setting = envGet("ADADF_DNNL");
  const word = setting?.toLowerCase();
  if (word !== undefined && ["off", "0", "false", "no"].includes(word)) {
    return { dnnl: undefined, reason: `oneDNN is off (ADADF_DNNL=${setting})` };
  }
  if (typeof Deno.dlopen !== "function") return { dnnl: undefined, reason: "this Deno has no FFI (Deno.dlopen)" };
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return { dnnl: undefined, reason: "oneDNN needs --allow-ffi (the tasks run with -A)" };
  }
  const named = word !== undefined && !["", "auto", "on", "1", "true", "yes"].includes(word);
  const candidates = named ? [setting!] : CANDIDATES[Deno.build.os] ?? [];
  let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined, path = "";
  const errors: string[] = [];
  for (const c of candidates) {
    try {
      lib = Deno.dlopen(c, SYMBOLS);
      path = c;
      break;
    } catch (e) {
      errors.push(`${c}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  if (lib === undefined) {
    return {
      dnnl: undefined,
      reason: named
        ? `ADADF_DNNL names ${setting}, which does not open (${errors[0]})`
        : "oneDNN is not installed (Debian/Ubuntu: apt-get install libdnnl2)",
    };
  }
  const pinned = pinInMemory([path]); // its dependencies (libgomp) stay with it
  if (pinned !== undefined) {
    lib.close();
    return { dnnl: undefined, reason: `oneDNN at ${path} is not used: ${pinned}` };
  }
  const v = new Deno.UnsafePointerView(lib.symbols.dnnl_version()!);
  const version = `${v.getInt32(0)}.${v.getInt32(4)}.${v.getInt32(8)}`;
  if (v.getInt32(0) !== 2) {
    lib.close();
    return { dnnl: undefined, reason: `${path} is oneDNN ${version}; the toolkit speaks oneDNN 2.x's C API` };
  }
  let poolThreads: number | undefined;
  if (envGet("OMP_NUM_THREADS") === undefined && threads !== undefined) {
    try {
      const gomp = Deno.dlopen(Deno.build.os === "darwin" ? "libomp.dylib" : "libgomp.so.1", GOMP);
      gomp.symbols.omp_set_num_threads(threads);
      poolThreads = threads;
    } catch {
      // another OpenMP runtime: its default (every core) stands
    }
  } else if (envGet("OMP_NUM_THREADS") !== undefined) {
    poolThreads = Number(envGet("OMP_NUM_THREADS")) || undefined;
  }
  try {
    return { dnnl: makeDnnl(lib.symbols, path, version, poolThreads) };
  } catch (e) {
    lib.close();
    return { dnnl: undefined, reason: `oneDNN ${version} at ${path} did not start: ${(e as Error).message}` };
  }
}

/**
 * Keeps these libraries loaded until the process ends (the C library's `dlopen` with
 * `RTLD_NODELETE`); returns why not, or undefined. Deno closes a `Deno.dlopen`ed library when
 * the isolate that opened it ends (a Worker, each module of `deno test`), but OpenMP's pool
 * threads, started by oneDNN's first parallel primitive, live on, parked in libgomp's code: once
 * libdnnl and libgomp were unmapped and another library was mapped where they had been, those
 * threads crashed the process (a segmentation fault, exit 139, in a test module after the oneDNN
 * tests).
 */
function pinInMemory(paths: string[]): string | undefined {
  if (Deno.build.os === "windows") return undefined; // a DLL stays until FreeLibrary; Deno's close is the only one
  const RTLD_NOW = 2, RTLD_NODELETE = Deno.build.os === "darwin" ? 0x80 : 0x1000;
  const libcs = Deno.build.os === "darwin" ? ["libSystem.B.dylib"] : ["libc.so.6", "libdl.so.2"];
  for (const name of libcs) {
    let libc: Deno.DynamicLibrary<{ dlopen: { parameters: ["buffer", "i32"]; result: "pointer" } }>;
    try {
      libc = Deno.dlopen(name, { dlopen: { parameters: ["buffer", "i32"], result: "pointer" } });
    } catch {
      continue; // glibc before 2.34 has dlopen in libdl
    }
    try {
      for (const path of paths) {
        const handle = libc.symbols.dlopen(new TextEncoder().encode(`${path}\0`), RTLD_NOW | RTLD_NODELETE);
        if (handle === null) return `${path} could not be kept loaded (dlopen with RTLD_NODELETE failed)`;
      }
      return undefined;
    } finally {
      libc.close();
    }
  }
  return "the C library's dlopen was not found, so oneDNN's OpenMP threads could outlive it";
}

/**
 * Whether oneDNN takes a convolution of this geometry: no dilation, and an output size that
 * follows from the input, filter, stride and padding (TF.js 4.22 computes the width of a
 * numerically padded convolution with unequal strides from the height's stride; such a one
 * stays on the kernels that take TF.js's geometry as it is).
 */
export function dnnlTakes(info: ConvInfo): boolean {
  const fits = (size: number, pad0: number, pad1: number, k: number, s: number, out: number) =>
    Math.floor((size + pad0 + pad1 - k) / s) + 1 === out;
  return info.dilationHeight === 1 && info.dilationWidth === 1 &&
    fits(info.inHeight, info.padInfo.top, info.padInfo.bottom, info.filterHeight, info.strideHeight, info.outHeight) &&
    fits(info.inWidth, info.padInfo.left, info.padInfo.right, info.filterWidth, info.strideWidth, info.outWidth);
}

/** A status code other than dnnl_success, named. */
export class DnnlError extends Error {
  override name = "DnnlError";
}

function check(status: number, what: string): void {
  if (status !== 0) throw new DnnlError(`oneDNN ${what} failed with status ${status}`);
}

/** Reads the pointer a C function wrote into an out-parameter. */
function outPointer(cell: BigUint64Array): Deno.PointerValue {
  return Deno.UnsafePointer.create(cell[0]);
}

function makeDnnl(lib: Lib, path: string, version: string, threads: number | undefined): Dnnl {
  const cell = new BigUint64Array(1);
  check(lib.dnnl_engine_create(cell, CPU, 0n), "engine_create");
  const engine = outPointer(cell);
  check(lib.dnnl_stream_create(cell, engine, STREAM_DEFAULT), "stream_create");
  const stream = outPointer(cell);

  const dims = (...xs: number[]) => BigInt64Array.from([...xs, ...new Array(12 - xs.length).fill(0)].map(BigInt));
  const md = (d: number[], tag: number) => {
    const m = new Uint8Array(MD_BYTES);
    check(lib.dnnl_memory_desc_init_by_tag(m, d.length, dims(...d), F32, tag), "memory_desc_init_by_tag");
    return m;
  };
  const primitiveDesc = (opDesc: Uint8Array, hint: Deno.PointerValue) => {
    check(lib.dnnl_primitive_desc_create(cell, opDesc, null, engine, hint), "primitive_desc_create");
    return outPointer(cell);
  };
  const primitive = (pd: Deno.PointerValue) => {
    check(lib.dnnl_primitive_create(cell, pd), "primitive_create");
    return outPointer(cell);
  };
  const memory = (m: Deno.PointerValue | Uint8Array) => {
    const p = m instanceof Uint8Array ? Deno.UnsafePointer.of(m) : m;
    check(lib.dnnl_memory_create(cell, p, engine, null), "memory_create"); // handle set per call
    return outPointer(cell);
  };
  const implOf = (pd: Deno.PointerValue) => {
    const out = new BigUint64Array(1);
    if (lib.dnnl_primitive_desc_query(pd, QUERY_IMPL_INFO_STR, 0, out) !== 0) return "?";
    return Deno.UnsafePointerView.getCString(Deno.UnsafePointer.create(out[0])!);
  };
  const args = (pairs: [number, Deno.PointerValue][]) => {
    const a = new BigUint64Array(pairs.length * 2);
    pairs.forEach(([arg, mem], i) => {
      a[2 * i] = BigInt(arg);
      a[2 * i + 1] = BigInt(Deno.UnsafePointer.value(mem));
    });
    return a;
  };
  const execute = (prim: Deno.PointerValue, a: BigUint64Array, what: string) => {
    check(lib.dnnl_primitive_execute(prim, stream, a.length / 2, a), `${what} execute`);
  };
  const setHandle = (mem: Deno.PointerValue, p: Deno.PointerValue) =>
    check(lib.dnnl_memory_set_data_handle(mem, p), "memory_set_data_handle");

  /**
   * A reorder between the user's plain layout and the primitive's chosen one: undefined when
   * they are equal; else the primitive, the two memory objects and a buffer for the chosen one.
   */
  const reorderOf = (from: Deno.PointerValue | Uint8Array, to: Deno.PointerValue | Uint8Array) => {
    const fp = from instanceof Uint8Array ? Deno.UnsafePointer.of(from) : from;
    const tp = to instanceof Uint8Array ? Deno.UnsafePointer.of(to) : to;
    if (lib.dnnl_memory_desc_equal(fp, tp) === 1) return undefined;
    check(lib.dnnl_reorder_primitive_desc_create(cell, fp, engine, tp, engine, null), "reorder_primitive_desc_create");
    const pd = outPointer(cell);
    return { prim: primitive(pd), from: memory(fp), to: memory(tp) };
  };

  interface Conv {
    kind: string;
    prim: Deno.PointerValue;
    /** memory objects of the primitive's own arguments, by argument */
    mems: Map<number, Deno.PointerValue>;
    /**
     * the weights (or their gradient) in the primitive's layout, when it is not HWIO; `source`:
     * the tensor data (TF.js's dataId: tensors are immutable) last reordered into `buffer`, so
     * that inference with the same weights reorders them once
     */
    weights?: { buffer: Uint8Array; reorder: NonNullable<ReturnType<typeof reorderOf>>; source?: object };
    /** kept alive: the descriptors the memory objects point at */
    keep: unknown[];
  }
  const cache = new Map<string, Conv>();
  const impls = new Map<string, string>();
  const forwardPds = new Map<string, { pd: Deno.PointerValue; keep: unknown[] }>();

  const geometry = (info: ConvInfo) => {
    if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
      throw new DnnlError("dilated convolutions are not routed");
    }
    const src = md([info.batchSize, info.inChannels, info.inHeight, info.inWidth], TAG_NHWC);
    const dst = md([info.batchSize, info.outChannels, info.outHeight, info.outWidth], TAG_NHWC);
    const wDims = [info.outChannels, info.inChannels, info.filterHeight, info.filterWidth];
    const wPlain = md(wDims, TAG_HWIO);
    const wAny = md(wDims, TAG_ANY);
    const strides = dims(info.strideHeight, info.strideWidth);
    const padL = dims(info.padInfo.top, info.padInfo.left);
    const padR = dims(info.padInfo.bottom, info.padInfo.right);
    return { src, dst, wPlain, wAny, strides, padL, padR };
  };
  const shapeKey = (info: ConvInfo) =>
    [
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.outHeight,
      info.outWidth,
      info.outChannels,
      info.filterHeight,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.bottom,
      info.padInfo.left,
      info.padInfo.right,
    ].join(",");

  /** The forward primitive descriptor (training), also the hint of both backward ones. */
  const forwardPd = (info: ConvInfo) => {
    const key = shapeKey(info);
    let f = forwardPds.get(key);
    if (f === undefined) {
      const g = geometry(info);
      const desc = new Uint8Array(OP_DESC_BYTES);
      check(
        lib.dnnl_convolution_forward_desc_init(
          desc,
          FORWARD_TRAINING,
          CONVOLUTION_DIRECT,
          g.src,
          g.wAny,
          null,
          g.dst,
          g.strides,
          g.padL,
          g.padR,
        ),
        "convolution_forward_desc_init",
      );
      f = { pd: primitiveDesc(desc, null), keep: [g, desc] };
      forwardPds.set(key, f);
    }
    return f;
  };

  const convOf = (kind: "fwd" | "bwd_data" | "bwd_weights", info: ConvInfo): Conv => {
    const key = `${kind}:${shapeKey(info)}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const g = geometry(info);
    const fwd = forwardPd(info);
    let pd: Deno.PointerValue;
    const desc = new Uint8Array(OP_DESC_BYTES);
    if (kind === "fwd") {
      pd = fwd.pd;
    } else if (kind === "bwd_data") {
      check(
        lib.dnnl_convolution_backward_data_desc_init(
          desc,
          CONVOLUTION_DIRECT,
          g.src,
          g.wAny,
          g.dst,
          g.strides,
          g.padL,
          g.padR,
        ),
        "convolution_backward_data_desc_init",
      );
      pd = primitiveDesc(desc, fwd.pd);
    } else {
      check(
        lib.dnnl_convolution_backward_weights_desc_init(
          desc,
          CONVOLUTION_DIRECT,
          g.src,
          g.wAny,
          null,
          g.dst,
          g.strides,
          g.padL,
          g.padR,
        ),
        "convolution_backward_weights_desc_init",
      );
      pd = primitiveDesc(desc, fwd.pd);
    }
    const wMd = lib.dnnl_primitive_desc_query_md(
      pd,
      kind === "bwd_weights" ? QUERY_DIFF_WEIGHTS_MD : QUERY_WEIGHTS_MD,
      0,
    );
    const reorder = kind === "bwd_weights" ? reorderOf(wMd, g.wPlain) : reorderOf(g.wPlain, wMd);
    const weights = reorder === undefined
      ? undefined
      : { buffer: new Uint8Array(Number(lib.dnnl_memory_desc_get_size(wMd))), reorder };
    const wArg = kind === "bwd_weights" ? ARG_DIFF_WEIGHTS : ARG_WEIGHTS;
    const mems = new Map<number, Deno.PointerValue>();
    if (kind === "fwd") {
      mems.set(ARG_SRC, memory(g.src)).set(ARG_DST, memory(g.dst));
    } else if (kind === "bwd_data") {
      mems.set(ARG_DIFF_SRC, memory(g.src)).set(ARG_DIFF_DST, memory(g.dst));
    } else {
      mems.set(ARG_SRC, memory(g.src)).set(ARG_DIFF_DST, memory(g.dst));
    }
    mems.set(wArg, weights === undefined ? memory(g.wPlain) : memory(wMd!));
    const conv: Conv = { kind, prim: primitive(pd), mems, weights, keep: [g, desc, fwd] };
    cache.set(key, conv);
    impls.set(key, implOf(pd));
    return conv;
  };

  /** Runs `conv` with its arguments at these addresses (the weights argument in HWIO, from tensor data `source`). */
  const run = (conv: Conv, at: Map<number, Deno.PointerValue>, source?: object) => {
    const wArg = conv.kind === "bwd_weights" ? ARG_DIFF_WEIGHTS : ARG_WEIGHTS;
    const w = conv.weights;
    for (const [arg, mem] of conv.mems) {
      setHandle(mem, arg === wArg && w !== undefined ? Deno.UnsafePointer.of(w.buffer) : at.get(arg)!);
    }
    if (w !== undefined && conv.kind !== "bwd_weights" && (source === undefined || w.source !== source)) {
      w.source = source;
      setHandle(w.reorder.from, at.get(wArg)!);
      setHandle(w.reorder.to, Deno.UnsafePointer.of(w.buffer));
      execute(w.reorder.prim, args([[ARG_FROM, w.reorder.from], [ARG_TO, w.reorder.to]]), "weights reorder");
    }
    execute(conv.prim, args([...conv.mems]), conv.kind);
    if (w !== undefined && conv.kind === "bwd_weights") {
      setHandle(w.reorder.from, Deno.UnsafePointer.of(w.buffer));
      setHandle(w.reorder.to, at.get(wArg)!);
      execute(w.reorder.prim, args([[ARG_FROM, w.reorder.from], [ARG_TO, w.reorder.to]]), "weights gradient reorder");
    }
    check(lib.dnnl_stream_wait(stream), "stream_wait");
  };

  interface Bn {
    fwd: Deno.PointerValue;
    bwd: Deno.PointerValue;
    data: Deno.PointerValue;
    stat: Deno.PointerValue;
    /** workspace bytes (with relu) */
    workspace: number;
    /** memory objects by argument, for the forward and the backward primitive */
    fwdMems: Map<number, Deno.PointerValue>;
    bwdMems: Map<number, Deno.PointerValue>;
    keep: unknown[];
  }
  const bns = new Map<string, Bn>();
  const bnOf = (shape: number[], epsilon: number, relu: boolean): Bn => {
    if (shape.length !== 4) throw new DnnlError(`BatchNorm of a rank-${shape.length} tensor is not routed`);
    const [n, h, w, c] = shape;
    const key = `${shape.join(",")}:${epsilon}:${relu}`;
    const hit = bns.get(key);
    if (hit !== undefined) return hit;
    const data = md([n, c, h, w], TAG_NHWC);
    const stat = md([c], 2 /* dnnl_a */);
    const flags = USE_SCALE | USE_SHIFT | (relu ? FUSE_NORM_RELU : 0);
    const fdesc = new Uint8Array(OP_DESC_BYTES);
    check(
      lib.dnnl_batch_normalization_forward_desc_init(fdesc, FORWARD_TRAINING, data, epsilon, flags),
      "batch_normalization_forward_desc_init",
    );
    const fpd = primitiveDesc(fdesc, null);
    const bdesc = new Uint8Array(OP_DESC_BYTES);
    check(
      lib.dnnl_batch_normalization_backward_desc_init(bdesc, BACKWARD, data, data, epsilon, flags),
      "batch_normalization_backward_desc_init",
    );
    const bpd = primitiveDesc(bdesc, fpd);
    const wsMd = relu ? lib.dnnl_primitive_desc_query_md(fpd, QUERY_WORKSPACE_MD, 0) : null;
    const workspace = wsMd === null ? 0 : Number(lib.dnnl_memory_desc_get_size(wsMd));
    const m = (d: Uint8Array) => memory(d);
    const fwdMems = new Map<number, Deno.PointerValue>([
      [ARG_SRC, m(data)],
      [ARG_DST, m(data)],
      [ARG_SCALE, m(stat)],
      [ARG_SHIFT, m(stat)],
      [ARG_MEAN, m(stat)],
      [ARG_VARIANCE, m(stat)],
    ]);
    const bwdMems = new Map<number, Deno.PointerValue>([
      [ARG_SRC, m(data)],
      [ARG_DIFF_DST, m(data)],
      [ARG_DIFF_SRC, m(data)],
      [ARG_SCALE, m(stat)],
      [ARG_SHIFT, m(stat)], // an input of the backward pass too, when use_shift is set
      [ARG_MEAN, m(stat)],
      [ARG_VARIANCE, m(stat)],
      [ARG_DIFF_SCALE, m(stat)],
      [ARG_DIFF_SHIFT, m(stat)],
    ]);
    if (wsMd !== null) {
      fwdMems.set(ARG_WORKSPACE, memory(wsMd));
      bwdMems.set(ARG_WORKSPACE, memory(wsMd));
    }
    const bn: Bn = {
      fwd: primitive(fpd),
      bwd: primitive(bpd),
      data: Deno.UnsafePointer.of(data),
      stat: Deno.UnsafePointer.of(stat),
      workspace,
      fwdMems,
      bwdMems,
      keep: [data, stat, fdesc, bdesc, fpd, bpd],
    };
    bns.set(key, bn);
    impls.set(`bn_fwd:${key}`, implOf(fpd));
    impls.set(`bn_bwd:${key}`, implOf(bpd));
    return bn;
  };
  const runWith = (
    prim: Deno.PointerValue,
    mems: Map<number, Deno.PointerValue>,
    at: Map<number, Deno.PointerValue>,
    what: string,
  ) => {
    for (const [arg, mem] of mems) setHandle(mem, at.get(arg)!);
    execute(prim, args([...mems]), what);
    check(lib.dnnl_stream_wait(stream), "stream_wait");
  };

  /** strides, kernel, dilation, padding before and after: the pooling descriptors' geometry */
  const poolGeometry = (info: PoolInfo) =>
    [
      dims(info.strideHeight, info.strideWidth),
      dims(info.filterHeight, info.filterWidth),
      dims(0, 0), // oneDNN counts dilation from 0
      dims(info.padInfo.top, info.padInfo.left),
      dims(info.padInfo.bottom, info.padInfo.right),
    ] as const;

  interface Pool {
    fwd: Deno.PointerValue;
    bwd: Deno.PointerValue;
    dst: Uint8Array;
    workspace: Uint8Array;
    fwdMems: Map<number, Deno.PointerValue>;
    bwdMems: Map<number, Deno.PointerValue>;
    keep: unknown[];
  }
  const pools = new Map<string, Pool>();
  const poolOf = (info: PoolInfo): Pool => {
    const key = shapeKey(info);
    const hit = pools.get(key);
    if (hit !== undefined) return hit;
    const src = md([info.batchSize, info.inChannels, info.inHeight, info.inWidth], TAG_NHWC);
    const dst = md([info.batchSize, info.outChannels, info.outHeight, info.outWidth], TAG_NHWC);
    const g = poolGeometry(info);
    const fdesc = new Uint8Array(OP_DESC_BYTES);
    check(
      lib.dnnl_pooling_v2_forward_desc_init(fdesc, FORWARD_TRAINING, POOLING_MAX, src, dst, ...g),
      "pooling_v2_forward_desc_init",
    );
    const fpd = primitiveDesc(fdesc, null);
    const bdesc = new Uint8Array(OP_DESC_BYTES);
    check(lib.dnnl_pooling_v2_backward_desc_init(bdesc, POOLING_MAX, src, dst, ...g), "pooling_v2_backward_desc_init");
    const bpd = primitiveDesc(bdesc, fpd);
    const wsMd = lib.dnnl_primitive_desc_query_md(fpd, QUERY_WORKSPACE_MD, 0);
    const dstMd = lib.dnnl_primitive_desc_query_md(fpd, QUERY_DST_MD, 0);
    const pool: Pool = {
      fwd: primitive(fpd),
      bwd: primitive(bpd),
      dst: new Uint8Array(Number(lib.dnnl_memory_desc_get_size(dstMd))),
      workspace: new Uint8Array(Number(lib.dnnl_memory_desc_get_size(wsMd))),
      fwdMems: new Map([[ARG_SRC, memory(src)], [ARG_DST, memory(dst)], [ARG_WORKSPACE, memory(wsMd)]]),
      bwdMems: new Map([[ARG_DIFF_DST, memory(dst)], [ARG_DIFF_SRC, memory(src)], [ARG_WORKSPACE, memory(wsMd)]]),
      keep: [src, dst, fdesc, bdesc, fpd, bpd, g],
    };
    pools.set(key, pool);
    impls.set(`pool_fwd:${key}`, implOf(fpd));
    impls.set(`pool_bwd:${key}`, implOf(bpd));
    return pool;
  };

  /** A forward primitive with one memory object per argument (undefined: oneDNN has no implementation for it). */
  interface Simple {
    prim: Deno.PointerValue;
    mems: Map<number, Deno.PointerValue>;
    keep: unknown[];
  }
  const simples = new Map<string, Simple | null>();
  /**
   * The primitive `make` describes, made once per key. With `optional`, a descriptor oneDNN
   * has no implementation for (or refuses) is remembered as undefined instead of thrown.
   */
  const simpleOf = (
    key: string,
    make: () => { desc: Uint8Array; args: [number, Uint8Array][] },
    optional = false,
  ): Simple | undefined => {
    const hit = simples.get(key);
    if (hit !== undefined) return hit ?? undefined;
    let made: Simple | null = null;
    try {
      const { desc, args: list } = make();
      const pd = primitiveDesc(desc, null);
      made = { prim: primitive(pd), mems: new Map(list.map(([arg, m]) => [arg, memory(m)])), keep: [desc, list] };
      impls.set(key, implOf(pd));
    } catch (e) {
      if (!optional || !(e instanceof DnnlError)) throw e;
    }
    simples.set(key, made);
    return made ?? undefined;
  };
  /** The heap address of each tensor, by argument: call after every allocation (one can grow the heap). */
  const addresses = (backend: WasmBackendLike, tensors: [number, tf.TensorInfo][]) => {
    const offsets = tensors.map(([arg, t]) => [arg, offsetOf(backend, t)] as const);
    return new Map(offsets.map(([arg, o]) => [arg, heapPointer(backend, o)]));
  };
  /** Runs `s` on these tensors (by argument) and returns `out`. */
  const runSimple = (
    backend: WasmBackendLike,
    s: Simple,
    tensors: [number, tf.TensorInfo][],
    out: tf.TensorInfo,
    what: string,
  ) => {
    runWith(s.prim, s.mems, addresses(backend, tensors), what);
    return out;
  };
  /** A plain row-major memory descriptor with these dimensions and strides (in elements). */
  const mdStrided = (d: number[], strides: number[]) => {
    const m = new Uint8Array(MD_BYTES);
    check(
      lib.dnnl_memory_desc_init_by_strides(m, d.length, dims(...d), F32, dims(...strides)),
      "memory_desc_init_by_strides",
    );
    return m;
  };

  return {
    path,
    version,
    threads,
    batchNormInference(backend, x, st, epsilon) {
      if (x.shape.length !== 4) throw new DnnlError(`BatchNorm of a rank-${x.shape.length} tensor is not routed`);
      const [n, h, w, c] = x.shape;
      const bn = simpleOf(`bn_inf:${x.shape}:${epsilon}`, () => {
        const data = md([n, c, h, w], TAG_NHWC);
        const stat = md([c], 2 /* dnnl_a */);
        const desc = new Uint8Array(OP_DESC_BYTES);
        check(
          lib.dnnl_batch_normalization_forward_desc_init(
            desc,
            FORWARD_INFERENCE,
            data,
            epsilon,
            USE_GLOBAL_STATS | USE_SCALE | USE_SHIFT,
          ),
          "batch_normalization_forward_desc_init",
        );
        const args: [number, Uint8Array][] = [[ARG_SRC, data], [ARG_DST, data]];
        for (const arg of [ARG_MEAN, ARG_VARIANCE, ARG_SCALE, ARG_SHIFT]) args.push([arg, stat]);
        return { desc, args };
      }, true);
      if (bn === undefined) return undefined; // oneDNN refused it: the caller falls back
      const out = backend.makeOutput(x.shape, "float32");
      return runSimple(
        backend,
        bn,
        [
          [ARG_SRC, x],
          [ARG_DST, out],
          [ARG_MEAN, st.mean],
          [ARG_VARIANCE, st.variance],
          [ARG_SCALE, st.gamma],
          [ARG_SHIFT, st.beta],
        ],
        out,
        "batch normalization inference",
      );
    },
    maxPool(backend, x, info) {
      const pool = simpleOf(`pool_inf:${shapeKey(info)}`, () => {
        const src = md([info.batchSize, info.inChannels, info.inHeight, info.inWidth], TAG_NHWC);
        const dst = md([info.batchSize, info.outChannels, info.outHeight, info.outWidth], TAG_NHWC);
        const desc = new Uint8Array(OP_DESC_BYTES);
        check(
          lib.dnnl_pooling_v2_forward_desc_init(desc, FORWARD_INFERENCE, POOLING_MAX, src, dst, ...poolGeometry(info)),
          "pooling_v2_forward_desc_init",
        );
        return { desc, args: [[ARG_SRC, src], [ARG_DST, dst]] };
      }, true);
      if (pool === undefined) return undefined; // oneDNN refused it: the caller falls back
      const out = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.outChannels], "float32");
      return runSimple(backend, pool, [[ARG_SRC, x], [ARG_DST, out]], out, "max pooling");
    },
    globalAveragePool(backend, x, keepDims = false) {
      if (x.shape.length !== 4) throw new DnnlError(`a global pool of a rank-${x.shape.length} tensor is not routed`);
      const [n, h, w, c] = x.shape;
      const pool = simpleOf(`gap:${x.shape}`, () => {
        const src = md([n, c, h, w], TAG_NHWC);
        const dst = md([n, c, 1, 1], TAG_NHWC);
        const desc = new Uint8Array(OP_DESC_BYTES);
        const g = [dims(1, 1), dims(h, w), dims(0, 0), dims(0, 0), dims(0, 0)] as const;
        check(
          lib.dnnl_pooling_v2_forward_desc_init(desc, FORWARD_INFERENCE, POOLING_AVG_EXCLUDE_PADDING, src, dst, ...g),
          "pooling_v2_forward_desc_init",
        );
        return { desc, args: [[ARG_SRC, src], [ARG_DST, dst]] };
      }, true);
      if (pool === undefined) return undefined; // oneDNN refused it: the caller falls back
      const out = backend.makeOutput(keepDims ? [n, 1, 1, c] : [n, c], "float32");
      return runSimple(backend, pool, [[ARG_SRC, x], [ARG_DST, out]], out, "global average pooling");
    },
    matMul(backend, a, b, transposeA, transposeB) {
      const ra = a.shape.length, rb = b.shape.length;
      if (ra < 2 || rb < 2) return undefined;
      const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
      const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
      const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
      const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
      const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
      const rank = Math.max(ba.length, bb.length) + 2;
      if (k !== kb || m * n * k === 0 || rank > 12) return undefined; // TF.js's kernel says what is wrong, or fills
      const pad = (d: number[]) => [...new Array(rank - 2 - d.length).fill(1), ...d];
      const [pa, pb] = [pad(ba), pad(bb)];
      const outer = pa.map((d, i) => Math.max(d, pb[i]));
      if (pa.some((d, i) => d !== outer[i] && d !== 1) || pb.some((d, i) => d !== outer[i] && d !== 1)) {
        return undefined;
      }
      // strides of a row-major tensor [...batch, rows, cols] read as [...batch, rows', cols']
      const strided = (batch: number[], rows: number, cols: number, transposed: boolean) => {
        const st = new Array(rank).fill(0);
        let size = rows * cols;
        for (let i = rank - 3; i >= 0; i--) {
          st[i] = size;
          size *= batch[i];
        }
        [st[rank - 2], st[rank - 1]] = transposed ? [1, rows] : [cols, 1];
        return st;
      };
      const key = `mm:${a.shape}:${b.shape}:${transposeA}:${transposeB}`;
      const mm = simpleOf(key, () => {
        const src = mdStrided([...pa, m, k], strided(pa, m, k, transposeA));
        const wei = mdStrided([...pb, k, n], strided(pb, k, n, transposeB));
        const dst = mdStrided([...outer, m, n], strided(outer, m, n, false));
        const desc = new Uint8Array(OP_DESC_BYTES);
        check(lib.dnnl_matmul_desc_init(desc, src, wei, null, dst), "matmul_desc_init");
        return { desc, args: [[ARG_SRC, src], [ARG_WEIGHTS, wei], [ARG_DST, dst]] };
      }, true);
      if (mm === undefined) return undefined;
      const out = backend.makeOutput([...outer, m, n], "float32");
      return runSimple(backend, mm, [[ARG_SRC, a], [ARG_WEIGHTS, b], [ARG_DST, out]], out, "matmul");
    },
    maxPoolGrad(backend, dy, x, info) {
      const pool = poolOf(info);
      const out = backend.makeOutput(x.shape, "float32");
      const [dyAt, xAt, dxAt] = [dy, x, out].map((t) => offsetOf(backend, t));
      const p = (o: number) => heapPointer(backend, o);
      const ws = Deno.UnsafePointer.of(pool.workspace);
      runWith(
        pool.fwd,
        pool.fwdMems,
        new Map([[ARG_SRC, p(xAt)], [ARG_DST, Deno.UnsafePointer.of(pool.dst)], [ARG_WORKSPACE, ws]]),
        "max pooling forward",
      );
      runWith(
        pool.bwd,
        pool.bwdMems,
        new Map([[ARG_DIFF_DST, p(dyAt)], [ARG_DIFF_SRC, p(dxAt)], [ARG_WORKSPACE, ws]]),
        "max pooling backward",
      );
      return out;
    },
    batchNormTrain(backend, x, gamma, beta, epsilon, relu) {
      const bn = bnOf(x.shape, epsilon, relu);
      const c = x.shape[3];
      const [y, mean, variance] = [x.shape, [c], [c]].map((shape) => backend.makeOutput(shape, "float32"));
      const workspace = relu ? backend.makeOutput([Math.ceil(bn.workspace / 4)], "int32") : undefined;
      const tensors: [number, tf.TensorInfo][] = [
        [ARG_SRC, x],
        [ARG_DST, y],
        [ARG_SCALE, gamma],
        [ARG_SHIFT, beta],
        [ARG_MEAN, mean],
        [ARG_VARIANCE, variance],
      ];
      if (workspace !== undefined) tensors.push([ARG_WORKSPACE, workspace]);
      runWith(bn.fwd, bn.fwdMems, addresses(backend, tensors), "batch normalization forward");
      return workspace === undefined ? [y, mean, variance] : [y, mean, variance, workspace];
    },
    batchNormGrad(backend, saved, epsilon, relu) {
      const bn = bnOf(saved.x.shape, epsilon, relu);
      const c = saved.x.shape[3];
      const [dx, dgamma, dbeta] = [saved.x.shape, [c], [c]].map((shape) => backend.makeOutput(shape, "float32"));
      const tensors: [number, tf.TensorInfo][] = [
        [ARG_SRC, saved.x],
        [ARG_DIFF_DST, saved.dy],
        [ARG_DIFF_SRC, dx],
        [ARG_SCALE, saved.gamma],
        [ARG_SHIFT, saved.beta],
        [ARG_MEAN, saved.mean],
        [ARG_VARIANCE, saved.variance],
        [ARG_DIFF_SCALE, dgamma],
        [ARG_DIFF_SHIFT, dbeta],
      ];
      if (relu) tensors.push([ARG_WORKSPACE, saved.workspace!]);
      runWith(bn.bwd, bn.bwdMems, addresses(backend, tensors), "batch normalization backward");
      return [dx, dgamma, dbeta];
    },
    conv2d(backend, x, filter, info) {
      const conv = convOf("fwd", info);
      const out = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.outChannels], "float32");
      run(conv, addresses(backend, [[ARG_SRC, x], [ARG_WEIGHTS, filter], [ARG_DST, out]]), filter.dataId);
      return out;
    },
    conv2dInputGrad(backend, dy, filter, info) {
      const conv = convOf("bwd_data", info);
      const out = backend.makeOutput([info.batchSize, info.inHeight, info.inWidth, info.inChannels], "float32");
      run(conv, addresses(backend, [[ARG_DIFF_DST, dy], [ARG_WEIGHTS, filter], [ARG_DIFF_SRC, out]]), filter.dataId);
      return out;
    },
    conv2dFilterGrad(backend, x, dy, info) {
      const conv = convOf("bwd_weights", info);
      const out = backend.makeOutput(
        [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels],
        "float32",
      );
      run(conv, addresses(backend, [[ARG_SRC, x], [ARG_DIFF_DST, dy], [ARG_DIFF_WEIGHTS, out]]));
      return out;
    },
    implementations: () => new Map(impls),
  };
}

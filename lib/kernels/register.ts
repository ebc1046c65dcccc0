/**
 * Turning the kernels on: what a program calls once its TF.js backend is chosen.
 * - `registerWasmKernels()`: the `wasm` backend's convolution gradients (conv2d_xnnpack.ts),
 *   `MaxPoolGrad` (maxpool.ts), `Identity` (identity.ts), the fused Adam update (adam.ts) and
 *   the fused BatchNorm kernels (batchnorm.ts). Call before `tf.setBackend("wasm")` or after.
 * - `useNativeKernels(blas, dnnl)`: the `wasm` backend's heavy kernels on native libraries: on
 *   oneDNN (`loadDnnl()`, dnnl.ts) `Conv2D` and its two gradients, the fused training BatchNorm,
 *   `FusedBatchNorm`, `MaxPool`, `MaxPoolGrad`, `Mean` over H and W and `BatchMatMul`; on OpenBLAS
 *   (`loadOpenBlas()`, conv2d_blas.ts, matmul.ts) the convolutions and products oneDNN does not
 *   take (or all of them without oneDNN); both undefined: back to the wasm kernels.
 * - `useFastWebgpuKernels()`: the `webgpu` backend's convolutions, their gradients and `BatchMatMul`
 *   as implicit GEMMs in WGSL (webgpu_conv.ts, webgpu_matmul.ts) and its fused BatchNorm kernels
 *   (webgpu_batchnorm.ts).
 */
import * as tf from "@tensorflow/tfjs";
import type { OpenBlas } from "./openblas.ts";
import { type Dnnl, dnnlTakes } from "./dnnl.ts";
import type { WasmBackendLike } from "./_wasm_heap.ts";
import { conv2dInfo, type ConvAttrs } from "./_conv_info.ts";
import { ADAM_UPDATE_KERNEL, adamUpdate } from "./adam.ts";
import { DNNL_BN_GRAD_KERNEL, DNNL_BN_TRAIN_KERNEL, registerWasmBatchNorm } from "./batchnorm.ts";
import { conv2dFilterGrad, conv2dInputGrad, convolve, xnnpackForward } from "./conv2d_blas.ts";
import { conv2dFilterGradient, conv2dInputGradient } from "./conv2d_xnnpack.ts";
import { identity } from "./identity.ts";
import { batchMatMul } from "./matmul.ts";
import { maxPoolGrad, maxPoolGradInfo } from "./maxpool.ts";
import type { WebgpuBackendLike } from "./_wgsl.ts";
import { registerWebgpuBatchNorm, unregisterWebgpuBatchNorm } from "./webgpu_batchnorm.ts";
import { conv2dFilterGradWebgpu, conv2dInputGradWebgpu, conv2dWebgpu, webgpuConvSupported } from "./webgpu_conv.ts";
import { batchMatMulWebgpu, matmulBatches } from "./webgpu_matmul.ts";

type TensorInfo = tf.TensorInfo;

// ---- wasm ------------------------------------------------------------------------------------

let registered = false;

/**
 * Registers the `wasm` backend's `Conv2DBackpropFilter`, `Conv2DBackpropInput`, `MaxPoolGrad`, `Identity`, the
 * fused Adam update (`ADAM_UPDATE_KERNEL`) and the fused BatchNorm kernels. Idempotent.
 */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  for (const name of ["Conv2DBackpropFilter", "Conv2DBackpropInput", "MaxPoolGrad", "Identity"]) {
    if (tf.getKernel(name, "wasm") !== undefined) tf.unregisterKernel(name, "wasm");
  }
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs }) => {
      const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
      const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
      return conv2dFilterGradient(x, dy, a.filterShape, a) as unknown as tf.TensorInfo;
    },
  });
  tf.registerKernel({ kernelName: "MaxPoolGrad", backendName: "wasm", kernelFunc: maxPoolGrad });
  tf.registerKernel({ kernelName: "Identity", backendName: "wasm", kernelFunc: identity });
  tf.registerKernel({ kernelName: ADAM_UPDATE_KERNEL, backendName: "wasm", kernelFunc: adamUpdate });
  registerWasmBatchNorm();
  tf.registerKernel({
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs }) => {
      const { dy, filter } = inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
      const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
      return conv2dInputGradient(dy, filter, a.inputShape, a) as unknown as tf.TensorInfo;
    },
  });
}

// ---- wasm on OpenBLAS --------------------------------------------------------------------------

type KernelFunc = tf.KernelConfig["kernelFunc"];
const previous = new Map<string, KernelFunc>();

function swap(kernelName: string, kernelFunc: KernelFunc): void {
  const current = tf.getKernel(kernelName, "wasm");
  if (current !== undefined) {
    if (!previous.has(kernelName)) previous.set(kernelName, current.kernelFunc);
    tf.unregisterKernel(kernelName, "wasm");
  }
  tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
}

function fallback(kernelName: string, args: Parameters<KernelFunc>[0]) {
  const f = previous.get(kernelName);
  if (f === undefined) throw new Error(`no wasm kernel ${kernelName} to fall back to`);
  return f(args);
}

let active: OpenBlas | undefined;
let activeDnnl: Dnnl | undefined;

/** The OpenBLAS in use by the `wasm` backend's kernels, if any. */
export function nativeKernelsBlas(): OpenBlas | undefined {
  return active;
}

/** The oneDNN in use by the `wasm` backend's kernels, if any. */
export function nativeKernelsDnnl(): Dnnl | undefined {
  return activeDnnl;
}

/**
 * Routes the `wasm` backend's heavy kernels through `dnnl` where it takes them, else `blas`
 * (`Conv2D`, its gradients, `BatchMatMul`); with `dnnl` also the BatchNorm kernels, `MaxPool`,
 * `MaxPoolGrad` and `Mean` over H and W. Both undefined: back to the kernels registered before.
 * Registers `registerWasmKernels`'s first, so that they are what the fallbacks restore.
 */
export function useNativeKernels(blas: OpenBlas | undefined, dnnl?: Dnnl): void {
  if (blas === undefined && dnnl === undefined) {
    for (const [kernelName, kernelFunc] of previous) {
      tf.unregisterKernel(kernelName, "wasm");
      tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
    }
    previous.clear();
    active = undefined;
    activeDnnl = undefined;
    for (const name of [DNNL_BN_TRAIN_KERNEL, DNNL_BN_GRAD_KERNEL]) {
      if (tf.getKernel(name, "wasm") !== undefined) tf.unregisterKernel(name, "wasm");
    }
    return;
  }
  // the project's own wasm kernels first, so that they are what the fallbacks and `off` restore
  registerWasmKernels();
  active = blas;
  activeDnnl = dnnl;
  for (const name of [DNNL_BN_TRAIN_KERNEL, DNNL_BN_GRAD_KERNEL]) {
    if (tf.getKernel(name, "wasm") !== undefined) tf.unregisterKernel(name, "wasm");
  }
  if (dnnl !== undefined) {
    swap("MaxPool", (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      if (activeDnnl === undefined || x.dtype !== "float32" || x.shape.length !== 4) return fallback("MaxPool", args);
      const info = maxPoolGradInfo(x.shape, args.attrs);
      if (!dnnlTakes(info)) return fallback("MaxPool", args);
      return activeDnnl.maxPool(args.backend as unknown as WasmBackendLike, x, info) ?? fallback("MaxPool", args);
    });
    swap("FusedBatchNorm", (args) => {
      const { x, mean, variance, offset, scale } = args.inputs as Record<string, TensorInfo | undefined>;
      const { varianceEpsilon } = args.attrs as unknown as { varianceEpsilon: number };
      const c = x?.shape.at(-1);
      const perChannel = (t: TensorInfo | undefined) =>
        t !== undefined && t.dtype === "float32" && `${t.shape}` === `${c}`;
      if (
        activeDnnl === undefined || x === undefined || x.dtype !== "float32" || x.shape.length !== 4 ||
        ![mean, variance, offset, scale].every(perChannel)
      ) return fallback("FusedBatchNorm", args);
      const stats = { mean: mean!, variance: variance!, gamma: scale!, beta: offset! };
      return activeDnnl.batchNormInference(args.backend as unknown as WasmBackendLike, x, stats, varianceEpsilon) ??
        fallback("FusedBatchNorm", args);
    });
    swap("Mean", (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
      const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => a < 0 ? a + x.shape.length : a).sort();
      if (activeDnnl === undefined || x.dtype !== "float32" || x.shape.length !== 4 || `${axes}` !== "1,2") {
        return fallback("Mean", args);
      }
      return activeDnnl.globalAveragePool(args.backend as unknown as WasmBackendLike, x, keepDims) ??
        fallback("Mean", args);
    });
    swap("MaxPoolGrad", (args) => {
      const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
      const info = maxPoolGradInfo(input.shape, args.attrs);
      if (activeDnnl === undefined || dy.dtype !== "float32" || !dnnlTakes(info)) return fallback("MaxPoolGrad", args);
      return activeDnnl.maxPoolGrad(args.backend as unknown as WasmBackendLike, dy, input, info);
    });
    tf.registerKernel({
      kernelName: DNNL_BN_TRAIN_KERNEL,
      backendName: "wasm",
      kernelFunc: ({ inputs, attrs, backend }) => {
        const { x, gamma, beta } = inputs as Record<string, TensorInfo>;
        const { epsilon, relu } = attrs as unknown as { epsilon: number; relu: boolean };
        return dnnl.batchNormTrain(backend as unknown as WasmBackendLike, x, gamma, beta, epsilon, relu);
      },
    });
    tf.registerKernel({
      kernelName: DNNL_BN_GRAD_KERNEL,
      backendName: "wasm",
      kernelFunc: ({ inputs, attrs, backend }) => {
        const saved = inputs as unknown as Parameters<Dnnl["batchNormGrad"]>[1];
        const { epsilon, relu } = attrs as unknown as { epsilon: number; relu: boolean };
        return dnnl.batchNormGrad(backend as unknown as WasmBackendLike, saved, epsilon, relu);
      },
    });
  }
  // oneDNN takes every float32 NHWC convolution without dilation; OpenBLAS the rest it can
  const onDnnl = (info: tf.backend_util.Conv2DInfo) => activeDnnl !== undefined && dnnlTakes(info);
  swap("Conv2D", (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as ConvAttrs;
    if (x.dtype !== "float32" || filter.dtype !== "float32" || (a.dataFormat ?? "NHWC") !== "NHWC") {
      return fallback("Conv2D", args);
    }
    const info = conv2dInfo(x.shape, filter.shape, a);
    const backend = args.backend as unknown as WasmBackendLike;
    if (onDnnl(info)) return activeDnnl!.conv2d(backend, x, filter, info);
    if (active === undefined || xnnpackForward(info)) return fallback("Conv2D", args);
    return convolve(active, backend, x, filter, info);
  });
  swap("Conv2DBackpropFilter", (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const a = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
    if (x.dtype !== "float32" || dy.dtype !== "float32" || (a.dataFormat ?? "NHWC") !== "NHWC") {
      return fallback("Conv2DBackpropFilter", args);
    }
    const info = conv2dInfo(x.shape, a.filterShape, a);
    const backend = args.backend as unknown as WasmBackendLike;
    if (onDnnl(info)) return activeDnnl!.conv2dFilterGrad(backend, x, dy, info);
    if (active === undefined) return fallback("Conv2DBackpropFilter", args);
    return conv2dFilterGrad(active, backend, x, dy, info);
  });
  swap("Conv2DBackpropInput", (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
    if (dy.dtype !== "float32" || filter.dtype !== "float32" || (a.dataFormat ?? "NHWC") !== "NHWC") {
      return fallback("Conv2DBackpropInput", args);
    }
    const info = conv2dInfo(a.inputShape, filter.shape, a);
    const backend = args.backend as unknown as WasmBackendLike;
    if (onDnnl(info)) return activeDnnl!.conv2dInputGrad(backend, dy, filter, info);
    if (active === undefined) return fallback("Conv2DBackpropInput", args);
    return conv2dInputGrad(active, backend, dy, filter, info);
  });
  swap("BatchMatMul", (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== "float32" || b.dtype !== "float32") return fallback("BatchMatMul", args);
    const backend = args.backend as unknown as WasmBackendLike;
    const onDnnl = activeDnnl?.matMul(backend, a, b, transposeA, transposeB);
    if (onDnnl !== undefined) return onDnnl;
    if (active === undefined) return fallback("BatchMatMul", args);
    return batchMatMul(active, backend, a, b, transposeA, transposeB);
  });
}

// ---- webgpu ------------------------------------------------------------------------------------

type WebgpuKernel = (args: Parameters<KernelFunc>[0], original: KernelFunc) => ReturnType<KernelFunc>;

/** The project's webgpu kernels (webgpu_conv.ts, webgpu_matmul.ts); each hands what it does not take to TF.js's own. */
const WEBGPU_KERNELS: Record<string, WebgpuKernel> = {
  Conv2D: (args, original) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as ConvAttrs;
    if (!webgpuConvSupported(a, [x.dtype, filter.dtype])) return original(args);
    return conv2dWebgpu(args.backend as unknown as WebgpuBackendLike, x, filter, a);
  },
  Conv2DBackpropInput: (args, original) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
    if (!webgpuConvSupported(a, [dy.dtype, filter.dtype])) return original(args);
    return conv2dInputGradWebgpu(args.backend as unknown as WebgpuBackendLike, dy, filter, a.inputShape, a);
  },
  Conv2DBackpropFilter: (args, original) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const a = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
    if (!webgpuConvSupported(a, [x.dtype, dy.dtype])) return original(args);
    return conv2dFilterGradWebgpu(args.backend as unknown as WebgpuBackendLike, x, dy, a.filterShape, a);
  },
  BatchMatMul: (args, original) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== "float32" || b.dtype !== "float32" || matmulBatches(a.shape, b.shape) === undefined) {
      return original(args);
    }
    return batchMatMulWebgpu(args.backend as unknown as WebgpuBackendLike, a, b, transposeA, transposeB);
  },
};

const webgpuOriginals = new Map<string, tf.KernelConfig>();
const webgpuRegistered = new Map<string, KernelFunc>();

/**
 * Turns the project's webgpu kernels on (default) or back to TF.js's own: `Conv2D`, both of its
 * gradients and `BatchMatMul` as implicit GEMMs in WGSL, and the fused BatchNorm kernels
 * (`webgpuFusedBatchNorm` runs on them; off, it returns undefined). Call after the webgpu
 * backend's module is imported (its kernels are registered then).
 */
export function useFastWebgpuKernels(enabled = true): void {
  for (const [name, kernel] of Object.entries(WEBGPU_KERNELS)) {
    const current = tf.getKernel(name, "webgpu");
    if (current !== undefined && current.kernelFunc !== webgpuRegistered.get(name) && !webgpuOriginals.has(name)) {
      webgpuOriginals.set(name, current);
    }
    if (current !== undefined) tf.unregisterKernel(name, "webgpu");
    const original = webgpuOriginals.get(name);
    if (enabled) {
      const fallbackTo: KernelFunc = original?.kernelFunc ?? (() => {
        throw new Error(`no webgpu kernel ${name} of TF.js's to fall back to`);
      });
      const kernelFunc: KernelFunc = (args) => kernel(args, fallbackTo);
      webgpuRegistered.set(name, kernelFunc);
      tf.registerKernel({ kernelName: name, backendName: "webgpu", kernelFunc });
    } else if (original !== undefined) {
      webgpuRegistered.delete(name);
      tf.registerKernel(original);
    }
  }
  if (enabled) registerWebgpuBatchNorm();
  else unregisterWebgpuBatchNorm();
}

/** Whether the project's webgpu kernels are registered (`useFastWebgpuKernels`). */
export function fastWebgpuKernelsOn(): boolean {
  return webgpuRegistered.size > 0;
}

/**
 * Faster TensorFlow.js training on the `wasm` backend (and a faster filter gradient on
 * `webgpu`), for TF.js 4.22 under Deno. Nothing here knows what model it serves.
 *
 * - {@linkcode registerWasmKernels}: what the `wasm` backend lacks or runs slowly. Its
 *   convolution gradients (TF.js ships no `Conv2DBackpropFilter`, so no convnet trains on wasm
 *   without it), `MaxPoolGrad`, a copy-free `Identity`, a fused Adam update
 *   ({@linkcode ADAM_UPDATE_KERNEL}) and fused training-mode BatchNorm + ReLU kernels
 *   ({@linkcode fusedBatchNorm} is the differentiable op over them).
 * - {@linkcode useNativeKernels}: `Conv2D`, its two gradients and `BatchMatMul` on OpenBLAS's
 *   `sgemm` through Deno's FFI, in place on the WebAssembly heap ({@linkcode loadOpenBlas} opens
 *   the library; `ADADF_BLAS=off` or a path steers it): on two AVX-512 cores `sgemm` reached
 *   220-300 GFLOP/s where XNNPACK's convolutions reached 24-28 per thread.
 * - {@linkcode installWasmThreads}: XNNPACK's thread pool under Deno (TF.js turns it off there).
 * - {@linkcode useFastWebgpuKernels}: the `webgpu` backend's `Conv2D`, both its gradients and
 *   `BatchMatMul` as implicit GEMMs in WGSL (tiles in workgroup memory, a register block per
 *   thread; {@linkcode setWebgpuTiles} for measuring), and fused training BatchNorm (+ ReLU)
 *   kernels ({@linkcode webgpuFusedBatchNorm} is the op over them).
 *
 * Each is checked against TF.js's `cpu` backend (the toolkit's tests/kernels/). README.md
 * says what each file holds.
 *
 * @example Train a convolution on `wasm`: register the kernels, then the gradient runs
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
 * import { loadDnnl, loadOpenBlas, registerWasmKernels, useNativeKernels } from "./mod.ts";
 * // the backend's .wasm files, which `deno install` puts under node_modules
 * setWasmPaths(new URL("../../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).href);
 * tf.env().set("PROD", true); // no "install tfjs-node" banner
 * registerWasmKernels();
 * await tf.setBackend("wasm");
 * // optional: native kernels where the libraries (and --allow-ffi) are there: oneDNN first, then OpenBLAS
 * const openblas = loadOpenBlas();
 * const onednn = loadDnnl({ threads: 2 });
 * useNativeKernels(openblas.blas, onednn.dnnl);
 *
 * const x = tf.randomNormal([2, 9, 9, 3], 0, 1, "float32", 1) as tf.Tensor4D; // [N, H, W, Cin]
 * const w = tf.randomNormal([3, 3, 3, 4], 0, 1, "float32", 2) as tf.Tensor4D; // [KH, KW, Cin, Cout]
 * const loss = (f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, f as tf.Tensor4D, 2, "same")));
 * const dw = await tf.grad(loss)(w).data(); // Conv2DBackpropFilter on wasm
 *
 * await tf.setBackend("cpu"); // TF.js's reference kernels
 * const ref = await tf.grad(loss)(w).data();
 * const err = Math.max(...ref.map((r, i) => Math.abs(r - dw[i]) / (1 + Math.abs(r))));
 * if (!(err < 1e-4)) throw new Error(`filter gradient differs from cpu by ${err}`);
 * ```
 *
 * @module
 */
export { ADAM_UPDATE_KERNEL, adamSimdReady, useAdamSimd } from "./adam.ts";
export {
  BN_GRAD_KERNEL,
  BN_TRAIN_KERNEL,
  DNNL_BN_GRAD_KERNEL,
  DNNL_BN_TRAIN_KERNEL,
  FUSED_BN_MAX_CHANNELS,
  FUSED_BN_MAX_SIZE,
  fusedBatchNorm,
  type FusedBatchNormOptions,
  registerWasmBatchNorm,
} from "./batchnorm.ts";
export type { ConvAttrs } from "./_conv_info.ts";
export { conv2dFilterGradient, conv2dInputGradient } from "./conv2d_xnnpack.ts";
export { BLOCK_FLOATS, col2imAdd, im2col, setBlockFloats } from "./im2col.ts";
export { coretypeFromCpuFlags, loadOpenBlas, type OpenBlas, type OpenBlasResult } from "./openblas.ts";
export { type Dnnl, DnnlError, type DnnlResult, loadDnnl } from "./dnnl.ts";
export {
  fastWebgpuKernelsOn,
  nativeKernelsBlas,
  nativeKernelsDnnl,
  registerWasmKernels,
  useFastWebgpuKernels,
  useNativeKernels,
} from "./register.ts";
export { installWasmThreads, stopWasmThreads } from "./wasm_threads.ts";
export { conv2dFilterGradientIm2col, type FilterGradAttrs } from "./webgpu.ts";
export {
  DEFAULT_TARGET_WORKGROUPS,
  DEFAULT_TILES,
  type GemmKernelClass,
  type GemmTiles,
  setWebgpuTargetWorkgroups,
  setWebgpuTiles,
  type TileClasses,
  tilesFor,
  type WebgpuBackendLike,
} from "./_wgsl.ts";
export { conv2dFilterGradWebgpu, conv2dInputGradWebgpu, conv2dWebgpu } from "./webgpu_conv.ts";
export { batchMatMulWebgpu } from "./webgpu_matmul.ts";
export {
  BN_GRAD_WEBGPU_KERNEL,
  BN_TRAIN_WEBGPU_KERNEL,
  registerWebgpuBatchNorm,
  unregisterWebgpuBatchNorm,
  webgpuFusedBatchNorm,
} from "./webgpu_batchnorm.ts";

/**
 * The building blocks of the model as plain functions over named parameters, with
 * PyTorch semantics: symmetric padding, BatchNorm with momentum 0.1 / eps 1e-5 and an
 * unbiased running variance, Linear layers stored as [in, out].
 */
import * as tf from "@tensorflow/tfjs";
import type { Prng } from "../util/prng.ts";

/** A model's tensors by torchvision-style name (`feature.layer1.0.conv1.weight`). */
export type ParamMap = Map<string, tf.Variable>;

/** Collects the batch statistics of every BatchNorm run in training mode during a forward pass. */
export interface BnRecorder {
  push(name: string, mean: tf.Tensor1D, variance: tf.Tensor1D, count: number): void;
}

/** The state a forward pass needs besides the input. */
export interface ForwardContext {
  params: ParamMap;
  training: boolean;
  bn?: BnRecorder;
  /** how the layers compute (default `DEFAULT_LAYER_KERNELS`: TF.js's own ops) */
  kernels?: LayerKernels;
}

/**
 * Training-mode BatchNorm (+ ReLU) of x [N, H, W, C] on fused kernels, with their gradient;
 * undefined where they do not run (then the layers use ops). `onStats` receives the batch mean
 * and biased variance [C]. lib/kernels/batchnorm.ts `fusedBatchNorm` is one (for `wasm`).
 */
export type FusedBatchNorm = (
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  options: { epsilon: number; relu: boolean; onStats: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void },
) => tf.Tensor4D | undefined;

/**
 * How four parts of the model are computed. The results are the same; the fastest
 * form depends on the backend, so whoever chooses the backend passes the forms in
 * (`AdaDfNet`'s `kernels`, `ForwardContext.kernels`; lib/backend/backend.ts names them per
 * backend in `BackendChoice.layerKernels`):
 * - `channelSums` (BatchNorm's per-channel sums over N, H, W): `reduce` = tf.sum over
 *   [0, 1, 2] (a transpose, then one workgroup per channel on webgpu); `matmul` = a batched
 *   product with a ones vector in two stages, which keeps a GPU busy; `gemv` = one
 *   [1, M] . [M, C] product (10-40x faster than `reduce` when matrix products run on OpenBLAS).
 * - `globalPool` (the pooled feature): `reduce` = tf.mean over [1, 2] with TF.js's gradient;
 *   `matmul` = a batched product with ones, whose gradient is an outer product.
 * - `maxPool`: `native` = tf.maxPool and its MaxPoolGrad kernel; `windows` = the maximum of
 *   the nine strided windows, with a gradient that routes dy to the first maximum of each
 *   window as PyTorch does, built from elementwise ops only.
 * - `fusedBatchNorm` (training mode, with the ReLU after it): where given, it runs each training
 *   BatchNorm it accepts (the wasm kernels take the activations where they pay); the others,
 *   and all without it, run TF.js ops with the hand-written gradient below.
 */
export interface LayerKernels {
  channelSums: "reduce" | "matmul" | "gemv";
  globalPool: "reduce" | "matmul";
  maxPool: "native" | "windows";
  fusedBatchNorm?: FusedBatchNorm;
}

/** TF.js's own ops throughout: what a forward pass uses when it is given no kernels. */
export const DEFAULT_LAYER_KERNELS: Readonly<LayerKernels> = Object.freeze({
  channelSums: "reduce",
  globalPool: "reduce",
  maxPool: "native",
});

/** Sums over every axis but the last: x [..., C] -> [C]; `form` as in `LayerKernels.channelSums`. */
export function channelSums(x: tf.Tensor, form: LayerKernels["channelSums"] = "reduce"): tf.Tensor1D {
  const c = x.shape[x.rank - 1];
  const m = x.size / c;
  if (form === "gemv") {
    return tf.tidy(() => tf.reshape(tf.matMul(tf.ones([1, m]), tf.reshape(x, [m, c])), [c]) as tf.Tensor1D);
  }
  if (form === "reduce" || m < 4096) {
    return tf.tidy(() => tf.sum(tf.reshape(x, [m, c]), 0) as tf.Tensor1D);
  }
  // two stages of [G, 1, K] x [G, K, C] products: G groups of K rows each
  return tf.tidy(() => {
    let rows = tf.reshape(x, [m, c]) as tf.Tensor2D;
    let k = m;
    while (k > 4096) {
      const g = largestDivisorAtMost(k, Math.ceil(Math.sqrt(k)));
      if (g === 1) break;
      const grouped = tf.reshape(rows, [g, k / g, c]) as tf.Tensor3D;
      rows = tf.reshape(tf.matMul(tf.ones([g, 1, k / g]), grouped), [g, c]);
      k = g;
    }
    return tf.reshape(tf.matMul(tf.ones([1, k]), rows), [c]) as tf.Tensor1D;
  });
}

function largestDivisorAtMost(n: number, limit: number): number {
  for (let d = Math.min(limit, n); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

function param(ctx: ForwardContext, name: string): tf.Variable {
  const p = ctx.params.get(name);
  if (p === undefined) throw new RangeError(`model parameter '${name}' is missing`);
  return p;
}

/** Convolution without bias, PyTorch padding (symmetric `pad` pixels). x [N,H,W,Cin]. */
export function conv(ctx: ForwardContext, name: string, x: tf.Tensor4D, stride: number, pad: number): tf.Tensor4D {
  return tf.conv2d(x, param(ctx, `${name}.weight`) as tf.Tensor4D, stride, pad);
}

/**
 * BatchNorm2d: batch statistics in training (recorded for the running update), running ones in
 * eval; `relu` applies a ReLU after it (fused into the same kernels where the backend has them).
 */
export function batchNorm(
  ctx: ForwardContext,
  name: string,
  x: tf.Tensor4D,
  options: { relu?: boolean } = {},
): tf.Tensor4D {
  const gamma = param(ctx, `${name}.weight`) as tf.Tensor1D;
  const beta = param(ctx, `${name}.bias`) as tf.Tensor1D;
  const relu = options.relu ?? false;
  if (!ctx.training) {
    const mean = param(ctx, `${name}.running_mean`) as tf.Tensor1D;
    const variance = param(ctx, `${name}.running_var`) as tf.Tensor1D;
    return tf.tidy(() => {
      const y = tf.batchNorm4d(x, mean, variance, beta, gamma, BN_EPS);
      return relu ? tf.relu(y) : y;
    });
  }
  const onStats = (mean: tf.Tensor1D, variance: tf.Tensor1D) => {
    ctx.bn?.push(name, tf.keep(mean), tf.keep(variance), x.shape[0] * x.shape[1] * x.shape[2]);
  };
  const kernels = ctx.kernels ?? DEFAULT_LAYER_KERNELS;
  const fused = kernels.fusedBatchNorm?.(x, gamma, beta, { epsilon: BN_EPS, relu, onStats });
  if (fused !== undefined) return fused;
  const y = trainingBatchNorm(x, gamma, beta, onStats, kernels.channelSums);
  return relu ? tf.relu(y) : y;
}

/**
 * Training-mode BatchNorm over [N, H, W] with a hand-written gradient. TF.js's own
 * FusedBatchNorm gradient tiles gamma, mean and variance to the full activation shape
 * (a quarter of a wasm training step); the closed form below uses [C] vectors only:
 * dx = gamma * r / M * (M dy - sum(dy) - xhat * sum(dy * xhat)), r = 1 / sqrt(var + eps).
 */
function trainingBatchNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  onStats: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
  sums: LayerKernels["channelSums"],
): tf.Tensor4D {
  const op = tf.customGrad(
    ((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      const x4 = xIn as tf.Tensor4D;
      const m = x4.size / x4.shape[3];
      const mean = tf.div(channelSums(x4, sums), m) as tf.Tensor1D; // [C]
      const centered = tf.sub(x4, mean); // [N, H, W, C]
      const variance = tf.div(channelSums(tf.square(centered), sums), m) as tf.Tensor1D; // biased, as PyTorch normalises
      onStats(mean, variance);
      const r = tf.rsqrt(tf.add(variance, BN_EPS)); // [C]
      const xhat = tf.mul(centered, r); // [N, H, W, C]
      save([xhat, r, g]);
      const value = tf.add(tf.mul(xhat, g), b);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sxhat, sr, sg] = saved;
          const m = dy.size / dy.shape[dy.rank - 1];
          const dbeta = channelSums(dy, sums); // [C]
          const dgamma = channelSums(tf.mul(dy, sxhat), sums); // [C]
          const scale = tf.mul(sg, tf.div(sr, m)); // [C]
          const inner = tf.sub(tf.sub(tf.mul(dy, m), dbeta), tf.mul(sxhat, dgamma));
          return [tf.mul(inner, scale), dgamma, dbeta];
        },
      };
      // deno-lint-ignore no-explicit-any
    }) as any,
  );
  return op(x, gamma, beta) as tf.Tensor4D;
}

/** Linear layer, weight stored [in, out] (PyTorch's transposed). x [N, in]. */
export function linear(ctx: ForwardContext, name: string, x: tf.Tensor2D): tf.Tensor2D {
  return tf.add(tf.matMul(x, param(ctx, `${name}.weight`) as tf.Tensor2D), param(ctx, `${name}.bias`));
}

/**
 * MaxPool 3x3, stride 2, pad 1 (PyTorch pads with -inf, which tf.maxPool's explicit pad matches);
 * `form` as in `LayerKernels.maxPool`.
 */
export function maxPool(x: tf.Tensor4D, form: LayerKernels["maxPool"] = "native"): tf.Tensor4D {
  return form === "native" ? tf.maxPool(x, 3, 2, 1) : windowMaxPool(x);
}

/** Global average pool over H, W: x [N, H, W, C] -> [N, C]; `form` as in `LayerKernels.globalPool`. */
export function globalAveragePool(x: tf.Tensor4D, form: LayerKernels["globalPool"] = "reduce"): tf.Tensor2D {
  if (form === "reduce") return tf.mean(x, [1, 2]) as tf.Tensor2D;
  const [n, h, w, c] = x.shape;
  const op = tf.customGrad(
    ((xIn: tf.Tensor) => {
      const value = tf.reshape(tf.matMul(tf.fill([n, 1, h * w], 1 / (h * w)), tf.reshape(xIn, [n, h * w, c])), [n, c]);
      return {
        value,
        // dx[n, p, c] = dy[n, c] / (H W): an outer product with a ones column
        gradFunc: (dy: tf.Tensor) =>
          tf.reshape(tf.matMul(tf.fill([n, h * w, 1], 1 / (h * w)), tf.reshape(dy, [n, 1, c])), [n, h, w, c]),
      };
      // deno-lint-ignore no-explicit-any
    }) as any,
  );
  return op(x) as tf.Tensor2D;
}

/** The nine 3x3 windows of stride 2 over x padded by one -inf pixel: each [N, OH, OW, C]. */
function poolWindows(xp: tf.Tensor4D, oh: number, ow: number): tf.Tensor4D[] {
  const [n, , , c] = xp.shape;
  const out: tf.Tensor4D[] = [];
  for (let di = 0; di < 3; di++) {
    for (let dj = 0; dj < 3; dj++) {
      out.push(
        tf.stridedSlice(xp, [0, di, dj, 0], [n, di + 2 * oh - 1, dj + 2 * ow - 1, c], [1, 2, 2, 1]) as tf.Tensor4D,
      );
    }
  }
  return out;
}

/** MaxPool 3x3 / 2 / pad 1 from elementwise ops; the gradient goes to each window's first maximum (PyTorch's argmax). */
function windowMaxPool(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const oh = Math.floor((h - 1) / 2) + 1;
  const ow = Math.floor((w - 1) / 2) + 1;
  const pads: [number, number][] = [[0, 0], [1, 1], [1, 1], [0, 0]];
  const op = tf.customGrad(
    ((xIn: tf.Tensor, save: tf.GradSaveFunc) => {
      const xp = tf.pad(xIn as tf.Tensor4D, pads, -Infinity);
      const windows = poolWindows(xp, oh, ow);
      const value = windows.reduce((a, b) => tf.maximum(a, b));
      save([xIn, value]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, sy] = saved;
          const ws = poolWindows(tf.pad(sx as tf.Tensor4D, pads, -Infinity), oh, ow);
          let taken = tf.zerosLike(dy);
          let dxp = tf.zeros([n, 2 * oh + 2, 2 * ow + 2, c]) as tf.Tensor4D;
          for (let k = 0; k < 9; k++) {
            const di = Math.floor(k / 3);
            const dj = k % 3;
            const hit = tf.mul(tf.cast(tf.equal(ws[k], sy), "float32"), tf.sub(1, taken)); // first maximum only
            taken = tf.add(taken, hit);
            // place g [N, OH, OW, C] at rows di + 2i, columns dj + 2j: interleave zeros along W,
            // then along H, with rank-4 pads only (webgpu's pad returns zeros for rank 5 and 6)
            const g = tf.reshape(tf.mul(hit, dy), [n * oh, ow, 1, c]);
            const wide = tf.reshape(tf.pad(g, [[0, 0], [0, 0], [0, 1], [0, 0]]), [n, oh, 1, 2 * ow * c]);
            const spread = tf.reshape(tf.pad(wide, [[0, 0], [0, 0], [0, 1], [0, 0]]), [n, 2 * oh, 2 * ow, c]);
            dxp = tf.add(dxp, tf.pad(spread, [[0, 0], [di, 2 - di], [dj, 2 - dj], [0, 0]]));
          }
          return tf.slice(dxp, [0, 1, 1, 0], [n, h, w, c]);
        },
      };
      // deno-lint-ignore no-explicit-any
    }) as any,
  );
  return op(x) as tf.Tensor4D;
}

/** Parameter initialisers following torchvision's ResNet. */
export class Initializer {
  constructor(readonly prng: Prng) {}

  /** kaiming_normal_(mode="fan_out", nonlinearity="relu"); shape [KH,KW,Cin,Cout]. */
  convWeight(kh: number, kw: number, cin: number, cout: number): tf.Tensor4D {
    const std = Math.sqrt(2 / (cout * kh * kw));
    const v = new Float32Array(kh * kw * cin * cout);
    for (let i = 0; i < v.length; i++) v[i] = this.prng.normal(0, std);
    return tf.tensor4d(v, [kh, kw, cin, cout]);
  }

  /** nn.Linear's default: U(-1/sqrt(in), 1/sqrt(in)) for weight [in,out] and bias [out]. */
  linear(inF: number, outF: number): { weight: tf.Tensor2D; bias: tf.Tensor1D } {
    const b = 1 / Math.sqrt(inF);
    const w = new Float32Array(inF * outF);
    for (let i = 0; i < w.length; i++) w[i] = this.prng.uniform(-b, b);
    const bias = new Float32Array(outF);
    for (let i = 0; i < outF; i++) bias[i] = this.prng.uniform(-b, b);
    return { weight: tf.tensor2d(w, [inF, outF]), bias: tf.tensor1d(bias) };
  }
}

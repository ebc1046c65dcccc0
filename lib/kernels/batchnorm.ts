/**
 * Training-mode BatchNorm (and an optional ReLU after it) as two fused kernels for the `wasm`
 * backend, and `fusedBatchNorm`, the differentiable op over them (a model calls it where it
 * would run BatchNorm's ops, and falls back to them where it returns undefined). TF.js runs the forward pass as
 * 2 channel sums and 5 elementwise ops (then a ReLU), and the backward pass as 2 channel sums and
 * 5 elementwise ops (after ReLU's step, cast and multiply); each op is a pass over the activation
 * and a call with its own overhead. Here: three passes forward, two backward, sums in float64.
 *
 * Forward (`BN_TRAIN_KERNEL`), per channel over M = N*H*W values (eq. of BatchNorm2d, biased
 * variance as PyTorch normalises with): mean, var = mean((x - mean)^2), r = 1 / sqrt(var + eps),
 * xhat = (x - mean) r, y = gamma xhat + beta (then max(y, 0) with `relu`).
 * Backward (`BN_GRAD_KERNEL`): with g = dy where y > 0 (or dy without `relu`),
 * dbeta = sum(g), dgamma = sum(g xhat), dx = gamma r / M (M g - dbeta - xhat dgamma).
 * Checked against the op-by-op form on the `cpu` backend in tests/kernels/batchnorm_test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { tensorViews, type WasmBackendLike } from "./_wasm_heap.ts";

/** The forward kernel's name: x, gamma, beta -> y, xhat, mean, variance, r (attrs epsilon, relu). */
export const BN_TRAIN_KERNEL = "AdadfBatchNormTrain";
/** The backward kernel's name: dy, xhat, r, gamma, beta -> dx, dgamma, dbeta (attr relu). */
export const BN_GRAD_KERNEL = "AdadfBatchNormGrad";

type KernelArgs = Parameters<tf.KernelConfig["kernelFunc"]>[0];

/** x, gamma, beta -> y, xhat, mean, variance (biased), r = 1 / sqrt(variance + eps). */
function batchNormTrain(args: KernelArgs): tf.TensorInfo[] {
  const { x, gamma, beta } = args.inputs as Record<string, tf.TensorInfo>;
  const { epsilon, relu } = args.attrs as unknown as { epsilon: number; relu: boolean };
  const backend = args.backend as unknown as WasmBackendLike;
  const c = x.shape[x.shape.length - 1];
  const outs = [
    backend.makeOutput(x.shape, "float32"),
    backend.makeOutput(x.shape, "float32"),
    backend.makeOutput([c], "float32"),
    backend.makeOutput([c], "float32"),
    backend.makeOutput([c], "float32"),
  ];
  const [xv, gv, bv, yv, hv, meanv, varv, rv] = tensorViews(backend, [x, gamma, beta, ...outs]);
  const total = xv.length;
  const m = total / c;
  const acc = new Float64Array(c);
  for (let i = 0; i < total; i += c) for (let k = 0; k < c; k++) acc[k] += xv[i + k];
  const mean = new Float64Array(c);
  for (let k = 0; k < c; k++) mean[k] = acc[k] / m;
  acc.fill(0);
  for (let i = 0; i < total; i += c) {
    for (let k = 0; k < c; k++) {
      const d = xv[i + k] - mean[k];
      acc[k] += d * d;
    }
  }
  const r = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    const variance = acc[k] / m;
    meanv[k] = mean[k];
    varv[k] = variance;
    r[k] = 1 / Math.sqrt(variance + epsilon);
    rv[k] = r[k];
  }
  for (let i = 0; i < total; i += c) {
    for (let k = 0; k < c; k++) {
      const h = Math.fround((xv[i + k] - mean[k]) * r[k]);
      hv[i + k] = h;
      const y = h * gv[k] + bv[k];
      // max(y, 0) without a branch (a data-dependent branch here cost 9 ns per value)
      yv[i + k] = relu ? (y + Math.abs(y)) * 0.5 : y;
    }
  }
  return outs;
}

/**
 * 1 where y > 0, else 0 (NaN included): the ReLU passes the gradient where its output was
 * positive. `+(y > 0)` compiles without a branch (1.6 ns per value; a conditional 7 ns, Math.sign 8.6).
 */
function positive(y: number): number {
  return +(y > 0);
}

/** dy, xhat, r, gamma, beta -> dx, dgamma, dbeta. */
function batchNormGrad(args: KernelArgs): tf.TensorInfo[] {
  const { dy, xhat, r, gamma, beta } = args.inputs as Record<string, tf.TensorInfo>;
  const { relu } = args.attrs as unknown as { relu: boolean };
  const backend = args.backend as unknown as WasmBackendLike;
  const c = dy.shape[dy.shape.length - 1];
  const outs = [
    backend.makeOutput(dy.shape, "float32"),
    backend.makeOutput([c], "float32"),
    backend.makeOutput([c], "float32"),
  ];
  const [dyv, hv, rv, gv, bv, dxv, dgv, dbv] = tensorViews(backend, [dy, xhat, r, gamma, beta, ...outs]);
  const total = dyv.length;
  const m = total / c;
  const sumG = new Float64Array(c);
  const sumGH = new Float64Array(c);
  for (let i = 0; i < total; i += c) {
    for (let k = 0; k < c; k++) {
      const h = hv[i + k];
      const g = relu ? dyv[i + k] * positive(h * gv[k] + bv[k]) : dyv[i + k];
      sumG[k] += g;
      sumGH[k] += g * h;
    }
  }
  const scale = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    dbv[k] = sumG[k];
    dgv[k] = sumGH[k];
    scale[k] = (gv[k] * rv[k]) / m;
  }
  for (let i = 0; i < total; i += c) {
    for (let k = 0; k < c; k++) {
      const h = hv[i + k];
      const g = relu ? dyv[i + k] * positive(h * gv[k] + bv[k]) : dyv[i + k];
      dxv[i + k] = scale[k] * (m * g - sumG[k] - h * sumGH[k]);
    }
  }
  return outs;
}

/** oneDNN's forward kernel (dnnl.ts): x, gamma, beta -> y, mean, variance (+ the ReLU's workspace); attrs epsilon, relu. */
export const DNNL_BN_TRAIN_KERNEL = "AdadfDnnlBatchNormTrain";
/** oneDNN's backward kernel: dy, x, mean, variance, gamma, beta (+ workspace) -> dx, dgamma, dbeta; attrs epsilon, relu. */
export const DNNL_BN_GRAD_KERNEL = "AdadfDnnlBatchNormGrad";

/** Registers both kernels for `wasm` (idempotent). */
export function registerWasmBatchNorm(): void {
  if (tf.getKernel(BN_TRAIN_KERNEL, "wasm") !== undefined) return;
  tf.registerKernel({ kernelName: BN_TRAIN_KERNEL, backendName: "wasm", kernelFunc: batchNormTrain });
  tf.registerKernel({ kernelName: BN_GRAD_KERNEL, backendName: "wasm", kernelFunc: batchNormGrad });
}

/**
 * Where the fused kernels pay (wasm, measured on whole training steps of a ResNet-18): small
 * activations with few channels, where the op-by-op form's per-op costs dominate (width 16:
 * 229-244 -> 191-193 ms per 48x48 step). On larger ones, or with 256+ channels, wasm's own
 * elementwise ops (SIMD, threaded) win (width 64: 699 -> 797 ms fused throughout).
 */
export const FUSED_BN_MAX_SIZE = 1 << 18;
/** Channels above which `fusedBatchNorm` leaves an activation to ops (see `FUSED_BN_MAX_SIZE`). */
export const FUSED_BN_MAX_CHANNELS = 128;

/** What `fusedBatchNorm` needs besides the tensors. */
export interface FusedBatchNormOptions {
  /** added to the variance (PyTorch's BatchNorm2d: 1e-5) */
  epsilon: number;
  /** a ReLU after the BatchNorm, in the same passes */
  relu: boolean;
  /** receives the batch mean and biased variance [C] (for a running-statistics update) */
  onStats: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void;
}

/**
 * Training-mode BatchNorm (+ ReLU) of x [N, H, W, C] over N, H, W on the fused kernels, with
 * their gradient: three passes forward and two back. Undefined where they do not run or do not
 * pay: the active backend has no such kernel (`registerWasmBatchNorm` registers them for
 * `wasm`), or x is above `FUSED_BN_MAX_SIZE` values or `FUSED_BN_MAX_CHANNELS` channels.
 */
export function fusedBatchNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  options: FusedBatchNormOptions,
): tf.Tensor4D | undefined {
  if (tf.getKernel(DNNL_BN_TRAIN_KERNEL, tf.getBackend()) !== undefined) return dnnlBatchNorm(x, gamma, beta, options);
  const pays = x.size <= FUSED_BN_MAX_SIZE && x.shape[3] <= FUSED_BN_MAX_CHANNELS;
  if (!pays || tf.getKernel(BN_TRAIN_KERNEL, tf.getBackend()) === undefined) return undefined;
  const { epsilon, relu, onStats } = options;
  const op = tf.customGrad(
    ((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      const [value, xhat, mean, variance, r] = tf.engine().runKernel(
        BN_TRAIN_KERNEL,
        { x: xIn, gamma: g, beta: b } as unknown as tf.NamedTensorMap,
        { epsilon, relu } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor[];
      onStats(mean as tf.Tensor1D, variance as tf.Tensor1D);
      save([xhat, r, g, b]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sxhat, sr, sg, sb] = saved;
          return tf.engine().runKernel(
            BN_GRAD_KERNEL,
            { dy, xhat: sxhat, r: sr, gamma: sg, beta: sb } as unknown as tf.NamedTensorMap,
            { relu } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor[];
        },
      };
      // deno-lint-ignore no-explicit-any
    }) as any,
  );
  return op(x, gamma, beta) as tf.Tensor4D;
}

/** `fusedBatchNorm` on oneDNN's kernels (every size: oneDNN's are JIT-compiled and threaded). */
function dnnlBatchNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  options: FusedBatchNormOptions,
): tf.Tensor4D {
  const { epsilon, relu, onStats } = options;
  const op = tf.customGrad(
    ((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      const [value, mean, variance, workspace] = tf.engine().runKernel(
        DNNL_BN_TRAIN_KERNEL,
        { x: xIn, gamma: g, beta: b } as unknown as tf.NamedTensorMap,
        { epsilon, relu } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor[];
      onStats(mean as tf.Tensor1D, variance as tf.Tensor1D);
      save(relu ? [xIn, mean, variance, g, b, workspace] : [xIn, mean, variance, g, b]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, smean, svar, sg, sb, sws] = saved;
          const [dx, dg, db] = tf.engine().runKernel(
            DNNL_BN_GRAD_KERNEL,
            {
              dy,
              x: sx,
              mean: smean,
              variance: svar,
              gamma: sg,
              beta: sb,
              ...(relu ? { workspace: sws } : {}),
            } as unknown as tf.NamedTensorMap,
            { epsilon, relu } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor[];
          return [dx, dg, db];
        },
      };
      // deno-lint-ignore no-explicit-any
    }) as any,
  );
  return op(x, gamma, beta) as tf.Tensor4D;
}

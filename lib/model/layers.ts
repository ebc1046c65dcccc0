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

/** BatchNorm2d: batch statistics in training (recorded for the running update), running ones in eval. */
export function batchNorm(ctx: ForwardContext, name: string, x: tf.Tensor4D): tf.Tensor4D {
  const gamma = param(ctx, `${name}.weight`) as tf.Tensor1D;
  const beta = param(ctx, `${name}.bias`) as tf.Tensor1D;
  if (!ctx.training) {
    const mean = param(ctx, `${name}.running_mean`) as tf.Tensor1D;
    const variance = param(ctx, `${name}.running_var`) as tf.Tensor1D;
    return tf.batchNorm4d(x, mean, variance, beta, gamma, BN_EPS);
  }
  return trainingBatchNorm(x, gamma, beta, (mean, variance) => {
    ctx.bn?.push(name, tf.keep(mean), tf.keep(variance), x.shape[0] * x.shape[1] * x.shape[2]);
  });
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
): tf.Tensor4D {
  const op = tf.customGrad(
    ((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      const x4 = xIn as tf.Tensor4D;
      const { mean, variance } = tf.moments(x4, [0, 1, 2]);
      onStats(mean as tf.Tensor1D, variance as tf.Tensor1D);
      const r = tf.rsqrt(tf.add(variance, BN_EPS)); // [C]
      const xhat = tf.mul(tf.sub(x4, mean), r); // [N, H, W, C]
      save([xhat, r, g]);
      const value = tf.add(tf.mul(xhat, g), b);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sxhat, sr, sg] = saved;
          const m = dy.size / dy.shape[dy.rank - 1];
          const dbeta = tf.sum(dy, [0, 1, 2]); // [C]
          const dgamma = tf.sum(tf.mul(dy, sxhat), [0, 1, 2]); // [C]
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

/** MaxPool 3x3, stride 2, pad 1 (PyTorch pads with -inf, which tf.maxPool's explicit pad matches). */
export function maxPool(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 3, 2, 1);
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

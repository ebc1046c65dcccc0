/**
 * Min-max normalisation of the attention weights over the batch, eq. 11 of the paper.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertColumn, assertWeightRange } from "./_validate.ts";
import { NORMALIZE_ATTENTION_DEFAULTS } from "./defaults.ts";

/** Options of {@linkcode normalizeAttention}. */
export interface NormalizeAttentionOptions {
  /** The smallest fusion weight, w_min of eq. 11 (train.py `--min_weight`). Default 0.2. */
  minWeight?: number;
  /** The largest fusion weight (train.py `--max_weight`; the paper's 1). Default 1. */
  maxWeight?: number;
}

export { NORMALIZE_ATTENTION_DEFAULTS } from "./defaults.ts";

/** Smallest denominator max - min; guards a batch whose weights are all equal. */
export const NORMALIZE_ATTENTION_EPSILON = 1e-12;

/**
 * Normalises the averaged attention weights to [minWeight, maxWeight], eq. 11:
 * `w = (w_avg - min) / (max - min) * (maxWeight - minWeight) + minWeight`, with min and max
 * over the batch (train.py, `attention_weights = ((a - a.min()) / (a.max() - a.min())) * ...`).
 *
 * Differentiable like the code: the gradient also flows through `min` and `max` (to the
 * arg-min and arg-max rows). Guard: the denominator is `max(max - min, 1e-12)`, so a batch
 * whose weights are all equal gets `w = minWeight` everywhere (train.py divides 0 by 0 and
 * gets NaN).
 *
 * @param wAvg averaged attention weights, [N, 1]
 * @returns the fusion weights, [N, 1], in [minWeight, maxWeight]
 * @throws {RangeError} unless 0 <= minWeight <= maxWeight <= 1
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { normalizeAttention } from "./normalize_attention.ts";
 * const w = normalizeAttention(tf.tensor2d([[0.3], [0.5], [0.7]])); // [[0.2], [0.6], [1]]
 * ```
 */
export function normalizeAttention(wAvg: tf.Tensor2D, options: NormalizeAttentionOptions = {}): tf.Tensor2D {
  assertColumn(wAvg, "wAvg");
  const minWeight = options.minWeight ?? NORMALIZE_ATTENTION_DEFAULTS.minWeight;
  const maxWeight = options.maxWeight ?? NORMALIZE_ATTENTION_DEFAULTS.maxWeight;
  assertWeightRange(minWeight, maxWeight);
  return tf.tidy(() => {
    const lo = tf.min(wAvg); // scalar
    const hi = tf.max(wAvg); // scalar
    const range = tf.maximum(tf.sub(hi, lo), NORMALIZE_ATTENTION_EPSILON); // scalar
    const unit = tf.div(tf.sub(wAvg, lo), range); // [N, 1] in [0, 1]
    return tf.add(tf.mul(unit, maxWeight - minWeight), minWeight); // [N, 1]
  });
}

/**
 * Eq. 11 on plain numbers: `values` min-max normalised to [minWeight, maxWeight] over `range`
 * (default: their own minimum and maximum), with the same epsilon as {@linkcode normalizeAttention}.
 * The trainer uses it for the tracked samples, normalised over the whole training set's range.
 *
 * @example
 * ```ts
 * import { normalizeAttentionValues } from "./normalize_attention.ts";
 * const w = normalizeAttentionValues([0.2, 0.4, 0.6], { minWeight: 0.2 });
 * if (Math.abs(w[1] - 0.6) > 1e-9) throw new Error("midpoint");
 * ```
 */
export function normalizeAttentionValues(
  values: ArrayLike<number>,
  options: NormalizeAttentionOptions & { range?: readonly [number, number] } = {},
): number[] {
  const minWeight = options.minWeight ?? NORMALIZE_ATTENTION_DEFAULTS.minWeight;
  const maxWeight = options.maxWeight ?? NORMALIZE_ATTENTION_DEFAULTS.maxWeight;
  assertWeightRange(minWeight, maxWeight);
  const v = Array.from(values);
  const [lo, hi] = options.range ?? [Math.min(...v), Math.max(...v)];
  const range = Math.max(hi - lo, NORMALIZE_ATTENTION_EPSILON);
  return v.map((x) => ((x - lo) / range) * (maxWeight - minWeight) + minWeight);
}

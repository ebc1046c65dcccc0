/**
 * Per-class statistics of the normalised attention weights over a whole set, as train.py
 * logs them each epoch (utils.generate_average_weights).
 * @module
 */
import { assertFinite, assertLabelValues, assertNumClasses, assertWeightRange } from "./_validate.ts";
import { NORMALIZE_ATTENTION_DEFAULTS, NORMALIZE_ATTENTION_EPSILON } from "./normalize_attention.ts";
import type { NormalizeAttentionOptions } from "./normalize_attention.ts";

/** Per-class mean, max and min of the normalised weights; NaN for a class with no sample. */
export interface AttentionStatistics {
  mean: number[];
  max: number[];
  min: number[];
}

/**
 * Normalises the averaged attention weights of a whole set with eq. 11 (min and max over the
 * whole set, not per batch; the same 1e-12 guard as {@linkcode normalizeAttention}), then
 * returns per class their mean, max and min (utils.generate_average_weights).
 * A class with no sample gets NaN (utils.py would raise on the max of an empty tensor).
 *
 * @param wAvg averaged attention weights of the set, [N] (an [N, 1] tensor's data)
 * @param labels the true classes, [N]
 * @param numClasses C
 * @throws {RangeError} if the lengths differ, N = 0, a label or weight is invalid
 *
 * @example
 * ```ts
 * import { attentionStatistics } from "./attention_statistics.ts";
 * const s = attentionStatistics(new Float32Array([0.3, 0.5, 0.7]), new Int32Array([0, 0, 1]), 2);
 * // normalised to [0.2, 0.6, 1]: s.mean = [0.4, 1], s.max = [0.6, 1], s.min = [0.2, 1]
 * ```
 */
export function attentionStatistics(
  wAvg: Float32Array,
  labels: Int32Array,
  numClasses: number,
  options: NormalizeAttentionOptions = {},
): AttentionStatistics {
  assertNumClasses(numClasses);
  if (!(wAvg instanceof Float32Array)) throw new TypeError(`wAvg must be a Float32Array, got ${String(wAvg)}`);
  if (!(labels instanceof Int32Array)) throw new TypeError(`labels must be an Int32Array, got ${String(labels)}`);
  if (wAvg.length !== labels.length) {
    throw new RangeError(`wAvg and labels must have the same length, got ${wAvg.length} and ${labels.length}`);
  }
  if (wAvg.length === 0) throw new RangeError("wAvg must hold at least one weight, got none");
  const minWeight = options.minWeight ?? NORMALIZE_ATTENTION_DEFAULTS.minWeight;
  const maxWeight = options.maxWeight ?? NORMALIZE_ATTENTION_DEFAULTS.maxWeight;
  assertWeightRange(minWeight, maxWeight);
  assertLabelValues(labels, numClasses);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < wAvg.length; i++) {
    assertFinite(wAvg[i], `wAvg[${i}]`);
    lo = Math.min(lo, wAvg[i]);
    hi = Math.max(hi, wAvg[i]);
  }
  const range = Math.max(hi - lo, NORMALIZE_ATTENTION_EPSILON);
  const sum = new Float64Array(numClasses);
  const count = new Float64Array(numClasses);
  const max = new Array<number>(numClasses).fill(-Infinity);
  const min = new Array<number>(numClasses).fill(Infinity);
  for (let i = 0; i < wAvg.length; i++) {
    const w = ((wAvg[i] - lo) / range) * (maxWeight - minWeight) + minWeight; // eq. 11 over the set
    const y = labels[i];
    sum[y] += w;
    count[y] += 1;
    max[y] = Math.max(max[y], w);
    min[y] = Math.min(min[y], w);
  }
  const empty = (k: number) => count[k] === 0;
  return {
    mean: Array.from(sum, (s, k) => (empty(k) ? NaN : s / count[k])),
    max: max.map((m, k) => (empty(k) ? NaN : m)),
    min: min.map((m, k) => (empty(k) ? NaN : m)),
  };
}

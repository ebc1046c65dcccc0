/**
 * Rank regularisation of the attention weights, eq. 9-10 of the paper, as train.py does it.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertColumn, assertFinite, assertInRange } from "./_validate.ts";
import { RANK_REGULARIZATION_DEFAULTS } from "./defaults.ts";

/** Options of {@linkcode rankRegularization}. */
export interface RankRegularizationOptions {
  /** Fraction of the batch in the high-attention group (train.py `--tops`). Default 0.7. */
  tops?: number;
  /** Margin delta of eq. 10 (train.py `--margin_1`). Default 0.07. */
  margin?: number;
  /**
   * The batch size the group sizes are computed from. Default: N, the rows of `wAvg`.
   * train.py uses its configured `args.batch_size`, which is not N for SFEW's TenCrop
   * (16 images = 160 rows: the groups are then the 11 highest and 5 lowest of the 160).
   */
  batchSize?: number;
}

export { RANK_REGULARIZATION_DEFAULTS } from "./defaults.ts";

/**
 * Rank regularisation, eq. 9-10, ported from train.py:
 * `M = floor(tops * B)` (B = `batchSize`, default N); the high group is the M largest
 * weights, the low group the `B - M` smallest; `L_RR = max(0, margin - (mean_high - mean_low))`
 * (train.py: `diff = low_mean - high_mean + margin_1; RR = diff if diff > 0 else 0`).
 *
 * The gradient reaches `wAvg` through the selected values only (as PyTorch's indexing by
 * `topk` indices does); at `diff = 0` exactly it is 0, as the code's `diff > 0` test gives.
 *
 * @param wAvg the averaged attention weights, [N, 1]
 * @returns `L_RR`, a scalar >= 0
 * @throws {RangeError} if M or B - M is 0 or more than N, or an option is out of range
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { rankRegularization } from "./rank_regularization.ts";
 * // M = floor(0.5 * 2) = 1: mean_high = 0.52, mean_low = 0.5, L_RR = 0.07 - 0.02 = 0.05
 * const rr = rankRegularization(tf.tensor2d([[0.5], [0.52]]), { tops: 0.5 });
 * ```
 */
export function rankRegularization(wAvg: tf.Tensor2D, options: RankRegularizationOptions = {}): tf.Scalar {
  const n = assertColumn(wAvg, "wAvg");
  const tops = options.tops ?? RANK_REGULARIZATION_DEFAULTS.tops;
  const margin = options.margin ?? RANK_REGULARIZATION_DEFAULTS.margin;
  const batchSize = options.batchSize ?? n;
  assertInRange(tops, 0, 1, "tops");
  assertFinite(margin, "margin");
  if (!Number.isInteger(batchSize) || batchSize < 2) {
    throw new RangeError(`batchSize must be an integer >= 2, got ${batchSize}`);
  }
  // Same expression as train.py's int(args.batch_size * args.tops) (IEEE product, truncated).
  const high = Math.floor(batchSize * tops);
  const low = batchSize - high;
  if (high < 1 || low < 1) {
    throw new RangeError(
      `rank regularisation needs both groups non-empty: floor(tops * batchSize) = floor(${tops} * ${batchSize}) = ${high} ` +
        `high and ${low} low; expected 1 <= high <= batchSize - 1 (raise batchSize or move tops away from 0 and 1)`,
    );
  }
  if (high > n || low > n) {
    throw new RangeError(
      `rank regularisation groups (${high} high, ${low} low, from batchSize ${batchSize}) must each fit in the ${n} rows of wAvg`,
    );
  }
  return tf.tidy(() => {
    const means = groupMeans(tf.reshape(wAvg, [n]), high, low); // [2] = [mean_high, mean_low]
    const [meanHigh, meanLow] = tf.unstack(means);
    const diff = tf.add(tf.sub(meanLow, meanHigh), margin); // eq. 10 inside the max
    return tf.relu(diff) as tf.Scalar; // relu' (0) = 0, as `diff > 0` in train.py
  });
}

/**
 * [mean of the `high` largest, mean of the `low` smallest] of x ([N] -> [2]), differentiable.
 * TF.js's TopK kernel has no gradient, and GatherV2 hands its integer indices an int32
 * "gradient" that `tf.grads` rejects, so `topk` + `gather` cannot sit on the taped path.
 * Inside `customGrad`'s forward function nothing is taped; the gradient is written out:
 * d mean_high / d x_i = 1/high if i is in the high group, else 0 (likewise for low), which
 * is what PyTorch's `attention_weights[top_idx]` back-propagates.
 */
function groupMeans(x: tf.Tensor1D, high: number, low: number): tf.Tensor1D {
  const n = x.shape[0];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const v = args[0] as tf.Tensor1D; // [N]
    const save = args[1] as tf.GradSaveFunc;
    const highIdx = tf.topk(v, high).indices; // [M]
    const lowIdx = tf.topk(tf.neg(v), low).indices; // [B - M], the smallest (largest=False)
    const value = tf.stack([tf.mean(tf.gather(v, highIdx)), tf.mean(tf.gather(v, lowIdx))]); // [2]
    // Selection weights: row 0 = 1/M on the high group, row 1 = 1/(B-M) on the low group. [2, N]
    const selection = tf.stack([
      tf.div(tf.sum(tf.oneHot(highIdx, n).toFloat(), 0), high),
      tf.div(tf.sum(tf.oneHot(lowIdx, n).toFloat(), 0), low),
    ]);
    save([selection]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.sum(tf.mul(tf.reshape(dy, [2, 1]), saved[0]), 0), // [N]
    };
  });
  return f(x) as tf.Tensor1D;
}

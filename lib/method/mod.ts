/**
 * The Ada-DF method (Liu et al., "Ada-DF: An Adaptive Label Distribution Fusion Network
 * for Facial Expression Recognition"), one equation per file. Tensor functions take and
 * return TF.js tensors, wrap their math in `tf.tidy` and are differentiable; the per-epoch
 * statistics (class distribution mining, attention statistics) work on plain arrays.
 *
 * | file | equations |
 * | --- | --- |
 * | label_distribution.ts | eq. 1-2, `labelDistribution` |
 * | cross_entropy.ts | eq. 3, `crossEntropy` |
 * | class_distributions.ts | eq. 4-7, `mineClassDistributions`, `ClassDistributionMiner`, `thresholdRow` |
 * | attention.ts | eq. 8, `averageAttention` (and `averageAttentionValues` on plain numbers) |
 * | rank_regularization.ts | eq. 9-10, `rankRegularization` |
 * | normalize_attention.ts | eq. 11, `normalizeAttention` (and `normalizeAttentionValues` on plain numbers) |
 * | fusion.ts | eq. 12, `fuseDistributions` (and `fuseDistributionValues` for one sample) |
 * | kl_loss.ts | eq. 13, `klDivergenceLoss` |
 * | loss_weights.ts | eq. 15-16, `lossWeights` |
 * | adadf_loss.ts | eq. 14, the whole per-batch loss `adaDfLoss` |
 * | attention_statistics.ts | per-class attention statistics train.py logs |
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adaDfLoss, initialClassDistributions } from "./mod.ts";
 *
 * const classDistributions = tf.tensor2d(initialClassDistributions(2, 0.7)); // [C, C]
 * const grads = tf.grads((aux: tf.Tensor, tar: tf.Tensor) =>
 *   adaDfLoss({
 *     auxLogits: aux as tf.Tensor2D,
 *     tarLogits: tar as tf.Tensor2D,
 *     wAux: tf.tensor2d([[0.9], [0.5], [0.2]]),
 *     wTar: tf.tensor2d([[0.8], [0.6], [0.3]]),
 *     labels: tf.tensor1d([0, 1, 1], "int32"),
 *     classDistributions,
 *   }, { epoch: 1, beta: 3 }).total
 * );
 * const [dAux, dTar] = grads([tf.tensor2d([[2, 0], [0, 1], [1, 1]]), tf.tensor2d([[1, 0], [0, 2], [0, 0]])]);
 * ```
 * @module
 */
export { labelDistribution } from "./label_distribution.ts";
export { crossEntropy } from "./cross_entropy.ts";
export { averageAttention, averageAttentionValues } from "./attention.ts";
export { RANK_REGULARIZATION_DEFAULTS, rankRegularization } from "./rank_regularization.ts";
export type { RankRegularizationOptions } from "./rank_regularization.ts";
export {
  NORMALIZE_ATTENTION_DEFAULTS,
  NORMALIZE_ATTENTION_EPSILON,
  normalizeAttention,
  normalizeAttentionValues,
} from "./normalize_attention.ts";
export type { NormalizeAttentionOptions } from "./normalize_attention.ts";
export { fuseDistributions, fuseDistributionValues } from "./fusion.ts";
export { klDivergenceLoss } from "./kl_loss.ts";
export type { KlDivergenceLossOptions } from "./kl_loss.ts";
export { lossWeights } from "./loss_weights.ts";
export type { LossWeights } from "./loss_weights.ts";
export {
  ClassDistributionMiner,
  initialClassDistributions,
  mineClassDistributions,
  thresholdRow,
} from "./class_distributions.ts";
export type { ClassDistributions, MineClassDistributionsOptions, ThresholdRows } from "./class_distributions.ts";
export { attentionStatistics } from "./attention_statistics.ts";
export type { AttentionStatistics } from "./attention_statistics.ts";
export { adaDfLoss } from "./adadf_loss.ts";
export { TRAIN_MODES } from "./defaults.ts";
export type { AdaDfLossInputs, AdaDfLossOptions, AdaDfLossParts, TrainMode } from "./adadf_loss.ts";

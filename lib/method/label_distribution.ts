/**
 * Label distributions, eq. 1-2 of the paper: the auxiliary branch's softmax.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertMatrix } from "./_validate.ts";

/**
 * Label distribution of each sample, eq. 1-2: `d_label = softmax(aux_logits)` over classes
 * (train.py: `F.softmax(outputs_1, dim=1)`).
 *
 * @param auxLogits auxiliary-branch logits, [N, C]
 * @returns the label distributions, [N, C]; each row sums to 1
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { labelDistribution } from "./label_distribution.ts";
 * const d = labelDistribution(tf.tensor2d([[0, 0]])); // [[0.5, 0.5]]
 * ```
 */
export function labelDistribution(auxLogits: tf.Tensor2D): tf.Tensor2D {
  assertMatrix(auxLogits, "auxLogits");
  return tf.tidy(() => tf.softmax(auxLogits, -1)); // [N, C]
}

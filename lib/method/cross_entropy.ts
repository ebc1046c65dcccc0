/**
 * Cross-entropy loss, eq. 3 of the paper.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertLabelTensor, assertMatrix } from "./_validate.ts";

/**
 * Mean cross-entropy of the logits against integer labels, eq. 3:
 * `L_ce = -(1/N) sum_i log softmax(logits_i)[y_i]`
 * (train.py: `nn.CrossEntropyLoss(reduction='none')(outputs_1, labels).mean()`).
 * Computed with `logSoftmax`, so large logits do not overflow.
 *
 * @param logits [N, C]
 * @param labels int32 class indices in [0, C), [N]
 * @returns the mean loss, a scalar
 * @throws {TypeError} if `labels` is not int32
 * @throws {RangeError} if a shape is wrong or a label is out of range
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { crossEntropy } from "./cross_entropy.ts";
 * const l = crossEntropy(tf.tensor2d([[0, 0]]), tf.tensor1d([1], "int32")); // ln 2
 * ```
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const [n, c] = assertMatrix(logits, "logits");
  assertLabelTensor(labels, n, c);
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits, -1); // [N, C]
    const oneHot = tf.oneHot(labels, c).toFloat(); // [N, C]
    const picked = tf.sum(tf.mul(oneHot, logProbs), 1); // [N] log p(y_i)
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

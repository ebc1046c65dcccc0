/**
 * KL-divergence loss of the target branch against the fused distributions, eq. 13.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertMatrix, assertShape } from "./_validate.ts";

/** Options of {@linkcode klDivergenceLoss}. */
export interface KlDivergenceLossOptions {
  /**
   * What the summed divergence is divided by. Default N, the rows of `target`. train.py
   * divides by its configured `args.batch_size`, which is not N for SFEW's TenCrop (16, not 160).
   */
  divisor?: number;
}

/**
 * KL-divergence loss, eq. 13 with the code's sign (+KL; the paper prints its negative):
 * `L_kld = (1/divisor) sum_{i,c} t_ic (log t_ic - log softmax(logits_i)_c)`
 * (train.py: `nn.KLDivLoss(reduction='none')(F.log_softmax(outputs_2, dim=1), targets).sum() / batch_size`).
 *
 * As in PyTorch's `KLDivLoss`, `0 * log 0 = 0`: a zero target entry adds nothing, and its
 * gradient with respect to the target is finite (`-log p`) instead of NaN.
 *
 * @param target the target distributions, [N, C] (rows summing to 1; not checked)
 * @param logits the target branch's logits, [N, C]
 * @returns the loss, a scalar
 * @throws {RangeError} if the shapes differ or the divisor is not a positive finite number
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { klDivergenceLoss } from "./kl_loss.ts";
 * // target = softmax(logits): the divergence is 0
 * const l = klDivergenceLoss(tf.tensor2d([[0.5, 0.5]]), tf.tensor2d([[3, 3]]));
 * ```
 */
export function klDivergenceLoss(
  target: tf.Tensor2D,
  logits: tf.Tensor2D,
  options: KlDivergenceLossOptions = {},
): tf.Scalar {
  const [n] = assertMatrix(target, "target");
  assertMatrix(logits, "logits");
  assertShape(logits, target.shape, "logits");
  const divisor = options.divisor ?? n;
  if (typeof divisor !== "number" || !Number.isFinite(divisor) || divisor <= 0) {
    throw new RangeError(`divisor must be a positive finite number, got ${divisor}`);
  }
  return tf.tidy(() => {
    // t log t with 0 log 0 = 0 (PyTorch's xlogy); log of a safe 1 where t <= 0 keeps the
    // unused branch's gradient finite. greaterEqual, not greater: TF.js's Greater kernel
    // has no gradient, and the mask is on the taped path when the target is differentiated.
    const notPositive = tf.greaterEqual(0, target); // [N, C]
    const safe = tf.where(notPositive, tf.onesLike(target), target); // [N, C]
    const tLogT = tf.where(notPositive, tf.zerosLike(target), tf.mul(target, tf.log(safe))); // [N, C]
    const logP = tf.logSoftmax(logits, -1); // [N, C]
    const pointwise = tf.sub(tLogT, tf.mul(target, logP)); // [N, C], KLDivLoss(reduction='none')
    return tf.div(tf.sum(pointwise), divisor) as tf.Scalar;
  });
}

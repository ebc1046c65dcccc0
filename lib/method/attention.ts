/**
 * Averaged attention weight of the two branches, eq. 8 of the paper.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertColumn } from "./_validate.ts";

/**
 * Average of the auxiliary and target branches' attention weights, eq. 8:
 * `w_avg = (w_aux + w_tar) / 2` (model.py: `(attention_weights_1 + attention_weights_2) / 2`).
 *
 * @param wAux auxiliary-branch attention (sigmoid outputs), [N, 1]
 * @param wTar target-branch attention, [N, 1]
 * @returns the averaged weights, [N, 1]
 * @throws {RangeError} if either is not [N, 1] or their N differ
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { averageAttention } from "./attention.ts";
 * const w = averageAttention(tf.tensor2d([[0.2]]), tf.tensor2d([[0.6]])); // [[0.4]]
 * ```
 */
export function averageAttention(wAux: tf.Tensor2D, wTar: tf.Tensor2D): tf.Tensor2D {
  const n = assertColumn(wAux, "wAux");
  assertColumn(wTar, "wTar", n);
  return tf.tidy(() => tf.div(tf.add(wAux, wTar), 2)); // [N, 1]
}

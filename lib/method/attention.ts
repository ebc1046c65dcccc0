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

/**
 * Eq. 8 on plain numbers: `(w_aux + w_tar) / 2` element-wise. Float32Array inputs (a forward
 * pass's read-back) give a Float32Array, as the model would compute it; plain numbers stay
 * float64 (the tracked samples' record).
 *
 * @example
 * ```ts
 * import { averageAttentionValues } from "./attention.ts";
 * const [w] = averageAttentionValues([0.2], [0.6]);
 * if (Math.abs(w - 0.4) > 1e-12) throw new Error("the mean of the two branches");
 * ```
 */
export function averageAttentionValues(wAux: Float32Array, wTar: ArrayLike<number>): Float32Array;
export function averageAttentionValues(wAux: readonly number[], wTar: ArrayLike<number>): number[];
export function averageAttentionValues(
  wAux: Float32Array | readonly number[],
  wTar: ArrayLike<number>,
): Float32Array | number[] {
  if (wAux.length !== wTar.length) {
    throw new RangeError(`wAux has ${wAux.length} values, wTar ${wTar.length}: expected equal`);
  }
  return wAux instanceof Float32Array ? wAux.map((v, i) => (v + wTar[i]) / 2) : wAux.map((v, i) => (v + wTar[i]) / 2);
}

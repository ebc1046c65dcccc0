/**
 * Adaptive fusion of the class and label distributions, eq. 12 of the paper.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertColumn, assertMatrix, assertShape } from "./_validate.ts";

/**
 * Adaptive distribution fusion, eq. 12: `d_fused = w * d_class[y] + (1 - w) * d_label`
 * (train.py: `targets = (1 - w) * F.softmax(outputs_1, dim=1) + w * LD[labels]`).
 * Not detached: the gradient reaches all three inputs.
 *
 * @param labelDist label distributions of the samples, [N, C]
 * @param classDistOfLabel the class distribution of each sample's label, `d_class[y]`, [N, C]
 * @param weight the normalised attention weights w, [N, 1]
 * @returns the fused distributions, [N, C]
 * @throws {RangeError} if the shapes do not match
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fuseDistributions } from "./fusion.ts";
 * // 0.25 * [1, 0] + 0.75 * [0.5, 0.5] = [0.625, 0.375]
 * const d = fuseDistributions(tf.tensor2d([[0.5, 0.5]]), tf.tensor2d([[1, 0]]), tf.tensor2d([[0.25]]));
 * ```
 */
export function fuseDistributions(
  labelDist: tf.Tensor2D,
  classDistOfLabel: tf.Tensor2D,
  weight: tf.Tensor2D,
): tf.Tensor2D {
  const [n] = assertMatrix(labelDist, "labelDist");
  assertMatrix(classDistOfLabel, "classDistOfLabel");
  assertShape(classDistOfLabel, labelDist.shape, "classDistOfLabel");
  assertColumn(weight, "weight", n);
  return tf.tidy(() => tf.add(tf.mul(weight, classDistOfLabel), tf.mul(tf.sub(1, weight), labelDist)) // [N, C]
  );
}

/**
 * Eq. 12 for one sample on plain numbers: `w * classRow + (1 - w) * labelDist` ([C] each).
 *
 * @example
 * ```ts
 * import { fuseDistributionValues } from "./fusion.ts";
 * const fused = fuseDistributionValues([1, 0], [0.5, 0.5], 0.4);
 * if (Math.abs(fused[0] - 0.8) > 1e-12) throw new Error("0.4 * 0.5 + 0.6 * 1");
 * ```
 */
export function fuseDistributionValues(labelDist: readonly number[], classRow: readonly number[], w: number): number[] {
  if (labelDist.length !== classRow.length) {
    throw new RangeError(`labelDist has ${labelDist.length} entries, classRow ${classRow.length}: expected equal`);
  }
  return labelDist.map((p, j) => w * classRow[j] + (1 - w) * p);
}

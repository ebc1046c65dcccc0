/**
 * Synthetic label noise, as in the paper's noisy-label experiments (after RUL/SCN/EAC):
 * a fixed share of each class's training labels is replaced by a random other class.
 *
 * @module
 */
import type { Prng } from "../util/prng.ts";

/**
 * Flips `rate` of the labels of every class: within each class, floor(rate * count) labels
 * chosen uniformly at random are replaced by a different class drawn uniformly from the
 * other `numClasses - 1`. Per-class flooring (not rounding) means a class never loses more
 * than the stated share, and a class with fewer than 1 / rate samples keeps all its labels.
 * The input is not mutated. `flipped` lists the changed indices in increasing order.
 *
 * @example
 * ```ts
 * import { flipLabels } from "./label_noise.ts";
 * import { Prng } from "../util/prng.ts";
 * const labels = Int32Array.from({ length: 100 }, (_, i) => i % 4);
 * const { labels: noisy, flipped } = flipLabels(labels, 0.2, 4, new Prng(0));
 * if (flipped.length !== 20) throw new Error("5 of each class's 25 labels should flip");
 * if (flipped.some((i) => noisy[i] === labels[i])) throw new Error("a flip always changes the class");
 * ```
 */
export function flipLabels(
  labels: Int32Array,
  rate: number,
  numClasses: number,
  prng: Prng,
): { labels: Int32Array; flipped: Int32Array } {
  if (typeof rate !== "number" || !(rate >= 0 && rate < 1)) {
    throw new RangeError(`rate must be in [0, 1), got ${rate}`);
  }
  if (!(Number.isInteger(numClasses) && numClasses >= 2)) {
    throw new RangeError(`numClasses must be an integer >= 2 (a flip needs another class), got ${numClasses}`);
  }
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!(Number.isInteger(c) && c >= 0 && c < numClasses)) {
      throw new RangeError(`labels[${i}] = ${c} is not a class index in [0, ${numClasses})`);
    }
    byClass[c].push(i);
  }
  const out = Int32Array.from(labels);
  const flipped: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const members = prng.shuffle(byClass[c].slice());
    const k = Math.floor(rate * members.length);
    for (let j = 0; j < k; j++) {
      const i = members[j];
      // uniform over the other classes: draw from numClasses - 1 and skip c
      const r = prng.int(numClasses - 1);
      out[i] = r >= c ? r + 1 : r;
      flipped.push(i);
    }
  }
  return { labels: out, flipped: Int32Array.from(flipped.sort((a, b) => a - b)) };
}

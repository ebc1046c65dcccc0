/**
 * Class-balanced sampling per epoch, as the official code samples AffectNet (dataset.py,
 * CustomDownSampler): every epoch, each class contributes the size of the smallest class,
 * drawn without replacement from its samples, and the concatenation is shuffled. An epoch
 * therefore holds `min_c n_c * C` samples (C = the classes present); the loader then drops
 * the last incomplete batch (`drop_last=True`).
 *
 * @module
 */
import type { Prng } from "../util/prng.ts";

/**
 * The sample indices of one class-balanced epoch: for each class present in `labels` (in
 * increasing class order), `m = min_c count(c)` of its indices drawn uniformly without
 * replacement; then all `m * C` indices shuffled. Draw a new epoch from the same `prng` each
 * time.
 *
 * @example
 * ```ts
 * import { balancedEpochIndices } from "./sampling.ts";
 * import { Prng } from "../util/prng.ts";
 * const labels = Int32Array.from([0, 0, 0, 0, 1, 1, 2, 2, 2]);
 * const idx = balancedEpochIndices(labels, new Prng(0));
 * // the smallest class has 2 samples, so 2 of each of the 3 classes
 * if (idx.length !== 6) throw new Error("expected 6");
 * ```
 */
export function balancedEpochIndices(labels: Int32Array, prng: Prng): Int32Array {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!(Number.isInteger(c) && c >= 0)) throw new RangeError(`labels[${i}] = ${c} is not a class index`);
    let list = byClass.get(c);
    if (!list) byClass.set(c, list = []);
    list.push(i);
  }
  if (byClass.size === 0) return new Int32Array(0);
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const m = Math.min(...classes.map((c) => byClass.get(c)!.length));
  const out = new Int32Array(m * classes.length);
  let k = 0;
  for (const c of classes) {
    const members = byClass.get(c)!;
    // partial Fisher-Yates: the first m entries are a uniform draw without replacement
    for (let j = 0; j < m; j++) {
      const r = j + prng.int(members.length - j);
      const t = members[j];
      members[j] = members[r];
      members[r] = t;
      out[k++] = members[j];
    }
  }
  return prng.shuffle(out);
}

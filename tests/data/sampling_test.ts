import assert from "node:assert/strict";
import { balancedEpochIndices } from "../../lib/data/sampling.ts";
import { Prng } from "../../lib/util/prng.ts";

/** Class c has counts[c] samples, shuffled. */
function labelsOf(counts: number[]): Int32Array {
  return new Prng(3).shuffle(Int32Array.from(counts.flatMap((n, c) => new Array<number>(n).fill(c))));
}

Deno.test("balancedEpochIndices() draws min-class-size samples of every class, without repeats", () => {
  const labels = labelsOf([40, 9, 25, 100, 13, 9, 60]);
  const idx = balancedEpochIndices(labels, new Prng(0));
  assert.equal(idx.length, 9 * 7);
  assert.equal(new Set(idx).size, idx.length, "no index twice in an epoch");
  const per = new Array(7).fill(0);
  for (const i of idx) per[labels[i]]++;
  assert.deepEqual(per, new Array(7).fill(9));
});

Deno.test("balancedEpochIndices() shuffles the classes together and varies across epochs, reproducibly", () => {
  const labels = labelsOf([50, 10, 30]);
  const prng = new Prng(7);
  const a = balancedEpochIndices(labels, prng);
  const b = balancedEpochIndices(labels, prng);
  assert.notDeepEqual([...a], [...b]);
  assert.deepEqual([...a], [...balancedEpochIndices(labels, new Prng(7))]);
  // not grouped by class: the first 10 are not all one class
  assert.ok(new Set([...a.subarray(0, 10)].map((i) => labels[i])).size > 1);
});

Deno.test("balancedEpochIndices() draws each sample of a large class about equally often", () => {
  const labels = labelsOf([100, 10]);
  const seen = new Map<number, number>();
  const prng = new Prng(1);
  for (let e = 0; e < 1000; e++) {
    for (const i of balancedEpochIndices(labels, prng)) if (labels[i] === 0) seen.set(i, (seen.get(i) ?? 0) + 1);
  }
  // each of the 100 is drawn with probability 10/100 per epoch: ~100 times in 1000 epochs
  assert.equal(seen.size, 100);
  for (const n of seen.values()) assert.ok(n > 55 && n < 150, `drawn ${n} times`);
});

Deno.test("balancedEpochIndices() uses only the classes present and handles empty input", () => {
  const labels = Int32Array.from([0, 0, 2, 2, 2, 5]);
  const idx = balancedEpochIndices(labels, new Prng(0));
  assert.deepEqual([...idx].map((i) => labels[i]).sort(), [0, 2, 5]);
  assert.equal(balancedEpochIndices(new Int32Array(0), new Prng(0)).length, 0);
  assert.throws(() => balancedEpochIndices(Int32Array.from([0, -1]), new Prng(0)), RangeError);
});

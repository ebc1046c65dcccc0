import assert from "node:assert/strict";
import { flipLabels } from "../../lib/data/label_noise.ts";
import { Prng } from "../../lib/util/prng.ts";

/** 7 classes with uneven counts: 0 x 50, 1 x 13, 2 x 7, 3 x 120, 4 x 31, 5 x 3, 6 x 76. */
function unevenLabels(): Int32Array {
  const counts = [50, 13, 7, 120, 31, 3, 76];
  const labels = counts.flatMap((n, c) => new Array<number>(n).fill(c));
  return new Prng(1).shuffle(Int32Array.from(labels));
}

function countsOf(labels: ArrayLike<number>, k: number): number[] {
  const out = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) out[labels[i]]++;
  return out;
}

Deno.test("flipLabels() flips floor(rate * count) labels within each class", () => {
  const labels = unevenLabels();
  const before = countsOf(labels, 7);
  for (const rate of [0, 0.1, 0.2, 0.3, 0.5, 0.9]) {
    const { labels: noisy, flipped } = flipLabels(labels, rate, 7, new Prng(5));
    const perClass = new Array<number>(7).fill(0);
    for (const i of flipped) perClass[labels[i]]++;
    assert.deepEqual(perClass, before.map((n) => Math.floor(rate * n)), `rate ${rate}`);
    // exactly the listed indices changed
    const changed = [...noisy.keys()].filter((i) => noisy[i] !== labels[i]);
    assert.deepEqual(changed, [...flipped]);
  }
});

Deno.test("flipLabels() never flips a label to its own class", () => {
  for (let seed = 0; seed < 20; seed++) {
    const labels = unevenLabels();
    const { labels: noisy, flipped } = flipLabels(labels, 0.4, 7, new Prng(seed));
    for (const i of flipped) {
      assert.notEqual(noisy[i], labels[i]);
      assert.ok(noisy[i] >= 0 && noisy[i] < 7);
    }
  }
});

Deno.test("flipLabels() spreads flips uniformly over the other classes", () => {
  const labels = new Int32Array(60000); // all class 0
  const { labels: noisy } = flipLabels(labels, 0.5, 4, new Prng(2));
  const counts = countsOf(noisy, 4);
  assert.equal(counts[0], 30000);
  for (const c of [1, 2, 3]) assert.ok(Math.abs(counts[c] - 10000) < 400, `class ${c}: ${counts[c]}`);
});

Deno.test("flipLabels() does not mutate its input and is deterministic for a seed", () => {
  const labels = unevenLabels();
  const copy = Int32Array.from(labels);
  const a = flipLabels(labels, 0.3, 7, new Prng(11));
  const b = flipLabels(labels, 0.3, 7, new Prng(11));
  assert.deepEqual(labels, copy);
  assert.notEqual(a.labels, labels);
  assert.deepEqual(a.labels, b.labels);
  assert.deepEqual(a.flipped, b.flipped);
  assert.ok(a.flipped.every((v, i) => i === 0 || v > a.flipped[i - 1]), "flipped is sorted");
});

Deno.test("flipLabels() rejects a rate outside [0, 1) and labels outside the classes with RangeError", () => {
  const labels = Int32Array.from([0, 1, 2]);
  for (const rate of [-0.1, 1, 1.5, NaN]) {
    assert.throws(() => flipLabels(labels, rate, 3, new Prng(0)), RangeError, `rate ${rate}`);
  }
  assert.throws(() => flipLabels(labels, 0.1, 2, new Prng(0)), RangeError);
  assert.throws(() => flipLabels(labels, 0.1, 1, new Prng(0)), RangeError);
});

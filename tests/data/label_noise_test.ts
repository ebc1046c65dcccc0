import assert from "node:assert/strict";
import { applyNoiseFile, flipLabels, parseNoiseFile } from "../../lib/data/label_noise.ts";
import { DatasetError } from "../../lib/data/readers/types.ts";
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

Deno.test("parseNoiseFile() reads EAC's noise01.txt lines (RAF-DB ids 1..7) with file:line", () => {
  const entries = parseNoiseFile("train_00001.jpg 5\ntrain_00002.jpg 5\ntrain_00003.jpg 4\n", "EmoLabel/noise01.txt");
  assert.deepEqual(entries, [
    { name: "train_00001.jpg", label: 4, at: "EmoLabel/noise01.txt:1" },
    { name: "train_00002.jpg", label: 4, at: "EmoLabel/noise01.txt:2" },
    { name: "train_00003.jpg", label: 3, at: "EmoLabel/noise01.txt:3" },
  ]);
  assert.throws(
    () => parseNoiseFile("train_00001.jpg 5\ntrain_00002.jpg 9\n", "noise01.txt"),
    (e: Error) => e instanceof DatasetError && /noise01\.txt:2: unknown label id '9'/.test(e.message),
  );
});

Deno.test("applyNoiseFile() relabels the listed training images and records which changed", () => {
  const train = {
    ids: ["train_00001.jpg", "train_00002.jpg", "train_00003.jpg", "train_00004.jpg"],
    labels: Int32Array.from([4, 4, 3, 6]),
  };
  const entries = parseNoiseFile("train_00001.jpg 5\ntrain_00002.jpg 1\ntrain_00004.jpg 4\n", "noise01.txt");
  const { labels, flipped } = applyNoiseFile(train, entries);
  assert.deepEqual([...labels], [4, 0, 3, 3]);
  assert.deepEqual([...flipped], [1, 3]);
  assert.deepEqual([...train.labels], [4, 4, 3, 6], "input not mutated");
});

Deno.test("applyNoiseFile() is an error for a name outside the training split, unless it was skipped", () => {
  const train = { ids: ["train_00001.jpg"], labels: Int32Array.from([0]) };
  const test = parseNoiseFile("train_00001.jpg 2\ntest_0001.jpg 3\n", "noise01.txt");
  assert.throws(() => applyNoiseFile(train, test), /noise01\.txt:2: test_0001\.jpg is not in the training split/);
  const gone = parseNoiseFile("train_00001.jpg 2\ntrain_00002.jpg 3\n", "noise01.txt");
  assert.throws(() => applyNoiseFile(train, gone), /noise01\.txt:2: train_00002\.jpg is not in the training split/);
  const r = applyNoiseFile(train, gone, { skipped: ["train_00002.jpg"] });
  assert.deepEqual([...r.labels], [1]);
});

import assert from "node:assert/strict";
import {
  ClassDistributionMiner,
  initialClassDistributions,
  mineClassDistributions,
  thresholdRow,
} from "../../lib/method/class_distributions.ts";
import { assertClose } from "./_helpers.ts";

Deno.test("thresholdRow() puts t on the class and (1 - t)/(C - 1) elsewhere by default (paper, eq. 7)", () => {
  // C = 7, t = 0.7: 0.3 / 6 = 0.05
  const row = thresholdRow(2, 7, 0.7);
  assertClose(row, [0.05, 0.05, 0.7, 0.05, 0.05, 0.05, 0.05], 1e-15);
  assertClose(row.reduce((a, b) => a + b, 0), 1, 1e-12);
  assertClose(thresholdRow(2, 4, 0.5, "paper"), [1 / 6, 1 / 6, 0.5, 1 / 6], 1e-15);
});

Deno.test('thresholdRow() puts 0.4/(C - 1) off the class with rows = "code" (utils.py)', () => {
  // C = 7: 0.4 / 6 = 0.0666667; the row sums to 0.7 + 0.4 = 1.1
  const row = thresholdRow(0, 7, 0.7, "code");
  assertClose(row, [0.7, 0.4 / 6, 0.4 / 6, 0.4 / 6, 0.4 / 6, 0.4 / 6, 0.4 / 6], 1e-15);
  assertClose(row.reduce((a, b) => a + b, 0), 1.1, 1e-12);
});

Deno.test("thresholdRow() rejects a bad class, class count, threshold or row kind", () => {
  assert.throws(() => thresholdRow(3, 3, 0.7), { name: "RangeError", message: /c must be a class index in \[0, 3\)/ });
  assert.throws(() => thresholdRow(0, 1, 0.7), { name: "RangeError", message: /numClasses must be an integer >= 2/ });
  assert.throws(() => thresholdRow(0, 3, 1.2), { name: "RangeError", message: /threshold must be in \[0, 1\]/ });
  assert.throws(() => thresholdRow(0, 3, 0.7, "both" as "paper"), { name: "RangeError", message: /"paper" or "code"/ });
});

Deno.test("initialClassDistributions() is the paper's threshold row for every class", () => {
  // C = 3, t = 0.7: off-diagonal (1 - 0.7) / 2 = 0.15
  const d = initialClassDistributions(3, 0.7);
  assertClose(d.flat(), [0.7, 0.15, 0.15, 0.15, 0.7, 0.15, 0.15, 0.15, 0.7], 1e-12);
});

// C = 3, t = 0.5. Class 0: two samples, mean [0.7, 0.2, 0.1] (diagonal 0.7 >= 0.5: mined).
// Class 1: one sample [0.25, 0.5, 0.25] (diagonal exactly 0.5: >= t, mined).
// Class 2: two samples, mean [0.375, 0.375, 0.25] (diagonal 0.25 < 0.5: replaced).
const PROBS = new Float32Array([
  0.8,
  0.1,
  0.1, // y = 0
  0.5,
  0.25,
  0.25, // y = 2
  0.25,
  0.5,
  0.25, // y = 1
  0.6,
  0.3,
  0.1, // y = 0
  0.25,
  0.5,
  0.25, // y = 2
]);
const LABELS = new Int32Array([0, 2, 1, 0, 2]);

Deno.test("mineClassDistributions() keeps a class mean whose diagonal is >= t (eq. 4-6)", () => {
  const d = mineClassDistributions(PROBS, LABELS, 3, { threshold: 0.5 });
  assert.deepEqual(d.mined, [true, true, false]);
  assert.deepEqual(d.counts, [2, 1, 2]);
  assertClose(d.diagonal, [0.7, 0.5, 0.25], 1e-7);
  assertClose(d.rows[0], [0.7, 0.2, 0.1], 1e-7);
  assertClose(d.rows[1], [0.25, 0.5, 0.25], 1e-7);
});

Deno.test("mineClassDistributions() replaces an unconfident class by the paper row by default", () => {
  const d = mineClassDistributions(PROBS, LABELS, 3, { threshold: 0.5 });
  assertClose(d.rows[2], [0.25, 0.25, 0.5], 1e-15); // (1 - 0.5) / 2 = 0.25
  const explicit = mineClassDistributions(PROBS, LABELS, 3, { threshold: 0.5, thresholdRows: "paper" });
  assert.deepEqual(explicit, d);
});

Deno.test('mineClassDistributions() replaces by the code\'s row with thresholdRows = "code"', () => {
  const d = mineClassDistributions(PROBS, LABELS, 3, { threshold: 0.5, thresholdRows: "code" });
  assertClose(d.rows[2], [0.2, 0.2, 0.5], 1e-15); // 0.4 / 2 = 0.2
  assertClose(d.rows[0], [0.7, 0.2, 0.1], 1e-7); // mined rows do not depend on the option
});

Deno.test("mineClassDistributions() replaces a class with no sample and reports its diagonal as NaN", () => {
  const d = mineClassDistributions(new Float32Array([0.9, 0.05, 0.05, 0.1, 0.8, 0.1]), new Int32Array([0, 1]), 3, {
    threshold: 0.7,
  });
  assert.deepEqual(d.mined, [true, true, false]);
  assert.deepEqual(d.counts, [1, 1, 0]);
  assert.ok(Number.isNaN(d.diagonal[2]));
  assertClose(d.rows[2], [0.15, 0.15, 0.7], 1e-12);
});

Deno.test("ClassDistributionMiner streams batches to the same result as one call", () => {
  const miner = new ClassDistributionMiner(3, { threshold: 0.5, thresholdRows: "code" });
  miner.add(PROBS.subarray(0, 6), LABELS.subarray(0, 2));
  miner.add(PROBS.subarray(6), LABELS.subarray(2));
  assert.equal(miner.count, 5);
  assert.deepEqual(miner.result(), mineClassDistributions(PROBS, LABELS, 3, { threshold: 0.5, thresholdRows: "code" }));
  miner.reset();
  assert.equal(miner.count, 0);
  assert.deepEqual(miner.result().mined, [false, false, false]);
});

Deno.test("ClassDistributionMiner.add() rejects a bad batch and keeps its state", () => {
  const miner = new ClassDistributionMiner(3, { threshold: 0.5 });
  miner.add(PROBS.subarray(0, 3), LABELS.subarray(0, 1));
  assert.throws(() => miner.add(new Float32Array(5), new Int32Array(2)), {
    name: "RangeError",
    message: /N \* C = 2 \* 3 = 6 values.*got 5/,
  });
  assert.throws(() => miner.add(new Float32Array(3), new Int32Array([3])), {
    name: "RangeError",
    message: /labels\[0\] must be an integer class index in \[0, 3\), got 3/,
  });
  assert.throws(() => miner.add(new Float32Array([NaN, 0, 0]), new Int32Array([0])), {
    name: "RangeError",
    message: /probs\[0\] must be a finite number/,
  });
  assert.throws(() => miner.add([0.1, 0.2, 0.7] as unknown as Float32Array, new Int32Array([0])), TypeError);
  assert.equal(miner.count, 1);
});

Deno.test("ClassDistributionMiner rejects bad construction options", () => {
  assert.throws(() => new ClassDistributionMiner(1, { threshold: 0.5 }), RangeError);
  assert.throws(() => new ClassDistributionMiner(3, { threshold: -0.1 }), { name: "RangeError", message: /threshold/ });
  assert.throws(() => new ClassDistributionMiner(3, { threshold: 0.5, thresholdRows: "x" as "code" }), RangeError);
  assert.throws(() => new ClassDistributionMiner(3, undefined as unknown as { threshold: number }), TypeError);
});

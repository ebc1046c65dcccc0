import assert from "node:assert/strict";
import { attentionStatistics } from "../../lib/method/attention_statistics.ts";
import { assertClose } from "./_helpers.ts";

Deno.test("attentionStatistics() normalises over the whole set, then takes per-class mean, max and min", () => {
  // [0.3, 0.5, 0.7] -> (x - 0.3) / 0.4 * 0.8 + 0.2 = [0.2, 0.6, 1]; class 0 = {0.2, 0.6}, class 1 = {1}
  const s = attentionStatistics(new Float32Array([0.3, 0.5, 0.7]), new Int32Array([0, 0, 1]), 2);
  assertClose(s.mean, [0.4, 1], 1e-6);
  assertClose(s.max, [0.6, 1], 1e-6);
  assertClose(s.min, [0.2, 1], 1e-6);
});

Deno.test("attentionStatistics() honours minWeight and maxWeight", () => {
  // minWeight 0.4: [0.4, 0.7, 1]; minWeight 0.2, maxWeight 0.9: [0.2, 0.55, 0.9]
  const a = attentionStatistics(new Float32Array([0.3, 0.5, 0.7]), new Int32Array([0, 0, 1]), 2, { minWeight: 0.4 });
  assertClose(a.mean, [0.55, 1], 1e-6);
  const b = attentionStatistics(new Float32Array([0.3, 0.5, 0.7]), new Int32Array([1, 0, 1]), 2, {
    minWeight: 0.2,
    maxWeight: 0.9,
  });
  assertClose(b.mean, [0.55, 0.55], 1e-6);
  assertClose(b.max, [0.55, 0.9], 1e-6);
  assertClose(b.min, [0.55, 0.2], 1e-6);
});

Deno.test("attentionStatistics() reports NaN for a class with no sample and minWeight for a constant set", () => {
  const s = attentionStatistics(new Float32Array([0.3, 0.7]), new Int32Array([0, 1]), 3);
  assert.ok(Number.isNaN(s.mean[2]) && Number.isNaN(s.max[2]) && Number.isNaN(s.min[2]));
  const flat = attentionStatistics(new Float32Array([0.5, 0.5]), new Int32Array([0, 1]), 2);
  assertClose(flat.mean, [0.2, 0.2], 1e-7);
});

Deno.test("attentionStatistics() rejects mismatched, empty or invalid input", () => {
  assert.throws(() => attentionStatistics(new Float32Array(2), new Int32Array(3), 2), {
    name: "RangeError",
    message: /same length, got 2 and 3/,
  });
  assert.throws(() => attentionStatistics(new Float32Array(0), new Int32Array(0), 2), RangeError);
  assert.throws(() => attentionStatistics(new Float32Array([0.5]), new Int32Array([2]), 2), RangeError);
  assert.throws(() => attentionStatistics(new Float32Array([NaN]), new Int32Array([0]), 2), RangeError);
  assert.throws(
    () => attentionStatistics(new Float32Array([0.5]), new Int32Array([0]), 2, { minWeight: 0.9, maxWeight: 0.5 }),
    RangeError,
  );
  assert.throws(() => attentionStatistics([0.5] as unknown as Float32Array, new Int32Array([0]), 2), TypeError);
});

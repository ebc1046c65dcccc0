import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { normalizeAttention } from "../../lib/method/normalize_attention.ts";
import { assertClose, assertNoLeak, values } from "./_helpers.ts";

await tf.setBackend("cpu");
await tf.ready();

const column = (xs: number[]) => tf.tensor2d(xs, [xs.length, 1]);

Deno.test("normalizeAttention() maps the batch min to minWeight and max to maxWeight (eq. 11)", () => {
  const w = column([0.3, 0.5, 0.7]);
  const a = normalizeAttention(w); // (x - 0.3) / 0.4 * 0.8 + 0.2
  assert.deepEqual(a.shape, [3, 1]);
  assertClose(values(a), [0.2, 0.6, 1.0], 1e-6);
  const b = normalizeAttention(w, { minWeight: 0.4 }); // * 0.6 + 0.4
  assertClose(values(b), [0.4, 0.7, 1.0], 1e-6);
  const c = normalizeAttention(w, { minWeight: 0.2, maxWeight: 0.9 }); // * 0.7 + 0.2
  assertClose(values(c), [0.2, 0.55, 0.9], 1e-6);
  tf.dispose([w, a, b, c]);
});

Deno.test("normalizeAttention() gives minWeight to a constant batch instead of NaN", () => {
  const w = column([0.5, 0.5]);
  const a = normalizeAttention(w);
  assertClose(values(a), [0.2, 0.2], 1e-7);
  const one = column([0.9]);
  const b = normalizeAttention(one, { minWeight: 0.4 });
  assertClose(values(b), [0.4], 1e-7);
  tf.dispose([w, a, one, b]);
});

Deno.test("normalizeAttention() is differentiable through min and max, like the code", () => {
  // L = w_1 = (a1 - a0) / (a2 - a0) * 0.8 + 0.2 with a = [0.3, 0.5, 0.7]:
  // dL/da1 = 0.8 / 0.4 = 2; dL/da0 = 0.8 (a1 - a2) / (a2 - a0)^2 = -1; dL/da2 = -0.8 (a1 - a0) / (a2 - a0)^2 = -1
  const w = column([0.3, 0.5, 0.7]);
  const [g] = tf.grads((x: tf.Tensor) => tf.sum(tf.slice(normalizeAttention(x as tf.Tensor2D), [1, 0], [1, 1])))([w]);
  assertClose(values(g), [-1, 2, -1], 1e-5);
  assertNoLeak(() => normalizeAttention(w).dispose());
  tf.dispose([w, g]);
});

Deno.test("normalizeAttention() rejects weights outside 0 <= minWeight <= maxWeight <= 1", () => {
  const w = column([0.3, 0.5]);
  assert.throws(() => normalizeAttention(w, { minWeight: 0.8, maxWeight: 0.5 }), {
    name: "RangeError",
    message: /minWeight must be <= maxWeight/,
  });
  assert.throws(() => normalizeAttention(w, { minWeight: -0.1 }), {
    name: "RangeError",
    message: /minWeight must be in/,
  });
  assert.throws(() => normalizeAttention(w, { maxWeight: 1.5 }), {
    name: "RangeError",
    message: /maxWeight must be in/,
  });
  w.dispose();
});

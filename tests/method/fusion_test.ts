import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { fuseDistributions } from "../../lib/method/fusion.ts";
import { assertClose, assertNoLeak, values } from "./_helpers.ts";

await tf.setBackend("cpu");
await tf.ready();

const label = () => tf.tensor2d([[0.5, 0.5], [0.2, 0.8]]);
const klass = () => tf.tensor2d([[1, 0], [0.7, 0.3]]);

Deno.test("fuseDistributions() returns the class distribution when w = 1", () => {
  const [l, c, w] = [label(), klass(), tf.tensor2d([[1], [1]])];
  const f = fuseDistributions(l, c, w);
  assertClose(values(f), [1, 0, 0.7, 0.3], 1e-7);
  tf.dispose([l, c, w, f]);
});

Deno.test("fuseDistributions() returns the label distribution when w = 0", () => {
  const [l, c, w] = [label(), klass(), tf.tensor2d([[0], [0]])];
  const f = fuseDistributions(l, c, w);
  assertClose(values(f), [0.5, 0.5, 0.2, 0.8], 1e-7);
  tf.dispose([l, c, w, f]);
});

Deno.test("fuseDistributions() mixes each row with its own weight (eq. 12)", () => {
  // row 0: 0.25 [1, 0] + 0.75 [0.5, 0.5] = [0.625, 0.375]; row 1: 0.5 [0.7, 0.3] + 0.5 [0.2, 0.8] = [0.45, 0.55]
  const [l, c, w] = [label(), klass(), tf.tensor2d([[0.25], [0.5]])];
  const f = fuseDistributions(l, c, w);
  assertClose(values(f), [0.625, 0.375, 0.45, 0.55], 1e-7);
  assertNoLeak(() => fuseDistributions(l, c, w).dispose());
  tf.dispose([l, c, w, f]);
});

Deno.test("fuseDistributions() is differentiable in all three inputs", () => {
  // d f[0][0] / d label[0][0] = 1 - w = 0.75, / d class[0][0] = w = 0.25, / d w[0] = class - label = 0.5
  const [l, c, w] = [label(), klass(), tf.tensor2d([[0.25], [0.5]])];
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, x: tf.Tensor) =>
    tf.sum(tf.slice(fuseDistributions(a as tf.Tensor2D, b as tf.Tensor2D, x as tf.Tensor2D), [0, 0], [1, 1]))
  )([l, c, w]);
  assertClose(values(grads[0]), [0.75, 0, 0, 0], 1e-7);
  assertClose(values(grads[1]), [0.25, 0, 0, 0], 1e-7);
  assertClose(values(grads[2]), [0.5, 0], 1e-7);
  tf.dispose([l, c, w, ...grads]);
});

Deno.test("fuseDistributions() rejects mismatched shapes", () => {
  const [l, c] = [label(), klass()];
  const c3 = tf.tensor2d([[1, 0, 0], [0, 1, 0]]);
  const w2 = tf.tensor2d([[1], [1]]);
  const w3 = tf.tensor2d([[1], [1], [1]]);
  assert.throws(() => fuseDistributions(l, c3, w2), {
    name: "RangeError",
    message: /classDistOfLabel must have shape \[2,2\]/,
  });
  assert.throws(() => fuseDistributions(l, c, w3), { name: "RangeError", message: /weight must have shape \[2, 1\]/ });
  tf.dispose([l, c, c3, w2, w3]);
});

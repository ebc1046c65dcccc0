import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { labelDistribution } from "../../lib/method/label_distribution.ts";
import { assertClose, assertNoLeak, values } from "./_helpers.ts";

await tf.setBackend("cpu");
await tf.ready();

Deno.test("labelDistribution() is the softmax of the auxiliary logits (eq. 1-2)", () => {
  // [0, 0] -> [1/2, 1/2]; [0, ln 3] -> [1/4, 3/4] (e^0 : e^ln3 = 1 : 3)
  const d = labelDistribution(tf.tensor2d([[0, 0], [0, Math.log(3)]]));
  assert.deepEqual(d.shape, [2, 2]);
  assertClose(values(d), [0.5, 0.5, 0.25, 0.75], 1e-6);
  d.dispose();
});

Deno.test("labelDistribution() is stable for large logits and invariant to a shift", () => {
  const big = labelDistribution(tf.tensor2d([[1000, 0]]));
  assertClose(values(big), [1, 0], 1e-6);
  const a = labelDistribution(tf.tensor2d([[1, 2, 3]]));
  const b = labelDistribution(tf.tensor2d([[11, 12, 13]]));
  assertClose(values(a), values(b), 1e-6);
  tf.dispose([big, a, b]);
});

Deno.test("labelDistribution() is differentiable: d p0 / d z = [p0(1-p0), -p0 p1]", () => {
  const z = tf.tensor2d([[0, 0]]);
  const [g] = tf.grads((x: tf.Tensor) => tf.sum(tf.slice(labelDistribution(x as tf.Tensor2D), [0, 0], [1, 1])))([z]);
  assertClose(values(g), [0.25, -0.25], 1e-6);
  tf.dispose([z, g]);
});

Deno.test("labelDistribution() leaks no tensor", () => {
  const z = tf.tensor2d([[1, 2], [3, 4]]);
  assertNoLeak(() => labelDistribution(z).dispose());
  z.dispose();
});

Deno.test("labelDistribution() rejects a non-matrix or non-float input", () => {
  const v = tf.tensor1d([1, 2]);
  const i = tf.tensor2d([[1, 2]], [1, 2], "int32");
  assert.throws(() => labelDistribution(v as unknown as tf.Tensor2D), RangeError);
  assert.throws(() => labelDistribution(i), TypeError);
  tf.dispose([v, i]);
});

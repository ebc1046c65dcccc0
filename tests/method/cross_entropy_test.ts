import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { crossEntropy } from "../../lib/method/cross_entropy.ts";
import { assertClose, assertNoLeak, values } from "./_helpers.ts";

await tf.setBackend("cpu");
await tf.ready();

const LN2 = 0.6931471805599453;

Deno.test("crossEntropy() is -log softmax at the label, averaged over the batch (eq. 3)", () => {
  // row [0, ln 3]: p = [1/4, 3/4]; label 1: -ln 0.75 = 0.2876821, label 0: -ln 0.25 = 1.3862944
  const logits = tf.tensor2d([[0, Math.log(3)], [0, Math.log(3)]]);
  const labels = tf.tensor1d([1, 0], "int32");
  const l = crossEntropy(logits, labels);
  assert.equal(l.rank, 0);
  assertClose(values(l), (0.2876821 + 1.3862944) / 2, 1e-6);
  const single = crossEntropy(tf.tensor2d([[0, 0]]), tf.tensor1d([1], "int32"));
  assertClose(values(single), LN2, 1e-6); // -ln(1/2)
  tf.dispose([logits, labels, l, single]);
});

Deno.test("crossEntropy() stays finite for large logits", () => {
  const logits = tf.tensor2d([[1000, 0], [1000, 0]]);
  const wrong = crossEntropy(logits, tf.tensor1d([1, 1], "int32"));
  const right = crossEntropy(logits, tf.tensor1d([0, 0], "int32"));
  assertClose(values(wrong), 1000, 1e-3); // -log softmax = 1000 - 0
  assertClose(values(right), 0, 1e-6);
  tf.dispose([logits, wrong, right]);
});

Deno.test("crossEntropy() gradient is (softmax - onehot) / N", () => {
  const logits = tf.tensor2d([[0, Math.log(3)], [0, 0]]);
  const labels = tf.tensor1d([1, 0], "int32");
  const [g] = tf.grads((x: tf.Tensor) => crossEntropy(x as tf.Tensor2D, labels))([logits]);
  // row 0: ([1/4, 3/4] - [0, 1]) / 2; row 1: ([1/2, 1/2] - [1, 0]) / 2
  assertClose(values(g), [0.125, -0.125, -0.25, 0.25], 1e-6);
  tf.dispose([logits, labels, g]);
});

Deno.test("crossEntropy() leaks no tensor", () => {
  const logits = tf.tensor2d([[1, 2], [3, 4]]);
  const labels = tf.tensor1d([0, 1], "int32");
  assertNoLeak(() => crossEntropy(logits, labels).dispose());
  tf.dispose([logits, labels]);
});

Deno.test("crossEntropy() rejects float labels, out-of-range labels and a length mismatch", () => {
  const logits = tf.tensor2d([[1, 2], [3, 4]]);
  const floats = tf.tensor1d([0, 1], "float32");
  const high = tf.tensor1d([0, 2], "int32");
  const negative = tf.tensor1d([-1, 0], "int32");
  const short = tf.tensor1d([0], "int32");
  assert.throws(() => crossEntropy(logits, floats), TypeError);
  assert.throws(() => crossEntropy(logits, high), { name: "RangeError", message: /labels\[1\].*\[0, 2\).*got 2/ });
  assert.throws(() => crossEntropy(logits, negative), RangeError);
  assert.throws(() => crossEntropy(logits, short), { name: "RangeError", message: /shape \[2\], got \[1\]/ });
  tf.dispose([logits, floats, high, negative, short]);
});

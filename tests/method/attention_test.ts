import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { averageAttention } from "../../lib/method/attention.ts";
import { assertClose, assertNoLeak, values } from "./_helpers.ts";

await tf.setBackend("cpu");
await tf.ready();

Deno.test("averageAttention() is the mean of the two branches' weights (eq. 8)", () => {
  const a = tf.tensor2d([[0.2], [1]]);
  const b = tf.tensor2d([[0.6], [0]]);
  const w = averageAttention(a, b);
  assert.deepEqual(w.shape, [2, 1]);
  assertClose(values(w), [0.4, 0.5], 1e-7);
  const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(averageAttention(x as tf.Tensor2D, y as tf.Tensor2D)))([
    a,
    b,
  ]);
  assertClose(values(grads[0]), [0.5, 0.5], 1e-7);
  assertClose(values(grads[1]), [0.5, 0.5], 1e-7);
  assertNoLeak(() => averageAttention(a, b).dispose());
  tf.dispose([a, b, w, ...grads]);
});

Deno.test("averageAttention() rejects shapes other than two [N, 1] columns", () => {
  const col = tf.tensor2d([[0.2], [1]]);
  const wide = tf.tensor2d([[0.2, 0.3], [1, 1]]);
  const short = tf.tensor2d([[0.2]]);
  assert.throws(() => averageAttention(col, wide), { name: "RangeError", message: /wTar must have shape \[N, 1\]/ });
  assert.throws(() => averageAttention(col, short), { name: "RangeError", message: /wTar must have shape \[2, 1\]/ });
  tf.dispose([col, wide, short]);
});

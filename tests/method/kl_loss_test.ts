import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { klDivergenceLoss } from "../../lib/method/kl_loss.ts";
import { assertClose, assertNoLeak, values } from "./_helpers.ts";

await tf.setBackend("cpu");
await tf.ready();

const LN2 = 0.6931471805599453;
// KL([1/4, 3/4] || [1/2, 1/2]) = 0.25 ln 0.25 + 0.75 ln 0.75 + ln 2
const KL_QUARTER = 0.25 * Math.log(0.25) + 0.75 * Math.log(0.75) + LN2; // 0.1308120

Deno.test("klDivergenceLoss() is 0 when the target is the softmax of the logits", () => {
  const t = tf.tensor2d([[0.5, 0.5]]);
  const z = tf.tensor2d([[3, 3]]);
  const l = klDivergenceLoss(t, z);
  assert.equal(l.rank, 0);
  assertClose(values(l), 0, 1e-7);
  tf.dispose([t, z, l]);
});

Deno.test("klDivergenceLoss() is sum t (log t - log p) / N with 0 log 0 = 0 (eq. 13, +KL)", () => {
  // row 0: [1, 0] vs p = [1/2, 1/2]: 1 ln 1 + 0 - 1 ln 0.5 = ln 2 (the zero entry adds nothing)
  // row 1: [1/4, 3/4] vs [1/2, 1/2]: 0.1308120
  const t = tf.tensor2d([[1, 0], [0.25, 0.75]]);
  const z = tf.zeros([2, 2]) as tf.Tensor2D;
  const byN = klDivergenceLoss(t, z);
  assertClose(values(byN), (LN2 + KL_QUARTER) / 2, 1e-6); // 0.4119796
  const by4 = klDivergenceLoss(t, z, { divisor: 4 });
  assertClose(values(by4), (LN2 + KL_QUARTER) / 4, 1e-6); // 0.2059898
  tf.dispose([t, z, byN, by4]);
});

Deno.test("klDivergenceLoss() gradient is (softmax - target) / N for the logits, finite for the target", () => {
  const t = tf.tensor2d([[1, 0]]);
  const z = tf.zeros([1, 2]) as tf.Tensor2D;
  const [dt, dz] = tf.grads((a: tf.Tensor, b: tf.Tensor) => klDivergenceLoss(a as tf.Tensor2D, b as tf.Tensor2D))([
    t,
    z,
  ]);
  assertClose(values(dz), [-0.5, 0.5], 1e-6); // [1/2 - 1, 1/2 - 0]
  // d/dt0 = ln t0 + 1 - ln p0 = 1 + ln 2; at t1 = 0 the t ln t part contributes 0, leaving -ln p1 = ln 2
  assertClose(values(dt), [1 + LN2, LN2], 1e-6);
  tf.dispose([t, z, dt, dz]);
});

Deno.test("klDivergenceLoss() leaks no tensor", () => {
  const t = tf.tensor2d([[1, 0], [0.25, 0.75]]);
  const z = tf.tensor2d([[1, 2], [3, 4]]);
  assertNoLeak(() => klDivergenceLoss(t, z).dispose());
  assertNoLeak(() => tf.dispose(tf.grads((a: tf.Tensor) => klDivergenceLoss(t, a as tf.Tensor2D))([z])));
  tf.dispose([t, z]);
});

Deno.test("klDivergenceLoss() rejects mismatched shapes and a bad divisor", () => {
  const t = tf.tensor2d([[1, 0]]);
  const z3 = tf.tensor2d([[1, 2, 3]]);
  assert.throws(() => klDivergenceLoss(t, z3), { name: "RangeError", message: /logits must have shape \[1,2\]/ });
  const z = tf.tensor2d([[1, 2]]);
  assert.throws(() => klDivergenceLoss(t, z, { divisor: 0 }), { name: "RangeError", message: /divisor/ });
  assert.throws(() => klDivergenceLoss(t, z, { divisor: NaN }), RangeError);
  tf.dispose([t, z3, z]);
});

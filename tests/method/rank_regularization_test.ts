import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { rankRegularization } from "../../lib/method/rank_regularization.ts";
import { assertClose, assertNoLeak, values } from "./_helpers.ts";

await tf.setBackend("cpu");
await tf.ready();

// 0.50 ... 0.59 in a scrambled order: the ranking, not the order, must decide the groups.
const CLOSE = [0.55, 0.5, 0.59, 0.52, 0.57, 0.51, 0.54, 0.58, 0.53, 0.56];
const column = (xs: number[]) => tf.tensor2d(xs, [xs.length, 1]);

Deno.test("rankRegularization() is max(0, margin - (mean_high - mean_low)) with M = floor(0.7 N) (eq. 9-10)", () => {
  // N = 10, M = 7: high = 0.53..0.59 (mean 0.56), low = 0.50, 0.51, 0.52 (mean 0.51)
  // L_RR = 0.51 - 0.56 + 0.07 = 0.02
  const w = column(CLOSE);
  const rr = rankRegularization(w);
  assert.equal(rr.rank, 0);
  assertClose(values(rr), 0.02, 1e-6);
  tf.dispose([w, rr]);
});

Deno.test("rankRegularization() is 0 when the groups are already apart by more than the margin", () => {
  // high = 0.4..1.0 (mean 0.7), low = 0.1..0.3 (mean 0.2): 0.2 - 0.7 + 0.07 < 0
  const w = column([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]);
  const rr = rankRegularization(w);
  assert.equal(values(rr)[0], 0);
  const [g] = tf.grads((x: tf.Tensor) => rankRegularization(x as tf.Tensor2D))([w]);
  assert.deepEqual(values(g), new Array(10).fill(0));
  tf.dispose([w, rr, g]);
});

Deno.test("rankRegularization() sends -1/M to the high group and +1/(N-M) to the low group", () => {
  const w = column(CLOSE);
  const [g] = tf.grads((x: tf.Tensor) => rankRegularization(x as tf.Tensor2D))([w]);
  const expected = CLOSE.map((v) => (v >= 0.525 ? -1 / 7 : 1 / 3));
  assertClose(values(g), expected, 1e-6);
  tf.dispose([w, g]);
});

Deno.test("rankRegularization() honours the tops and margin options", () => {
  const w = column(CLOSE);
  // tops 0.5: M = 5, high 0.55..0.59 (mean 0.57), low 0.50..0.54 (mean 0.52); margin 0.1 -> 0.05
  const a = rankRegularization(w, { tops: 0.5, margin: 0.1 });
  assertClose(values(a), 0.05, 1e-6);
  // default tops, margin 0.2: 0.51 - 0.56 + 0.2 = 0.15
  const b = rankRegularization(w, { margin: 0.2 });
  assertClose(values(b), 0.15, 1e-6);
  tf.dispose([w, a, b]);
});

Deno.test("rankRegularization() takes the group sizes from batchSize (TenCrop: 4 images, 20 rows)", () => {
  // batchSize 4: M = floor(2.8) = 2 highest, 2 lowest of the 20 rows
  const xs = Array.from({ length: 20 }, (_, i) => 0.5 + 0.001 * ((i * 7) % 20)); // 0.500 ... 0.519, scrambled
  const w = column(xs);
  const rr = rankRegularization(w, { batchSize: 4 });
  // high: 0.519, 0.518 (mean 0.5185); low: 0.500, 0.501 (mean 0.5005); 0.5005 - 0.5185 + 0.07 = 0.052
  assertClose(values(rr), 0.052, 1e-6);
  const [g] = tf.grads((x: tf.Tensor) => rankRegularization(x as tf.Tensor2D, { batchSize: 4 }))([w]);
  const nonzero = values(g).filter((v) => v !== 0);
  assert.deepEqual(nonzero.map((v) => Math.round(v * 100) / 100).sort(), [-0.5, -0.5, 0.5, 0.5]);
  tf.dispose([w, rr, g]);
});

Deno.test("rankRegularization() gives the margin for a constant batch", () => {
  const w = column([0.5, 0.5, 0.5, 0.5]);
  const rr = rankRegularization(w, { tops: 0.5 });
  assertClose(values(rr), 0.07, 1e-7);
  tf.dispose([w, rr]);
});

Deno.test("rankRegularization() leaks no tensor, with or without a gradient", () => {
  const w = column(CLOSE);
  assertNoLeak(() => rankRegularization(w).dispose(), "rankRegularization");
  assertNoLeak(() => {
    const [g] = tf.grads((x: tf.Tensor) => rankRegularization(x as tf.Tensor2D))([w]);
    g.dispose();
  }, "tf.grads(rankRegularization)");
  assertNoLeak(() => tf.tidy(() => void rankRegularization(w)), "tf.tidy(rankRegularization)");
  w.dispose();
});

Deno.test("rankRegularization() throws RangeError when a group would be empty or too large", () => {
  const w5 = column([0.1, 0.2, 0.3, 0.4, 0.5]);
  const w1 = column([0.5]);
  assert.throws(() => rankRegularization(w5, { tops: 0.1 }), { name: "RangeError", message: /0 high and 5 low/ });
  assert.throws(() => rankRegularization(w5, { tops: 1 }), { name: "RangeError", message: /5 high and 0 low/ });
  assert.throws(() => rankRegularization(w1), { name: "RangeError", message: /batchSize must be an integer >= 2/ });
  assert.throws(() => rankRegularization(w5, { batchSize: 30 }), {
    name: "RangeError",
    message: /must each fit in the 5 rows/,
  });
  assert.throws(() => rankRegularization(w5, { tops: 1.5 }), {
    name: "RangeError",
    message: /tops must be in \[0, 1\]/,
  });
  assert.throws(() => rankRegularization(w5, { margin: NaN }), { name: "RangeError", message: /margin/ });
  const wide = tf.tensor2d([[0.1, 0.2], [0.3, 0.4]]);
  assert.throws(() => rankRegularization(wide), { name: "RangeError", message: /wAvg must have shape \[N, 1\]/ });
  tf.dispose([w5, w1, wide]);
});

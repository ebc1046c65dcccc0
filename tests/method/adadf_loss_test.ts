import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { adaDfLoss } from "../../lib/method/adadf_loss.ts";
import type { AdaDfLossInputs, AdaDfLossOptions, AdaDfLossParts } from "../../lib/method/adadf_loss.ts";
import { assertClose, assertNoLeak, values } from "./_helpers.ts";

await tf.setBackend("cpu");
await tf.ready();

const LN2 = 0.6931471805599453;

/*
 * A batch worked out by hand. N = 2, C = 2, labels [0, 1].
 *   auxLogits [[0, 0], [0, ln 3]] -> d_label [[1/2, 1/2], [1/4, 3/4]]
 *   L_ce = (-ln 1/2 - ln 3/4) / 2 = (0.6931472 + 0.2876821) / 2 = 0.4904146
 *   wAux [[0.6], [0.5]], wTar [[0.8], [0.5]] -> w_avg [[0.7], [0.5]]
 *   RR: M = floor(1.4) = 1: high 0.7, low 0.5, 0.5 - 0.7 + 0.07 < 0 -> L_RR = 0
 *   w (minWeight 0.2) = [[1], [0.2]]
 *   d_class = [[0.8, 0.2], [0.2, 0.8]] -> d_class[y] = [[0.8, 0.2], [0.2, 0.8]]
 *   fused row 0 = [0.8, 0.2]; row 1 = 0.2 [0.2, 0.8] + 0.8 [1/4, 3/4] = [0.24, 0.76]
 *   tarLogits 0 -> p = [1/2, 1/2]
 *   KL row 0 = 0.8 ln 0.8 + 0.2 ln 0.2 + ln 2 = 0.1927448; row 1 = 0.24 ln 0.24 + 0.76 ln 0.76 + ln 2 = 0.1420673
 *   L_kld = (0.1927448 + 0.1420673) / 2 = 0.1674060
 *   epoch 1, beta 3: a1 = 1, a2 = exp(-4/9) = 0.6411804
 *   total = 0.4904146 + 0.6411804 * 0.1674060 = 0.5977521
 */
const CE = 0.4904146;
const KL0 = 0.1927448;
const KL1 = 0.1420673;
const A2_E1 = 0.6411804;

function batch(wAux = [0.6, 0.5], wTar = [0.8, 0.5]): AdaDfLossInputs {
  return {
    auxLogits: tf.tensor2d([[0, 0], [0, Math.log(3)]]),
    tarLogits: tf.zeros([2, 2]) as tf.Tensor2D,
    wAux: tf.tensor2d(wAux, [2, 1]),
    wTar: tf.tensor2d(wTar, [2, 1]),
    labels: tf.tensor1d([0, 1], "int32"),
    classDistributions: tf.tensor2d([[0.8, 0.2], [0.2, 0.8]]),
  };
}

const disposeInputs = (b: AdaDfLossInputs) => tf.dispose(Object.values(b));
const partTensors = (p: AdaDfLossParts) => [p.total, p.ce, p.kld, p.rr, p.labelDist, p.fused, p.wAvg, p.w];
const disposeParts = (p: AdaDfLossParts) => tf.dispose(partTensors(p));

/**
 * Gradients of the total with respect to [auxLogits, tarLogits, wAux, wTar], through
 * tf.variableGrads: in "baseline", "class" and "label" modes some of these do not reach the
 * loss (PyTorch would leave their .grad None); tf.grads would throw for them, so they read 0.
 */
function gradsOf(b: AdaDfLossInputs, options: AdaDfLossOptions): number[][] {
  const vars = [b.auxLogits, b.tarLogits, b.wAux, b.wTar].map((t) => tf.variable(t));
  const [aux, tar, wa, wt] = vars as tf.Variable<tf.Rank.R2>[];
  const { value, grads } = tf.variableGrads(
    () => adaDfLoss({ ...b, auxLogits: aux, tarLogits: tar, wAux: wa, wTar: wt }, options).total,
    vars,
  );
  const out = vars.map((v) => (grads[v.name] ? values(grads[v.name]) : new Array<number>(v.size).fill(0)));
  tf.dispose([value, ...Object.values(grads), ...vars]);
  return out;
}

Deno.test("adaDfLoss() computes L_RR + a1 L_ce + a2 L_kld on a hand-worked batch (eq. 1-16)", () => {
  const b = batch();
  const p = adaDfLoss(b, { epoch: 1, beta: 3 });
  assertClose(values(p.labelDist), [0.5, 0.5, 0.25, 0.75], 1e-6);
  assertClose(values(p.wAvg), [0.7, 0.5], 1e-6);
  assertClose(values(p.w), [1, 0.2], 1e-6);
  assertClose(values(p.fused), [0.8, 0.2, 0.24, 0.76], 1e-6);
  assertClose(values(p.rr), 0, 0);
  assertClose(values(p.ce), CE, 1e-6);
  assertClose(values(p.kld), (KL0 + KL1) / 2, 1e-6);
  assert.equal(p.a1, 1);
  assertClose(p.a2, A2_E1, 1e-7);
  assertClose(values(p.total), CE + A2_E1 * (KL0 + KL1) / 2, 1e-6); // 0.5977521
  disposeParts(p);
  disposeInputs(b);
});

Deno.test("adaDfLoss() adds a positive L_RR when the attention groups are too close", () => {
  // w_avg [[0.55], [0.5]]: 0.5 - 0.55 + 0.07 = 0.02; w is still [[1], [0.2]], so the rest is unchanged
  const b = batch([0.55, 0.5], [0.55, 0.5]);
  const p = adaDfLoss(b, { epoch: 1, beta: 3 });
  assertClose(values(p.rr), 0.02, 1e-6);
  assertClose(values(p.total), 0.02 + CE + A2_E1 * (KL0 + KL1) / 2, 1e-6);
  disposeParts(p);
  disposeInputs(b);
});

Deno.test("adaDfLoss() weighs by eq. 16 after beta and honours klDivisor and minWeight", () => {
  const b = batch();
  // epoch 5 > beta 3: a1 = exp(-0.16) = 0.8521438, a2 = 1
  const late = adaDfLoss(b, { epoch: 5, beta: 3 });
  assertClose(late.a1, 0.8521438, 1e-7);
  assert.equal(late.a2, 1);
  assertClose(values(late.total), 0.8521438 * CE + (KL0 + KL1) / 2, 1e-6);
  // klDivisor 4 halves L_kld of N = 2
  const div = adaDfLoss(b, { epoch: 1, beta: 3, klDivisor: 4 });
  assertClose(values(div.kld), (KL0 + KL1) / 4, 1e-6);
  // minWeight 0.4: w = [[1], [0.4]], fused row 1 = 0.4 [0.2, 0.8] + 0.6 [1/4, 3/4] = [0.23, 0.77]
  const w4 = adaDfLoss(b, { epoch: 1, beta: 3, minWeight: 0.4 });
  assertClose(values(w4.w), [1, 0.4], 1e-6);
  assertClose(values(w4.fused), [0.8, 0.2, 0.23, 0.77], 1e-6);
  [late, div, w4].forEach(disposeParts);
  disposeInputs(b);
});

Deno.test("adaDfLoss() in baseline mode is the cross-entropy of the target logits alone", () => {
  const b = batch();
  const p = adaDfLoss(b, { epoch: 1, beta: 3, mode: "baseline" });
  assertClose(values(p.ce), LN2, 1e-6); // target logits 0: -ln 1/2
  assertClose(values(p.total), LN2, 1e-6);
  assert.equal(values(p.kld)[0], 0);
  assert.equal(values(p.rr)[0], 0);
  assert.deepEqual([p.a1, p.a2], [1, 0]);
  assert.deepEqual(values(p.fused), [1, 0, 0, 1]); // one-hot y
  assert.deepEqual(values(p.w), [1, 1]);
  const [dAux, dTar, dWa, dWt] = gradsOf(b, { epoch: 1, beta: 3, mode: "baseline" });
  assert.deepEqual(dAux, [0, 0, 0, 0]);
  assertClose(dTar, [-0.25, 0.25, 0.25, -0.25], 1e-6); // ([1/2, 1/2] - onehot) / 2
  assert.deepEqual([...dWa, ...dWt], [0, 0, 0, 0]);
  disposeParts(p);
  disposeInputs(b);
});

Deno.test("adaDfLoss() in class mode fits the target branch to d_class[y] alone (w = 1, no RR)", () => {
  // even with close attention (RR would be 0.02), class mode has no RR
  const b = batch([0.55, 0.5], [0.55, 0.5]);
  const p = adaDfLoss(b, { epoch: 1, beta: 3, mode: "class" });
  assertClose(values(p.fused), [0.8, 0.2, 0.2, 0.8], 1e-7);
  assert.deepEqual(values(p.w), [1, 1]);
  assert.equal(values(p.rr)[0], 0);
  assertClose(values(p.kld), KL0, 1e-6); // both rows are KL([0.8, 0.2] || [1/2, 1/2])
  assertClose(values(p.total), CE + A2_E1 * KL0, 1e-6); // 0.6139988
  // the auxiliary branch learns from the CE only: (softmax - onehot) / 2
  const [dAux, , dWa, dWt] = gradsOf(b, { epoch: 1, beta: 3, mode: "class" });
  assertClose(dAux, [-0.25, 0.25, 0.125, -0.125], 1e-6);
  assert.deepEqual([...dWa, ...dWt], [0, 0, 0, 0]);
  disposeParts(p);
  disposeInputs(b);
});

Deno.test("adaDfLoss() in label mode fits the target branch to d_label alone (w = 0, no RR)", () => {
  const b = batch([0.55, 0.5], [0.55, 0.5]);
  const p = adaDfLoss(b, { epoch: 1, beta: 3, mode: "label" });
  assertClose(values(p.fused), [0.5, 0.5, 0.25, 0.75], 1e-6);
  assert.deepEqual(values(p.w), [0, 0]);
  assert.equal(values(p.rr)[0], 0);
  // row 0: KL = 0; row 1: 0.25 ln 0.25 + 0.75 ln 0.75 + ln 2 = 0.1308120
  assertClose(values(p.kld), 0.130812 / 2, 1e-6);
  assertClose(values(p.total), CE + A2_E1 * 0.130812 / 2, 1e-6); // 0.5323517
  // not detached: L_kld also reaches the auxiliary logits through d_label
  const [dAux] = gradsOf(b, { epoch: 1, beta: 3, mode: "label" });
  const [dAuxDetached] = gradsOf(b, { epoch: 1, beta: 3, mode: "label", detachTargets: true });
  assertClose(dAuxDetached, [-0.25, 0.25, 0.125, -0.125], 1e-6);
  assert.ok(Math.abs(dAux[2] - dAuxDetached[2]) > 1e-3);
  disposeParts(p);
  disposeInputs(b);
});

Deno.test("adaDfLoss() with detachTargets stops L_kld's gradient at the fused target", () => {
  const b = batch();
  const [auxFree, tarFree, waFree] = gradsOf(b, { epoch: 1, beta: 3 });
  // tf.grads works too when every input reaches the loss (the full method, not detached)
  const viaGrads = tf.grads((a: tf.Tensor, t: tf.Tensor) =>
    adaDfLoss({ ...b, auxLogits: a as tf.Tensor2D, tarLogits: t as tf.Tensor2D }, { epoch: 1, beta: 3 }).total
  )([b.auxLogits, b.tarLogits]);
  assertClose(values(viaGrads[0]), auxFree, 1e-7);
  tf.dispose(viaGrads);
  const [auxDet, tarDet, waDet, wtDet] = gradsOf(b, { epoch: 1, beta: 3, detachTargets: true });
  // detached, the auxiliary logits get only a1 * dL_ce: (softmax - onehot) / 2
  assertClose(auxDet, [-0.25, 0.25, 0.125, -0.125], 1e-6);
  assert.ok(
    auxFree.some((g, i) => Math.abs(g - auxDet[i]) > 1e-3),
    "the fused target sends a gradient to the aux logits",
  );
  // the target branch's gradient is the same either way: a2 (softmax(tar) - fused) / N
  assertClose(tarDet, tarFree, 1e-7);
  assertClose(tarDet, [
    A2_E1 * (0.5 - 0.8) / 2,
    A2_E1 * (0.5 - 0.2) / 2,
    A2_E1 * (0.5 - 0.24) / 2,
    A2_E1 * (0.5 - 0.76) / 2,
  ], 1e-6);
  // L_RR = 0 and, with N = 2, min-max normalisation always gives w = [1, 0.2]: no gradient to the heads
  assert.deepEqual([...waDet, ...wtDet], [0, 0, 0, 0]);
  assertClose(waFree, [0, 0], 1e-6); // zero up to float32 rounding
  disposeInputs(b);
  // N = 3 (w_avg [0.6, 0.5, 0.55]; RR: 0.5 - 0.575 + 0.07 < 0): the middle weight moves, so free,
  // L_kld reaches the attention heads through w; detached, it does not
  const b3: AdaDfLossInputs = {
    auxLogits: tf.tensor2d([[0, 0], [0, Math.log(3)], [Math.log(3), 0]]),
    tarLogits: tf.zeros([3, 2]) as tf.Tensor2D,
    wAux: tf.tensor2d([[0.6], [0.5], [0.55]]),
    wTar: tf.tensor2d([[0.6], [0.5], [0.55]]),
    labels: tf.tensor1d([0, 1, 0], "int32"),
    classDistributions: tf.tensor2d([[0.8, 0.2], [0.2, 0.8]]),
  };
  const [, , wa3Free] = gradsOf(b3, { epoch: 1, beta: 3 });
  const [, , wa3Det] = gradsOf(b3, { epoch: 1, beta: 3, detachTargets: true });
  assert.ok(wa3Free.some((g) => Math.abs(g) > 1e-3), `free: ${wa3Free}`);
  assert.deepEqual(wa3Det, [0, 0, 0]);
  disposeInputs(b3);
});

Deno.test("adaDfLoss() supports tf.variableGrads", () => {
  const b = batch();
  const aux = tf.variable(b.auxLogits);
  const tar = tf.variable(b.tarLogits);
  const { value, grads } = tf.variableGrads(
    () => adaDfLoss({ ...b, auxLogits: aux, tarLogits: tar }, { epoch: 1, beta: 3 }).total,
    [aux, tar],
  );
  assertClose(values(value), CE + A2_E1 * (KL0 + KL1) / 2, 1e-6);
  assert.deepEqual(Object.keys(grads).sort(), [aux.name, tar.name].sort());
  tf.dispose([value, ...Object.values(grads), aux, tar]);
  disposeInputs(b);
});

Deno.test("adaDfLoss() returns new tensors and leaks none, alone, in tf.tidy or under tf.grads", () => {
  const b = batch([0.55, 0.5], [0.55, 0.5]);
  for (const mode of ["adadf", "baseline", "class", "label"] as const) {
    for (const detachTargets of [false, true]) {
      const options = { epoch: 2, beta: 3, mode, detachTargets };
      assertNoLeak(() => {
        const p = adaDfLoss(b, options);
        const ids = new Set(partTensors(p).map((t) => t.id));
        assert.equal(ids.size, 8, "eight distinct tensors");
        for (const t of Object.values(b)) assert.ok(!ids.has(t.id), "no input is returned");
        disposeParts(p);
      }, `adaDfLoss ${mode} detach=${detachTargets}`);
      assertNoLeak(() => tf.tidy(() => void adaDfLoss(b, options)), `tf.tidy ${mode}`);
      assertNoLeak(() => void gradsOf(b, options), `tf.grads ${mode}`);
    }
  }
  assert.equal(b.auxLogits.isDisposed, false);
  disposeInputs(b);
});

Deno.test("adaDfLoss() rejects bad inputs and options with TypeError or RangeError", () => {
  const b = batch();
  const opts = { epoch: 1, beta: 3 };
  const floatLabels = tf.tensor1d([0, 1]);
  const badLabels = tf.tensor1d([0, 2], "int32");
  const cd3 = tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  const tar3 = tf.zeros([3, 2]) as tf.Tensor2D;
  assert.throws(() => adaDfLoss({ ...b, labels: floatLabels }, opts), TypeError);
  assert.throws(() => adaDfLoss({ ...b, labels: badLabels }, opts), { name: "RangeError", message: /labels\[1\]/ });
  assert.throws(() => adaDfLoss({ ...b, classDistributions: cd3 }, opts), {
    name: "RangeError",
    message: /classDistributions must have shape \[2,2\]/,
  });
  assert.throws(() => adaDfLoss({ ...b, tarLogits: tar3 }, opts), { name: "RangeError", message: /tarLogits/ });
  assert.throws(() => adaDfLoss(b, { ...opts, mode: "both" as "adadf" }), {
    name: "RangeError",
    message: /mode must be one of/,
  });
  assert.throws(() => adaDfLoss(b, { ...opts, epoch: 0 }), { name: "RangeError", message: /epoch/ });
  assert.throws(() => adaDfLoss(b, { ...opts, detachTargets: "yes" as unknown as boolean }), TypeError);
  assert.throws(() => adaDfLoss(b, { ...opts, minWeight: 0.5, maxWeight: 0.4 }), RangeError);
  assert.throws(() => adaDfLoss(b, { ...opts, tops: 0.2 }), { name: "RangeError", message: /0 high and 2 low/ });
  assert.throws(() => adaDfLoss(b, { ...opts, klDivisor: -1 }), { name: "RangeError", message: /divisor/ });
  assert.throws(() => adaDfLoss(b, undefined as unknown as AdaDfLossOptions), TypeError);
  tf.dispose([floatLabels, badLabels, cd3, tar3]);
  disposeInputs(b);
});

import assert from "node:assert/strict";
import {
  jsDivergence,
  l1Distance,
  measureDistributions,
  rocAuc,
  rocCurve,
  summary,
} from "../../lib/analysis/distribution_measures.ts";

Deno.test("jsDivergence() is symmetric, 0 for equal distributions, ln 2 for disjoint ones, finite against one-hot", () => {
  const p = [0.7, 0.2, 0.1];
  const q = [0.1, 0.3, 0.6];
  assert.ok(Math.abs(jsDivergence(p, q) - jsDivergence(q, p)) < 1e-15);
  assert.equal(jsDivergence(p, p), 0);
  assert.ok(Math.abs(jsDivergence([1, 0, 0], [0, 0, 1]) - Math.LN2) < 1e-12);
  // by hand: m = (p + q) / 2, JS = (KL(p||m) + KL(q||m)) / 2
  const m = p.map((v, i) => (v + q[i]) / 2);
  const kl = (a: number[], b: number[]) => a.reduce((s, v, i) => s + (v > 0 ? v * Math.log(v / b[i]) : 0), 0);
  assert.ok(Math.abs(jsDivergence(p, q) - (kl(p, m) + kl(q, m)) / 2) < 1e-12);
  assert.ok(Number.isFinite(jsDivergence(p, [1, 0, 0])));
  assert.ok(Math.abs(l1Distance(p, q) - 1.2) < 1e-12);
});

Deno.test("summary() gives numpy's quartiles; rocAuc() is the Mann-Whitney statistic with ties counted half", () => {
  assert.deepEqual(summary([4, 1, 3, 2]), { n: 4, mean: 2.5, q1: 1.75, median: 2.5, q3: 3.25 });
  assert.ok(Number.isNaN(summary([]).mean));
  assert.equal(rocAuc([0.9, 0.8, 0.3, 0.1], [true, true, false, false]), 1);
  assert.equal(rocAuc([0.1, 0.3, 0.8, 0.9], [true, true, false, false]), 0);
  assert.equal(rocAuc([0.5, 0.5], [true, false]), 0.5);
  // 2 positives, 2 negatives: pairs (0.9>0.2)(0.9>0.6)(0.4>0.2)(0.4<0.6) -> 3/4
  assert.equal(rocAuc([0.9, 0.4, 0.6, 0.2], [true, true, false, false]), 0.75);
  assert.ok(Number.isNaN(rocAuc([0.1], [true])));
  const curve = rocCurve([0.9, 0.4, 0.6, 0.2], [true, true, false, false]);
  assert.deepEqual(curve.at(0), { fpr: 0, tpr: 0 });
  assert.deepEqual(curve.at(-1), { fpr: 1, tpr: 1 });
  // the area under the curve's steps is the AUC
  const area = curve.slice(1).reduce((a, p, i) => a + (p.fpr - curve[i].fpr) * (p.tpr + curve[i].tpr) / 2, 0);
  assert.ok(Math.abs(area - 0.75) < 1e-12);
});

Deno.test("measureDistributions() ranks the targets by distance to the truth, split clear/blended, and scores w by AUC", () => {
  const truth = [0.5, 0.5, 0, 0]; // blended
  const clear = [1, 0, 0, 0];
  const samples = [
    // a blended face: the fused target is nearer its truth than the one-hot label
    {
      trueDistribution: truth,
      label: 0,
      labelDistribution: [0.5, 0.4, 0.05, 0.05],
      classDistribution: [0.7, 0.1, 0.1, 0.1],
      fused: [0.55, 0.35, 0.05, 0.05],
      w: 0.3,
      flipped: false,
    },
    // a clear face with a flipped label and a low weight
    {
      trueDistribution: clear,
      label: 2,
      labelDistribution: [0.6, 0.1, 0.2, 0.1],
      classDistribution: [0.1, 0.1, 0.7, 0.1],
      fused: [0.3, 0.1, 0.5, 0.1],
      w: 0.2,
      flipped: true,
    },
    // a clear clean face with a high weight
    {
      trueDistribution: clear,
      label: 0,
      labelDistribution: [0.9, 0.05, 0.03, 0.02],
      classDistribution: [0.7, 0.1, 0.1, 0.1],
      fused: [0.8, 0.1, 0.05, 0.05],
      w: 0.9,
      flipped: false,
    },
  ];
  const r = measureDistributions(3, samples);
  assert.equal(r.epoch, 3);
  assert.equal(r.samples, 3);
  assert.equal(r.js.fused.blended.n, 1);
  assert.equal(r.js.fused.clear.n, 2);
  assert.ok(
    r.js.fused.blended.mean < r.js.onehot.blended.mean,
    "the fused target is nearer a blend's truth than one-hot",
  );
  // the blended face's one-hot distance: JS([0.5, 0.5, 0, 0], [1, 0, 0, 0])
  assert.ok(Math.abs(r.js.onehot.blended.mean - jsDivergence(truth, [1, 0, 0, 0])) < 1e-12);
  // the flipped face has the lowest w: 1 - w ranks it first
  assert.equal(r.auc.flipped, 1);
  assert.equal(r.auc.blended, 0.5); // the blend's w (0.3) sits between the two clear faces' (0.2, 0.9)
});

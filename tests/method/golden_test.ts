/**
 * Golden tests: our Ada-DF functions against the official PyTorch code, re-typed in
 * tools/golden/make_method_fixtures.py (values in tests/fixtures/method/golden.json).
 * Every value, losses and gradients, must agree within 1e-5.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { adaDfLoss, attentionStatistics, mineClassDistributions } from "../../lib/method/mod.ts";
import type { ThresholdRows } from "../../lib/method/mod.ts";
import { assertClose, assertNoLeak, values } from "./_helpers.ts";

await tf.setBackend("cpu");
await tf.ready();

const TOL = 1e-5;

interface LossCase {
  name: string;
  n: number;
  numClasses: number;
  options: {
    epoch: number;
    beta: number;
    minWeight: number;
    maxWeight: number;
    detachTargets: boolean;
    tops: number;
    margin: number;
    thresholdRows: ThresholdRows;
    rrBatchSize?: number;
    klDivisor?: number;
  };
  inputs: Record<"auxLogits" | "tarLogits" | "wAux" | "wTar" | "classDistributions", number[]> & { labels: number[] };
  expected: {
    rr: number;
    ce: number;
    kld: number;
    total: number;
    a1: number;
    a2: number;
    w: number[];
    fused: number[];
    grads: Record<"auxLogits" | "tarLogits" | "wAux" | "wTar", number[]>;
  };
}

interface MiningCase {
  name: string;
  numClasses: number;
  threshold: number;
  thresholdRows: ThresholdRows;
  probs: number[];
  labels: number[];
  expected: { rows: number[][]; mined: boolean[]; counts: number[]; diagonal: (number | null)[] };
}

interface AttentionStatisticsCase {
  name: string;
  numClasses: number;
  minWeight: number;
  maxWeight: number;
  wAvg: number[];
  labels: number[];
  expected: { mean: number[]; max: number[]; min: number[] };
}

const golden = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/method/golden.json", import.meta.url)),
) as { loss: LossCase[]; mining: MiningCase[]; attentionStatistics: AttentionStatisticsCase[] };

Deno.test("golden.json covers the cases the brief asks for", () => {
  const loss = golden.loss;
  assert.ok(loss.some((c) => c.n === 8) && loss.some((c) => c.n === 16));
  for (const e of [1, 2, 5]) assert.ok(loss.some((c) => c.options.epoch === e), `epoch ${e}`);
  for (const w of [0.2, 0.4]) assert.ok(loss.some((c) => c.options.minWeight === w), `minWeight ${w}`);
  for (const d of [true, false]) assert.ok(loss.some((c) => c.options.detachTargets === d), `detach ${d}`);
  for (const r of ["paper", "code"]) assert.ok(loss.some((c) => c.options.thresholdRows === r), `rows ${r}`);
  assert.ok(loss.some((c) => c.expected.rr > 0) && loss.some((c) => c.expected.rr === 0), "both RR branches");
  assert.ok(golden.mining.length > 0 && golden.attentionStatistics.length > 0);
});

for (const c of golden.loss) {
  Deno.test(`adaDfLoss() matches train.py's loss and gradients: ${c.name}`, () => {
    const { n, numClasses: k, options, inputs, expected } = c;
    const aux = tf.tensor2d(inputs.auxLogits, [n, k]);
    const tar = tf.tensor2d(inputs.tarLogits, [n, k]);
    const wAux = tf.tensor2d(inputs.wAux, [n, 1]);
    const wTar = tf.tensor2d(inputs.wTar, [n, 1]);
    const labels = tf.tensor1d(inputs.labels, "int32");
    const classDistributions = tf.tensor2d(inputs.classDistributions, [k, k]);
    const lossOptions = {
      epoch: options.epoch,
      beta: options.beta,
      minWeight: options.minWeight,
      maxWeight: options.maxWeight,
      detachTargets: options.detachTargets,
      tops: options.tops,
      margin: options.margin,
      rrBatchSize: options.rrBatchSize,
      klDivisor: options.klDivisor,
    };
    const lossOf = (a: tf.Tensor, t: tf.Tensor, wa: tf.Tensor, wt: tf.Tensor) =>
      adaDfLoss({
        auxLogits: a as tf.Tensor2D,
        tarLogits: t as tf.Tensor2D,
        wAux: wa as tf.Tensor2D,
        wTar: wt as tf.Tensor2D,
        labels,
        classDistributions,
      }, lossOptions);

    assertNoLeak(() => {
      const p = lossOf(aux, tar, wAux, wTar);
      assertClose(values(p.rr), expected.rr, TOL, "rr");
      assertClose(values(p.ce), expected.ce, TOL, "ce");
      assertClose(values(p.kld), expected.kld, TOL, "kld");
      assertClose(values(p.total), expected.total, TOL, "total");
      assertClose(p.a1, expected.a1, 1e-12, "a1");
      assertClose(p.a2, expected.a2, 1e-12, "a2");
      assertClose(values(p.w), expected.w, TOL, "w");
      assertClose(values(p.fused), expected.fused, TOL, "fused");
      tf.dispose([p.total, p.ce, p.kld, p.rr, p.labelDist, p.fused, p.wAvg, p.w]);
    }, "adaDfLoss");

    assertNoLeak(() => {
      const grads = tf.grads((a, t, wa, wt) => lossOf(a, t, wa, wt).total)([aux, tar, wAux, wTar]);
      assertClose(values(grads[0]), expected.grads.auxLogits, TOL, "d total / d auxLogits");
      assertClose(values(grads[1]), expected.grads.tarLogits, TOL, "d total / d tarLogits");
      assertClose(values(grads[2]), expected.grads.wAux, TOL, "d total / d wAux");
      assertClose(values(grads[3]), expected.grads.wTar, TOL, "d total / d wTar");
      tf.dispose(grads);
    }, "tf.grads(adaDfLoss)");

    tf.dispose([aux, tar, wAux, wTar, labels, classDistributions]);
  });
}

for (const c of golden.mining) {
  Deno.test(`mineClassDistributions() matches utils.generate_adaptive_LD: ${c.name}`, () => {
    const d = mineClassDistributions(new Float32Array(c.probs), new Int32Array(c.labels), c.numClasses, {
      threshold: c.threshold,
      thresholdRows: c.thresholdRows,
    });
    assert.deepEqual(d.mined, c.expected.mined);
    assert.deepEqual(d.counts, c.expected.counts);
    assertClose(d.diagonal, c.expected.diagonal, TOL, "diagonal");
    assertClose(d.rows.flat(), c.expected.rows.flat(), TOL, "rows");
  });
}

for (const c of golden.attentionStatistics) {
  Deno.test(`attentionStatistics() matches utils.generate_average_weights: ${c.name}`, () => {
    const s = attentionStatistics(new Float32Array(c.wAvg), new Int32Array(c.labels), c.numClasses, {
      minWeight: c.minWeight,
      maxWeight: c.maxWeight,
    });
    assertClose(s.mean, c.expected.mean, TOL, "mean");
    assertClose(s.max, c.expected.max, TOL, "max");
    assertClose(s.min, c.expected.min, TOL, "min");
  });
}

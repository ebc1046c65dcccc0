import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { AdaDfNet } from "../../lib/model/adadf_net.ts";
import { makeBatch, toTensors } from "../../lib/data/batches.ts";
import { generateSynthFer } from "../../lib/data/synthfer.ts";
import { modelVariant, resolveConfig } from "../../lib/config.ts";
import { trainStep } from "../../lib/train/step.ts";
import type { EpochMetrics } from "../../lib/run/records.ts";
import { evaluateTarget } from "../../lib/infer/evaluate.ts";
import { type EpochResult, trainAdaDf } from "../../lib/train/trainer.ts";
import { fuseDistributionValues } from "../../lib/method/fusion.ts";
import { initialClassDistributions } from "../../lib/method/class_distributions.ts";

const TINY = { width: 4, numClasses: 7 };
const data = await generateSynthFer({ seed: 3, trainSize: 48, testSize: 14, imageSize: 32 });

function stepOnce(net: AdaDfNet, optimizer: tf.Optimizer, epoch = 1) {
  const batch = toTensors(makeBatch(data.train, Array.from({ length: 16 }, (_, i) => i), { imageSize: 32 }));
  const classDistributions = tf.tensor2d(initialClassDistributions(7, 0.7));
  const r = trainStep(net, batch, {
    optimizer,
    variables: net.trainableVariables(false),
    classDistributions,
    loss: { epoch, beta: 3, mode: "adadf" },
  });
  tf.dispose([batch.x, batch.labels, classDistributions]);
  return r;
}

Deno.test("trainStep() and evaluateTarget() leave tf.memory().numTensors where they found it (wasm)", async () => {
  await initBackend("wasm");
  const net = new AdaDfNet(TINY, { seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  stepOnce(net, optimizer); // creates the optimizer's slots
  const before = tf.memory().numTensors;
  stepOnce(net, optimizer, 2);
  assert.equal(tf.memory().numTensors, before, "training step leaked");
  await evaluateTarget(net, data.test, { imageSize: 32, batchSize: 8, numClasses: 7 });
  assert.equal(tf.memory().numTensors, before, "evaluation leaked");
  optimizer.dispose();
  net.dispose();
});

Deno.test("one training step's losses agree within 1e-4 on cpu and wasm", async () => {
  const results: { first: ReturnType<typeof stepOnce>; second: ReturnType<typeof stepOnce> }[] = [];
  for (const backend of ["cpu", "wasm"] as const) {
    await initBackend(backend);
    const net = new AdaDfNet(TINY, { seed: 7 });
    const optimizer = tf.train.adam(1e-3);
    const first = stepOnce(net, optimizer, 2);
    const second = stepOnce(net, optimizer, 2); // after one update: the gradients agreed too
    results.push({ first, second });
    optimizer.dispose();
    net.dispose();
  }
  for (const k of ["total", "ce", "kld", "rr"] as const) {
    for (const s of ["first", "second"] as const) {
      const c: number = results[0][s][k];
      const w: number = results[1][s][k];
      assert.ok(Math.abs(c - w) <= 1e-4 * Math.max(1, Math.abs(c)), `${s} step ${k}: cpu ${c} vs wasm ${w}`);
    }
  }
});

function withoutTime(h: EpochMetrics[]) {
  return h.map(({ seconds: _s, rssMiB: _r, ...rest }) => rest);
}

Deno.test("trainAdaDf() with the same seed gives identical metrics twice on wasm", async () => {
  await initBackend("wasm");
  const cfg = resolveConfig({ epochs: 2, batchSize: 16, width: 4, imageSize: 32, trackedSamples: 4, seed: 5 });
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const net = new AdaDfNet(TINY, { seed: cfg.seed });
    runs.push(await trainAdaDf(net, { train: data.train, test: data.test, numClasses: 7, imageSize: 32 }, cfg));
    net.dispose();
  }
  assert.deepEqual(withoutTime(runs[0]), withoutTime(runs[1]));
  assert.equal(runs[0].length, 2);
});

Deno.test("trainAdaDf() leaves no tensor behind across a whole epoch after the first", async () => {
  await initBackend("wasm");
  const cfg = resolveConfig({ epochs: 3, batchSize: 16, width: 4, imageSize: 32, trackedSamples: 2 });
  const net = new AdaDfNet(TINY, { seed: 1 });
  const counts: number[] = [];
  await trainAdaDf(net, { train: data.train, test: data.test, numClasses: 7, imageSize: 32 }, cfg, {
    onEpoch: () => {
      counts.push(tf.memory().numTensors);
    },
  });
  assert.equal(counts[1], counts[2], `tensors per epoch end: ${counts}`);
  net.dispose();
});

Deno.test("trainAdaDf() runs every mode (adadf, baseline, class, label) with finite losses; baseline trains by CE alone", async () => {
  await initBackend("wasm");
  for (const mode of ["adadf", "baseline", "class", "label"] as const) {
    const cfg = resolveConfig({ epochs: 1, batchSize: 16, width: 4, imageSize: 32, trackedSamples: 2, mode });
    const net = new AdaDfNet({ ...TINY, variant: modelVariant(mode) }, { seed: 1 });
    const [m] = await trainAdaDf(net, { train: data.train, test: data.test, numClasses: 7, imageSize: 32 }, cfg);
    net.dispose();
    for (const k of ["loss", "lossCe", "lossKld", "lossRr"] as const) {
      assert.ok(Number.isFinite(m[k]), `${mode}: ${k} = ${m[k]}`);
    }
    if (mode === "baseline") {
      assert.equal(m.lossKld, 0);
      assert.equal(m.lossRr, 0);
      assert.equal(m.a2, 0);
      assert.ok(Math.abs(m.loss - m.lossCe) < 1e-6);
    } else {
      assert.ok(m.lossKld > 0, `${mode} has a KL term`);
    }
  }
});

Deno.test("freezeStem keeps the stem's weights but, as PyTorch, still updates its BatchNorm running statistics", async () => {
  await initBackend("wasm");
  const net = new AdaDfNet(TINY, { seed: 1 });
  const conv1 = Array.from(net.params.get("feature.conv1.weight")!.dataSync());
  const rm = Array.from(net.params.get("feature.bn1.running_mean")!.dataSync());
  const branch = Array.from(net.params.get("branch_1.layer2.0.conv1.weight")!.dataSync());
  const optimizer = tf.train.adam(1e-2);
  const batch = toTensors(makeBatch(data.train, Array.from({ length: 16 }, (_, i) => i), { imageSize: 32 }));
  const classDistributions = tf.tensor2d(initialClassDistributions(7, 0.7));
  trainStep(net, batch, {
    optimizer,
    variables: net.trainableVariables(true),
    classDistributions,
    loss: { epoch: 1, beta: 3 },
  });
  assert.deepEqual(Array.from(net.params.get("feature.conv1.weight")!.dataSync()), conv1, "frozen conv1 changed");
  assert.notDeepEqual(
    Array.from(net.params.get("feature.bn1.running_mean")!.dataSync()),
    rm,
    "running mean not updated",
  );
  assert.notDeepEqual(
    Array.from(net.params.get("branch_1.layer2.0.conv1.weight")!.dataSync()),
    branch,
    "branch not trained",
  );
  assert.ok(net.trainableVariables(true).every((v) => !v.name.startsWith("feature.")));
  tf.dispose([batch.x, batch.labels, classDistributions]);
  optimizer.dispose();
  net.dispose();
});

Deno.test("ResNet-50 dual-branch model trains a step on a tiny input", async () => {
  await initBackend("wasm");
  const net = new AdaDfNet({ backbone: "resnet50", width: 4, numClasses: 7 }, { seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const r = stepOnce(net, optimizer);
  assert.ok(Number.isFinite(r.total));
  assert.deepEqual(net.params.get("alpha_1.weight")!.shape, [128, 1]); // 8 * width * 4
  optimizer.dispose();
  net.dispose();
});

Deno.test("trainAdaDf() refuses a mode and a network that do not match (baseline = plain network)", async () => {
  await initBackend("wasm");
  const data2 = { train: data.train, test: data.test, numClasses: 7, imageSize: 32 };
  const dual = new AdaDfNet(TINY, { seed: 1 });
  await assert.rejects(
    trainAdaDf(dual, data2, resolveConfig({ epochs: 1, batchSize: 16, width: 4, imageSize: 32, mode: "baseline" })),
    /mode 'baseline' trains a plain network/,
  );
  dual.dispose();
  const plain = new AdaDfNet({ ...TINY, variant: "plain" }, { seed: 1 });
  await assert.rejects(
    trainAdaDf(plain, data2, resolveConfig({ epochs: 1, batchSize: 16, width: 4, imageSize: 32, mode: "adadf" })),
    /mode 'adadf' trains the dual-branch network/,
  );
  plain.dispose();
});

Deno.test("trainAdaDf() records each tracked sample's fused target and w as the loss used them in its batch", async () => {
  await initBackend("wasm");
  const cfg = resolveConfig({ epochs: 2, batchSize: 16, width: 4, imageSize: 32, trackedSamples: 6 });
  const net = new AdaDfNet(TINY, { seed: 1 });
  const records: EpochResult["tracked"][] = [];
  await trainAdaDf(net, { train: data.train, test: data.test, numClasses: 7, imageSize: 32 }, cfg, {
    onEpoch: (r) => void records.push(r.tracked),
  });
  net.dispose();
  // 48 faces in batches of 16: every face is in a batch every epoch
  for (const r of records) {
    assert.equal(r.samples.length, 6);
    for (const s of r.samples) {
      assert.equal(s.source, "batch");
      assert.ok(s.step! >= 1 && s.step! <= 3);
      // eq. 12 holds for the recorded values (the loss's own fused row)
      const again = fuseDistributionValues(s.labelDistribution, s.classDistribution, s.w);
      s.fused.forEach((v, j) => assert.ok(Math.abs(v - again[j]) < 1e-5, `${v} vs ${again[j]}`));
      assert.ok(s.w >= cfg.minWeight - 1e-6 && s.w <= cfg.maxWeight + 1e-6);
      // the batch view is not the whole-set view (train mode, augmented image, batch range)
      assert.notDeepEqual(s.labelDistribution, s.wholeSet.labelDistribution);
      assert.ok(Math.abs(s.wholeSet.wAvg - (s.wholeSet.wAux + s.wholeSet.wTar) / 2) < 1e-6);
    }
  }
  // epoch 1 fuses with the threshold rows, epoch 2 with what epoch 1 mined
  assert.deepEqual(
    records[0].samples[0].classDistribution,
    initialClassDistributions(7, cfg.threshold)[records[0].samples[0].label],
  );
});

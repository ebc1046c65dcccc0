import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { AdaDfNet } from "../../lib/model/adadf_net.ts";
import { initialClassDistributions } from "../../lib/method/class_distributions.ts";
import { benchmark } from "../../lib/bench/bench.ts";
import { trainStep } from "../../lib/train/step.ts";
import { Prng } from "../../lib/util/prng.ts";

/** The kernels (name, output shapes) one profiled training step of a tiny net runs. */
async function stepKernels(freezeStem: boolean) {
  await initBackend("cpu");
  const prng = new Prng(3);
  const net = new AdaDfNet({ width: 2 }, { seed: 0 });
  const optimizer = tf.train.adam(1e-3);
  const x = tf.tensor4d(Float32Array.from({ length: 4 * 16 * 16 * 3 }, () => prng.normal()), [4, 16, 16, 3]);
  const labels = tf.tensor1d([0, 1, 2, 3], "int32");
  const classDistributions = tf.tensor2d(initialClassDistributions(7, 0.7));
  const variables = net.trainableVariables(freezeStem);
  const info = await tf.profile(() => {
    trainStep(net, { x, labels }, { optimizer, variables, classDistributions, loss: { epoch: 2, beta: 3 } });
  });
  const kernels = info.kernels.map((k) => ({ name: k.name, out: k.outputShapes }));
  optimizer.dispose();
  tf.dispose([x, labels, classDistributions]);
  net.dispose();
  return { kernels };
}

Deno.test("trainStep() with a frozen stem runs no gradient kernel for the stem's convolutions", async () => {
  const trained = await stepKernels(false);
  const frozen = await stepKernels(true);
  const count = (ks: { name: string }[], name: string) => ks.filter((k) => k.name === name).length;
  // the stem's 7x7 filter gradient [7, 7, 3, w] appears only when the stem trains
  const stemFilterGrad = (ks: { name: string; out: number[][] }[]) =>
    ks.some((k) => k.name === "Conv2DBackpropFilter" && k.out[0]?.[0] === 7 && k.out[0]?.[2] === 3);
  assert.ok(stemFilterGrad(trained.kernels), "the trained stem should have its 7x7 filter gradient");
  assert.ok(!stemFilterGrad(frozen.kernels), "a frozen stem must not get a filter gradient");
  // layer1's 4 convolutions lose both gradients; the branches' first convolutions lose dx
  const fTrained = count(trained.kernels, "Conv2DBackpropFilter");
  const fFrozen = count(frozen.kernels, "Conv2DBackpropFilter");
  assert.equal(fTrained - fFrozen, 5, `filter gradients: ${fTrained} trained vs ${fFrozen} frozen`);
  assert.ok(
    count(frozen.kernels, "Conv2DBackpropInput") < count(trained.kernels, "Conv2DBackpropInput") - 4,
    "input gradients of layer1 and of the branches' first convolutions must go",
  );
});

Deno.test("benchmark() reports train and infer images/s for each size", async () => {
  await initBackend("cpu");
  const before = tf.memory().numTensors;
  const report = await benchmark({ sizes: [16], batchSize: 2, width: 2, steps: 1, profile: true, freezeStem: true });
  assert.deepEqual(report.results.map((r) => r.kind), ["train", "infer"]);
  for (const r of report.results) assert.ok(r.imagesPerSecond > 0 && Number.isFinite(r.imagesPerSecond));
  assert.ok(report.kernels.length > 0);
  assert.equal(tf.memory().numTensors, before);
});

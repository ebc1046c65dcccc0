/**
 * A two-epoch Ada-DF run on `webgpu` with the project's WGSL kernels (convolutions, matrix
 * products, fused BatchNorm) against the same run on `wasm`: same weights, data, batches and
 * optimizer, so the epochs' mean losses and accuracies must stay close (the backends' float
 * rounding differs, and Adam's steps amplify it a little). A tiny network (width 4) on 96
 * SynthFER faces at 32x32 keeps it within llvmpipe's speed. Needs a WebGPU adapter (Mesa's
 * llvmpipe in CI); without one it skips loudly, and under CI=true it fails.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { makeBatch, toTensors } from "../../lib/data/batches.ts";
import { generateSynthFer } from "../../lib/data/synthfer.ts";
import { fastWebgpuKernelsOn } from "../../lib/kernels/mod.ts";
import { initialClassDistributions } from "../../lib/method/class_distributions.ts";
import { AdaDfNet } from "../../lib/model/adadf_net.ts";
import { targetBatchAsync, trainStepAsync } from "../../lib/train/step.ts";
import { webgpuForTests } from "./_webgpu.ts";

const adapter = await webgpuForTests("webgpu two-epoch training test");

const IMAGE = 32;
const BATCH = 16;
const EPOCHS = 2;

interface EpochMetrics {
  loss: number;
  trainAccuracy: number;
  testAccuracy: number;
}

async function twoEpochs(backend: "wasm" | "webgpu", data: Awaited<ReturnType<typeof generateSynthFer>>) {
  const choice = await initBackend(backend);
  if (backend === "webgpu") assert.ok(fastWebgpuKernelsOn(), "the project's webgpu kernels are on");
  const net = new AdaDfNet({ width: 4, numClasses: 7 }, { seed: 11, kernels: choice.layerKernels });
  const optimizer = tf.train.adam(1e-3);
  const classDistributions = tf.tensor2d(initialClassDistributions(7, 0.7));
  const n = data.train.labels.length;
  const metrics: EpochMetrics[] = [];
  let before = -1;
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    let loss = 0;
    let correct = 0;
    for (let start = 0; start < n; start += BATCH) {
      const rows = Array.from({ length: Math.min(BATCH, n - start) }, (_, i) => start + i);
      const batch = toTensors(makeBatch(data.train, rows, { imageSize: IMAGE }));
      const r = await trainStepAsync(net, batch, {
        optimizer,
        variables: net.trainableVariables(false),
        classDistributions,
        loss: { epoch, beta: 3 },
      });
      tf.dispose([batch.x, batch.labels]);
      loss += r.total * rows.length;
      correct += r.correct;
      if (before < 0) before = tf.memory().numTensors; // after the optimizer's slots exist
      else assert.equal(tf.memory().numTensors, before, `${backend}: a training step leaves no tensor behind`);
    }
    const test = toTensors(makeBatch(data.test, Array.from(data.test.labels.keys()), { imageSize: IMAGE }));
    const { logits } = await targetBatchAsync(net, test.x);
    let right = 0;
    for (let i = 0; i < data.test.labels.length; i++) {
      const row = logits.subarray(7 * i, 7 * i + 7);
      if (row.indexOf(Math.max(...row)) === data.test.labels[i]) right++;
    }
    tf.dispose([test.x, test.labels]);
    assert.equal(tf.memory().numTensors, before, `${backend}: evaluation leaves no tensor behind`);
    metrics.push({ loss: loss / n, trainAccuracy: correct / n, testAccuracy: right / data.test.labels.length });
  }
  tf.dispose(classDistributions);
  optimizer.dispose();
  net.dispose();
  return metrics;
}

Deno.test({
  name: "webgpu (the project's WGSL kernels): a two-epoch tiny Ada-DF run's losses and accuracies stay close to wasm's",
  ignore: !adapter,
  fn: async () => {
    const data = await generateSynthFer({ seed: 5, trainSize: 96, testSize: 28, imageSize: IMAGE });
    const t0 = performance.now();
    const wasm = await twoEpochs("wasm", data);
    const t1 = performance.now();
    const gpu = await twoEpochs("webgpu", data);
    const t2 = performance.now();
    console.log(
      `wasm ${JSON.stringify(wasm)} (${((t1 - t0) / 1000).toFixed(1)} s)\nwebgpu ${JSON.stringify(gpu)} (${
        ((t2 - t1) / 1000).toFixed(1)
      } s)`,
    );
    for (let e = 0; e < EPOCHS; e++) {
      const [a, b] = [wasm[e], gpu[e]];
      assert.ok(
        Math.abs(a.loss - b.loss) <= 1e-3 * Math.abs(a.loss),
        `epoch ${e + 1} loss: wasm ${a.loss}, webgpu ${b.loss}`,
      );
      // one image of 96 (train) or 28 (test) is 1 or 3.6 points; allow a few images to flip
      assert.ok(
        Math.abs(a.trainAccuracy - b.trainAccuracy) <= 0.05,
        `epoch ${e + 1} train accuracy: ${a.trainAccuracy} vs ${b.trainAccuracy}`,
      );
      assert.ok(
        Math.abs(a.testAccuracy - b.testAccuracy) <= 0.11,
        `epoch ${e + 1} test accuracy: ${a.testAccuracy} vs ${b.testAccuracy}`,
      );
    }
    await initBackend("cpu");
  },
});

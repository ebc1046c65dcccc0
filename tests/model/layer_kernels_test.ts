/**
 * The alternative forms of the model's reductions (lib/model/layers.ts `LayerKernels`) give
 * the same values and gradients as TF.js's own ops, ties in max-pool windows included.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { AdaDfNet, BnStatistics } from "../../lib/model/adadf_net.ts";
import {
  batchNorm,
  channelSums,
  DEFAULT_LAYER_KERNELS,
  type FusedBatchNorm,
  globalAveragePool,
  type LayerKernels,
  maxPool,
} from "../../lib/model/layers.ts";
import { Prng } from "../../lib/util/prng.ts";

await initBackend("cpu");

function randomTensor(shape: number[], seed: number, quantum = 0): tf.Tensor {
  const prng = new Prng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const v = Float32Array.from({ length: size }, () => {
    const x = prng.normal();
    return quantum > 0 ? Math.round(x / quantum) * quantum : x; // coarse values make ties
  });
  return tf.tensor(v, shape);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

Deno.test("channelSums() in matmul form equals tf.sum over N, H, W (two-stage split of 2*3*70*70 rows)", () => {
  const x = randomTensor([2, 70, 70, 5], 1);
  const a = channelSums(x, "reduce");
  const b = channelSums(x, "matmul");
  assert.deepEqual(b.shape, [5]);
  assert.ok(maxAbsDiff(a, b) < 1e-3, `max diff ${maxAbsDiff(a, b)}`);
  tf.dispose([x, a, b]);
});

Deno.test("channelSums() in gemv form (one ones-vector product) equals tf.sum over N, H, W", () => {
  const before = tf.memory().numTensors;
  const x = randomTensor([2, 70, 70, 5], 2);
  const a = channelSums(x, "reduce");
  const b = channelSums(x, "gemv");
  assert.deepEqual(b.shape, [5]);
  assert.ok(maxAbsDiff(a, b) < 1e-3, `max diff ${maxAbsDiff(a, b)}`);
  tf.dispose([x, a, b]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("globalAveragePool() in matmul form matches tf.mean and its gradient", () => {
  const x = randomTensor([3, 4, 5, 6], 2) as tf.Tensor4D;
  const dy = randomTensor([3, 6], 3);
  const run = (form: "reduce" | "matmul") =>
    tf.tidy(() => {
      const y = globalAveragePool(x, form);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(globalAveragePool(t as tf.Tensor4D, form), dy)))(x);
      return [y, g];
    });
  const before = tf.memory().numTensors;
  const [y1, g1] = run("reduce");
  const [y2, g2] = run("matmul");
  assert.ok(maxAbsDiff(y1, y2) < 1e-6);
  assert.ok(maxAbsDiff(g1, g2) < 1e-6);
  tf.dispose([y1, g1, y2, g2]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, dy]);
});

Deno.test("maxPool() in windows form matches tf.maxPool and routes the gradient to the first maximum on ties", () => {
  for (const [h, w] of [[7, 7], [8, 6], [50, 50]]) {
    const x = randomTensor([2, h, w, 3], h * 10 + w, 0.5) as tf.Tensor4D; // many ties
    const dy = randomTensor([2, Math.floor((h - 1) / 2) + 1, Math.floor((w - 1) / 2) + 1, 3], 7);
    const run = (form: "native" | "windows") =>
      tf.tidy(() => {
        const y = maxPool(x, form);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(maxPool(t as tf.Tensor4D, form), dy)))(x);
        return [y, g];
      });
    const [y1, g1] = run("native");
    const [y2, g2] = run("windows");
    assert.deepEqual(y2.shape, y1.shape);
    assert.equal(maxAbsDiff(y1, y2), 0, `forward differs at ${h}x${w}`);
    assert.ok(maxAbsDiff(g1, g2) < 1e-5, `gradient differs at ${h}x${w}: ${maxAbsDiff(g1, g2)}`);
    tf.dispose([x, dy, y1, g1, y2, g2]);
  }
});

Deno.test("batchNorm() runs the context's fusedBatchNorm when one is passed, and TF.js's ops when it declines or is absent", () => {
  const params = new Map<string, tf.Variable>([
    ["bn.weight", tf.variable(tf.ones([3]))],
    ["bn.bias", tf.variable(tf.zeros([3]))],
  ]);
  const x = randomTensor([2, 4, 4, 3], 5) as tf.Tensor4D;
  const marker = tf.zeros([2, 4, 4, 3]) as tf.Tensor4D;
  const calls: { relu: boolean; epsilon: number }[] = [];
  const accept: FusedBatchNorm = (_x, _g, _b, o) => {
    calls.push({ relu: o.relu, epsilon: o.epsilon });
    return tf.clone(marker);
  };
  const decline: FusedBatchNorm = (_x, _g, _b, o) => void calls.push({ relu: o.relu, epsilon: o.epsilon });
  const run = (kernels?: LayerKernels) =>
    tf.tidy(() => batchNorm({ params, training: true, kernels }, "bn", x, { relu: true }).dataSync());
  assert.deepEqual(Array.from(run({ ...DEFAULT_LAYER_KERNELS, fusedBatchNorm: accept })), Array(2 * 4 * 4 * 3).fill(0));
  assert.deepEqual(calls, [{ relu: true, epsilon: 1e-5 }]);
  const ops = run(undefined);
  assert.ok(ops.some((v) => v > 0), "the ops form normalises x");
  assert.deepEqual(run({ ...DEFAULT_LAYER_KERNELS, fusedBatchNorm: decline }), ops);
  assert.equal(calls.length, 2);
  tf.dispose([x, marker, ...params.values()]);
});

Deno.test("AdaDfNet hands its kernels to every training BatchNorm, and to none in eval mode", () => {
  let calls = 0;
  const count: FusedBatchNorm = () => void calls++;
  const net = new AdaDfNet({ width: 4 }, { seed: 0, kernels: { ...DEFAULT_LAYER_KERNELS, fusedBatchNorm: count } });
  const bn = new BnStatistics();
  tf.tidy(() => {
    net.apply(tf.zeros([2, 32, 32, 3]) as tf.Tensor4D, { training: true, bn });
  });
  bn.dispose();
  // ResNet-18: the stem's bn1, layer1's 4, and per branch layers 2-4 with 4 + 1 downsample each
  assert.equal(calls, 1 + 4 + 2 * 3 * 5);
  calls = 0;
  tf.tidy(() => {
    net.apply(tf.zeros([2, 32, 32, 3]) as tf.Tensor4D, { training: false });
  });
  assert.equal(calls, 0);
  net.dispose();
});

/**
 * The alternative forms of the model's reductions (lib/model/layers.ts `LayerKernels`) give
 * the same values and gradients as TF.js's own ops, ties in max-pool windows included.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { channelSums, globalAveragePool, maxPool, setLayerKernels } from "../../lib/model/layers.ts";
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

function withKernels<T>(choice: Parameters<typeof setLayerKernels>[0], fn: () => T): T {
  const previous = setLayerKernels(choice);
  try {
    return fn();
  } finally {
    setLayerKernels(previous);
  }
}

Deno.test("channelSums() in matmul form equals tf.sum over N, H, W (two-stage split of 2*3*70*70 rows)", () => {
  const x = randomTensor([2, 70, 70, 5], 1);
  const a = withKernels({ channelSums: "reduce" }, () => channelSums(x));
  const b = withKernels({ channelSums: "matmul" }, () => channelSums(x));
  assert.deepEqual(b.shape, [5]);
  assert.ok(maxAbsDiff(a, b) < 1e-3, `max diff ${maxAbsDiff(a, b)}`);
  tf.dispose([x, a, b]);
});

Deno.test("channelSums() in gemv form (one ones-vector product) equals tf.sum over N, H, W", () => {
  const before = tf.memory().numTensors;
  const x = randomTensor([2, 70, 70, 5], 2);
  const a = withKernels({ channelSums: "reduce" }, () => channelSums(x));
  const b = withKernels({ channelSums: "gemv" }, () => channelSums(x));
  assert.deepEqual(b.shape, [5]);
  assert.ok(maxAbsDiff(a, b) < 1e-3, `max diff ${maxAbsDiff(a, b)}`);
  tf.dispose([x, a, b]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("globalAveragePool() in matmul form matches tf.mean and its gradient", () => {
  const x = randomTensor([3, 4, 5, 6], 2) as tf.Tensor4D;
  const dy = randomTensor([3, 6], 3);
  const run = (form: "reduce" | "matmul") =>
    withKernels({ globalPool: form }, () => {
      const y = globalAveragePool(x);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(globalAveragePool(t as tf.Tensor4D), dy)))(x);
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
      withKernels({ maxPool: form }, () => {
        const y = maxPool(x);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(maxPool(t as tf.Tensor4D), dy)))(x);
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

/**
 * The webgpu fused training BatchNorm (+ ReLU) of lib/kernels/webgpu_batchnorm.ts against the
 * model's op-by-op BatchNorm (lib/model/layers.ts `batchNorm`) on the `cpu` backend: output,
 * batch mean and variance, and the gradients of x, gamma and beta within 1e-4, with and
 * without the ReLU, for 4 to 130 channels (one, and several, channel tiles) and batch 2-8.
 * Needs a WebGPU adapter (Mesa's llvmpipe in CI); without one it skips loudly, and under
 * CI=true it fails.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { useFastWebgpuKernels, webgpuFusedBatchNorm } from "../../lib/kernels/mod.ts";
import { batchNorm, type LayerKernels } from "../../lib/model/layers.ts";
import { Prng } from "../../lib/util/prng.ts";
import { maxRelError } from "./_compare.ts";
import { webgpuForTests } from "./_webgpu.ts";

const adapter = await webgpuForTests("webgpu BatchNorm kernel tests");

const SHAPES: [number, number, number, number][] = [[8, 6, 6, 4], [2, 12, 12, 64], [4, 3, 5, 130], [2, 16, 16, 16]];

function values(n: number, seed: number, scale = 1, shift = 0): Float32Array {
  const prng = new Prng(seed);
  return Float32Array.from({ length: n }, () => shift + scale * prng.normal());
}

/** y, mean, variance and the gradients of sum(y * g) by x, gamma, beta, on the active backend. */
async function run(shape: [number, number, number, number], relu: boolean, seed: number, kernels?: LayerKernels) {
  const c = shape[3];
  const size = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(values(size, seed, 2, 0.5), shape) as tf.Tensor4D;
  const g = tf.tensor(values(size, seed + 1), shape) as tf.Tensor4D;
  const params = new Map<string, tf.Variable>([
    ["bn.weight", tf.variable(tf.tensor1d(values(c, seed + 2, 0.5, 1)))],
    ["bn.bias", tf.variable(tf.tensor1d(values(c, seed + 3, 0.5)))],
  ]);
  const stats: tf.Tensor[] = [];
  const bn = { push: (_: string, mean: tf.Tensor1D, variance: tf.Tensor1D) => void stats.push(mean, variance) };
  const before = tf.memory().numTensors;
  let y: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = batchNorm({ params, training: true, bn, kernels }, "bn", x, { relu });
    y = tf.keep(out);
    return tf.sum(tf.mul(out, g)) as tf.Scalar;
  }, [...params.values()]);
  const [dx] = tf.grads((t: tf.Tensor) =>
    tf.sum(tf.mul(batchNorm({ params, training: true, kernels }, "bn", t as tf.Tensor4D, { relu }), g))
  )([x]);
  const out = {
    y: await y!.data() as Float32Array,
    mean: await stats[0].data() as Float32Array,
    variance: await stats[1].data() as Float32Array,
    dx: await dx.data() as Float32Array,
    dgamma: await grads[params.get("bn.weight")!.name].data() as Float32Array,
    dbeta: await grads[params.get("bn.bias")!.name].data() as Float32Array,
  };
  tf.dispose([y!, value, dx, ...stats, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  tf.dispose([x, g, ...params.values()]);
  return out;
}

Deno.test({
  name:
    "webgpuFusedBatchNorm() matches the op-by-op BatchNorm on cpu within 1e-4: output, batch statistics, all three gradients, with and without ReLU",
  ignore: !adapter,
  fn: async () => {
    const worst: Record<string, number> = {};
    for (const [i, shape] of SHAPES.entries()) {
      for (const relu of [false, true]) {
        await initBackend("cpu");
        const ref = await run(shape, relu, 10 * i);
        await initBackend("webgpu");
        useFastWebgpuKernels(true);
        const kernels: LayerKernels = {
          channelSums: "reduce",
          globalPool: "reduce",
          maxPool: "native",
          fusedBatchNorm: (x, gamma, beta, options) => {
            const y = webgpuFusedBatchNorm(x, gamma, beta, options);
            assert.ok(y !== undefined, "the webgpu kernels ran");
            return y;
          },
        };
        const gpu = await run(shape, relu, 10 * i, kernels);
        for (const k of Object.keys(ref) as (keyof typeof ref)[]) {
          const e = maxRelError(gpu[k], ref[k]);
          worst[k] = Math.max(worst[k] ?? 0, e);
          assert.ok(
            e < 1e-4,
            `${shape} relu ${relu}: ${k} relative error ${e} ${gpu[k].slice(0, 4)} vs ${ref[k].slice(0, 4)}`,
          );
        }
      }
    }
    console.log(`BatchNorm max relative errors vs cpu: ${JSON.stringify(worst)}`);
    await initBackend("cpu");
  },
});

Deno.test({
  name:
    "webgpuFusedBatchNorm() returns undefined where its kernels are not registered (cpu; webgpu with TF.js's kernels)",
  ignore: !adapter,
  fn: async () => {
    const x = () => tf.zeros([2, 2, 2, 3]) as tf.Tensor4D;
    const opts = { epsilon: 1e-5, relu: false, onStats: () => {} };
    await initBackend("cpu");
    assert.equal(webgpuFusedBatchNorm(x(), tf.ones([3]), tf.zeros([3]), opts), undefined);
    await initBackend("webgpu");
    useFastWebgpuKernels(false);
    try {
      assert.equal(webgpuFusedBatchNorm(x(), tf.ones([3]), tf.zeros([3]), opts), undefined);
    } finally {
      useFastWebgpuKernels(true);
      await initBackend("cpu");
    }
  },
});

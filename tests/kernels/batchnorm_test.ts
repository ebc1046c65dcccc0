import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { BN_TRAIN_KERNEL, fusedBatchNorm } from "../../lib/kernels/batchnorm.ts";
import { batchNorm, type BnRecorder, DEFAULT_LAYER_KERNELS, type LayerKernels } from "../../lib/model/layers.ts";
import { Prng } from "../../lib/util/prng.ts";
import { maxRelError, withoutDnnl } from "./_compare.ts";

withoutDnnl(); // these test the kernels oneDNN would take over where it is installed

/** Training-mode BatchNorm (+ ReLU): output, recorded statistics and the three gradients. */
async function run(backend: "cpu" | "wasm", form: "ops" | "fused", shape: number[], relu: boolean) {
  await initBackend(backend);
  const kernels: LayerKernels = form === "fused" ? { ...DEFAULT_LAYER_KERNELS, fusedBatchNorm } : DEFAULT_LAYER_KERNELS;
  const prng = new Prng(21);
  const c = shape[3];
  const size = shape.reduce((a, b) => a * b, 1);
  const rand = (n: number, s = 1, o = 0) => Float32Array.from({ length: n }, () => o + s * prng.normal());
  const params = new Map<string, tf.Variable>([
    ["bn.weight", tf.variable(tf.tensor1d(rand(c, 0.5, 1)))],
    ["bn.bias", tf.variable(tf.tensor1d(rand(c, 0.5)))],
  ]);
  const x = tf.tensor4d(rand(size, 2, 0.3), shape as [number, number, number, number]);
  const dy = tf.tensor4d(rand(size), shape as [number, number, number, number]);
  const recorded: tf.Tensor[][] = [];
  const bn: BnRecorder = { push: (_name, mean, variance) => recorded.push([mean, variance]) };
  const before = tf.memory().numTensors;
  const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const ps = new Map(params);
    ps.set("bn.weight", g as tf.Variable);
    ps.set("bn.bias", b as tf.Variable);
    return tf.sum(tf.mul(batchNorm({ params: ps, training: true, bn, kernels }, "bn", a as tf.Tensor4D, { relu }), dy));
  };
  const y = tf.tidy(() => batchNorm({ params, training: true, bn, kernels }, "bn", x, { relu }));
  const grads = tf.grads(f)([x, params.get("bn.weight")!, params.get("bn.bias")!]);
  const out = {
    y: await y.data(),
    dx: await grads[0].data(),
    dgamma: await grads[1].data(),
    dbeta: await grads[2].data(),
    stats: [...await recorded[0][0].data(), ...await recorded[0][1].data()],
  };
  tf.dispose([y, ...grads, ...recorded.flat()]);
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
  tf.dispose([x, dy, ...params.values()]);
  return out;
}

for (const [shape, relu] of [[[2, 5, 6, 3], true], [[3, 4, 4, 8], false], [[1, 7, 3, 16], true]] as const) {
  Deno.test(`wasm fused BatchNorm${relu ? " + ReLU" : ""} matches the op-by-op form on cpu: output, statistics, gradients [${shape}]`, async () => {
    const ref = await run("cpu", "ops", [...shape], relu);
    const got = await run("wasm", "fused", [...shape], relu);
    assert.ok(tf.getKernel(BN_TRAIN_KERNEL, "wasm") !== undefined);
    for (const k of ["y", "dx", "dgamma", "dbeta", "stats"] as const) {
      assert.ok(maxRelError(got[k], ref[k]) < 2e-5, `${k}: relative error ${maxRelError(got[k], ref[k])}`);
    }
    if (relu) assert.ok(got.y.some((v) => v === 0) && got.y.some((v) => v > 0), "the ReLU clipped some values");
  });
}

Deno.test("fusedBatchNorm() declines activations above the kernels' size or channel limits, and batchNorm() then runs ops", async () => {
  await initBackend("wasm");
  const seen: string[] = [];
  const names = ["AdadfBatchNormTrain", "Sub"];
  const kernels: LayerKernels = { ...DEFAULT_LAYER_KERNELS, fusedBatchNorm };
  for (const shape of [[1, 2, 2, 256], [2, 2, 2, 8]] as [number, number, number, number][]) {
    const params = new Map<string, tf.Variable>([
      ["bn.weight", tf.variable(tf.ones([shape[3]]))],
      ["bn.bias", tf.variable(tf.zeros([shape[3]]))],
    ]);
    const info = await tf.profile(() =>
      tf.tidy(() => batchNorm({ params, training: true, kernels }, "bn", tf.ones(shape) as tf.Tensor4D))
    );
    seen.push(info.kernels.map((k) => k.name).filter((n) => names.includes(n)).join(","));
    tf.dispose([...params.values()]);
  }
  assert.deepEqual(seen, ["Sub", "AdadfBatchNormTrain"]);
});

Deno.test("batchNorm() runs the fused kernels only when its context passes fusedBatchNorm", async () => {
  await initBackend("wasm");
  const params = new Map<string, tf.Variable>([
    ["bn.weight", tf.variable(tf.ones([8]))],
    ["bn.bias", tf.variable(tf.zeros([8]))],
  ]);
  const fusedRuns = async (kernels?: LayerKernels) => {
    const info = await tf.profile(() =>
      tf.tidy(() => batchNorm({ params, training: true, kernels }, "bn", tf.ones([2, 3, 3, 8]) as tf.Tensor4D))
    );
    return info.kernels.filter((k) => k.name === BN_TRAIN_KERNEL).length;
  };
  assert.equal(await fusedRuns({ ...DEFAULT_LAYER_KERNELS, fusedBatchNorm }), 1);
  assert.equal(await fusedRuns(DEFAULT_LAYER_KERNELS), 0);
  assert.equal(await fusedRuns(undefined), 0);
  tf.dispose([...params.values()]);
});

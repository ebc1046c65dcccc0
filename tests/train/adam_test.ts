import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { adam } from "../../lib/train/adam.ts";
import { adamSimdReady, useAdamSimd } from "../../lib/kernels/mod.ts";
import { Prng } from "../../lib/util/prng.ts";

/** Four Adam steps on two variables with fixed gradients; returns the values and the optimizer's weights. */
async function run(make: () => tf.Optimizer) {
  const prng = new Prng(5);
  const init = (n: number) => Float32Array.from({ length: n }, () => prng.normal());
  const a = tf.variable(tf.tensor2d(init(12), [3, 4]), true, `adam_test_a_${Math.random()}`);
  const b = tf.variable(tf.tensor1d(init(5)), true, `adam_test_b_${Math.random()}`);
  const grads = [0, 1, 2].map(() => [tf.tensor2d(init(12), [3, 4]), tf.tensor1d(init(5))]);
  const opt = make();
  const before = tf.memory().numTensors;
  for (const [ga, gb] of grads) opt.applyGradients([{ name: a.name, tensor: ga }, { name: b.name, tensor: gb }]);
  const after = tf.memory().numTensors;
  // once the moments exist, a step leaves the tensor count where it found it
  opt.applyGradients([{ name: a.name, tensor: grads[0][0] }, { name: b.name, tensor: grads[0][1] }]);
  assert.equal(tf.memory().numTensors, after, "a step leaked tensors");
  const weights = await opt.getWeights();
  const out = {
    a: Array.from(await a.data()),
    b: Array.from(await b.data()),
    names: weights.map((w) => w.name.replace(/_[0-9.]+/, "")),
    moments: await Promise.all(weights.map(async (w) => Array.from(await w.tensor.data()))),
    // moments are created on the first step: 4 variables + 2 accumulators stay
    created: after - before,
  };
  opt.dispose();
  tf.dispose([a, b, ...grads.flat()]);
  return out;
}

function close(a: number[], b: number[], tol: number) {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `${i}: ${a[i]} vs ${b[i]}`);
  }
}

for (const simd of [true, false]) {
  Deno.test(`adam() on wasm (fused kernel, ${simd ? "SIMD" : "JavaScript"} loop) gives TF.js Adam's values, moments and state, and leaks nothing`, async () => {
    await initBackend("wasm");
    useAdamSimd(simd);
    try {
      assert.equal(adamSimdReady(tf.backend()), simd, "the loop asked for runs");
      const ref = await run(() => tf.train.adam(0.01, 0.9, 0.999, 1e-8));
      const got = await run(() => adam(0.01));
      close(got.a, ref.a, 1e-6);
      close(got.b, ref.b, 1e-6);
      assert.deepEqual(got.names, ref.names);
      got.moments.forEach((m, i) => close(m, ref.moments[i], 1e-6));
      assert.equal(got.created, ref.created);
    } finally {
      useAdamSimd(true);
    }
  });
}

Deno.test("adam() falls back to TF.js's update where the backend has no fused kernel (cpu)", async () => {
  await initBackend("cpu");
  const ref = await run(() => tf.train.adam(0.01, 0.9, 0.999, 1e-8));
  const got = await run(() => adam(0.01));
  assert.deepEqual(got.a, ref.a);
  assert.deepEqual(got.b, ref.b);
});

Deno.test({
  name: "adam()'s SIMD loop also runs on the single-threaded wasm build (its heap is not shared), with the same values",
  // the thread count is fixed per process: the SIMD test above again, in a child on one thread
  ignore: Deno.env.get("ADADF_WASM_THREADS") === "1",
  fn: async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--filter", "/SIMD loop/", new URL(import.meta.url).pathname],
      env: { ADADF_WASM_THREADS: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text.slice(-3000));
    assert.match(text.replace(/\x1b\[[0-9;]*m/g, ""), /ok \| 1 passed/);
  },
});

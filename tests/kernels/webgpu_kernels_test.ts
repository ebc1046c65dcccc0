/**
 * The webgpu kernels of lib/kernels/webgpu.ts: the im2col filter gradient is plain
 * TF.js math, so it is checked on `cpu` against TF.js's own gradient for every padding and
 * stride the model uses; then, where a WebGPU adapter exists (here Mesa's llvmpipe), the
 * registered kernels are checked on `webgpu` against `cpu`, and whole Ada-DF training steps with
 * the project's WGSL kernels on (webgpu_gemm_test.ts and webgpu_batchnorm_test.ts check each
 * kernel alone).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { webgpuForTests } from "./_webgpu.ts";
import { conv2dFilterGradientIm2col, useFastWebgpuKernels } from "../../lib/kernels/mod.ts";
import { Prng } from "../../lib/util/prng.ts";

type Case = { k: number; s: number; pad: number | "same" | "valid"; h: number; w: number; cin: number; cout: number };
const CASES: Case[] = [
  { k: 1, s: 1, pad: 0, h: 6, w: 6, cin: 4, cout: 5 },
  { k: 1, s: 2, pad: 0, h: 9, w: 8, cin: 3, cout: 6 },
  { k: 3, s: 1, pad: 1, h: 7, w: 9, cin: 3, cout: 4 },
  { k: 3, s: 2, pad: 1, h: 9, w: 9, cin: 2, cout: 3 },
  { k: 3, s: 2, pad: 1, h: 8, w: 10, cin: 2, cout: 3 },
  { k: 7, s: 2, pad: 3, h: 15, w: 16, cin: 3, cout: 4 },
  { k: 3, s: 2, pad: "same", h: 8, w: 8, cin: 2, cout: 2 },
  { k: 3, s: 1, pad: "valid", h: 8, w: 7, cin: 2, cout: 3 },
];

function tensor(shape: number[], seed: number): tf.Tensor {
  const prng = new Prng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => prng.normal()), shape);
}

function relErr(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-12);
}

/** Reference gradients on `cpu`: dW and dx of sum(conv(x, W) * g). */
function reference(c: Case, seed: number) {
  const x = tensor([2, c.h, c.w, c.cin], seed) as tf.Tensor4D;
  const f = tensor([c.k, c.k, c.cin, c.cout], seed + 1) as tf.Tensor4D;
  const y = tf.conv2d(x, f, c.s, c.pad);
  const g = tensor(y.shape, seed + 2) as tf.Tensor4D;
  const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), g))
  )([x, f]);
  return { x, f, g, dx, dw };
}

Deno.test("conv2dFilterGradientIm2col() equals TF.js's filter gradient on cpu for 1x1, 3x3, 7x7, stride 1 and 2, all paddings", async () => {
  await initBackend("cpu");
  for (const [i, c] of CASES.entries()) {
    const r = reference(c, 10 * i);
    const before = tf.memory().numTensors;
    const dw = conv2dFilterGradientIm2col(r.x, r.g, {
      strides: c.s,
      pad: c.pad,
      filterShape: [c.k, c.k, c.cin, c.cout],
    });
    assert.equal(tf.memory().numTensors, before + 1, "no tensor left behind");
    assert.deepEqual(dw.shape, r.dw.shape);
    const e = relErr(dw.dataSync(), r.dw.dataSync());
    assert.ok(e < 1e-5, `case ${JSON.stringify(c)}: relative error ${e}`);
    tf.dispose([dw, r.x, r.f, r.g, r.dx, r.dw]);
  }
});

// probed through the toolkit (tests/kernels/_webgpu.ts), not navigator.gpu: no Mesa line in the log
const adapter = await webgpuForTests("webgpu kernel test");

Deno.test({
  name: "webgpu: the project's convolution gradient kernels match the cpu backend",
  ignore: !adapter,
  fn: async () => {
    await initBackend("cpu");
    const refs = CASES.map((c, i) => {
      const r = reference(c, 100 + i);
      const out = {
        x: r.x.dataSync(),
        f: r.f.dataSync(),
        g: r.g.dataSync(),
        dx: r.dx.dataSync(),
        dw: r.dw.dataSync(),
        shapes: [r.x.shape, r.f.shape, r.g.shape],
      };
      tf.dispose([r.x, r.f, r.g, r.dx, r.dw]);
      return out;
    });
    await initBackend("webgpu");
    useFastWebgpuKernels(true);
    try {
      for (const [i, c] of CASES.entries()) {
        const r = refs[i];
        const x = tf.tensor(r.x, r.shapes[0]) as tf.Tensor4D;
        const f = tf.tensor(r.f, r.shapes[1]) as tf.Tensor4D;
        const g = tf.tensor(r.g, r.shapes[2]) as tf.Tensor4D;
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), g))
        )([x, f]);
        const ex = relErr(await dx.data() as Float32Array, r.dx);
        const ew = relErr(await dw.data() as Float32Array, r.dw);
        assert.ok(ex < 1e-4 && ew < 1e-4, `case ${JSON.stringify(c)}: dx ${ex}, dW ${ew}`);
        tf.dispose([x, f, g, dx, dw]);
      }
    } finally {
      useFastWebgpuKernels(false);
      await initBackend("cpu");
    }
  },
});

Deno.test({
  name: "webgpu: one Ada-DF training step (GPU forms of the reductions, async read-back) matches the cpu backend",
  ignore: !adapter,
  fn: async () => {
    const { AdaDfNet } = await import("../../lib/model/adadf_net.ts");
    const { trainStepAsync } = await import("../../lib/train/step.ts");
    const { initialClassDistributions } = await import("../../lib/method/class_distributions.ts");
    const run = async (backend: "cpu" | "webgpu") => {
      const choice = await initBackend(backend);
      const net = new AdaDfNet({ width: 4 }, { seed: 3, kernels: choice.layerKernels });
      const x = tensor([8, 20, 20, 3], 5) as tf.Tensor4D;
      const labels = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 0], "int32");
      const classDistributions = tf.tensor2d(initialClassDistributions(7, 0.5));
      const optimizer = tf.train.adam(1e-3);
      const options = {
        optimizer,
        variables: net.trainableVariables(false),
        classDistributions,
        loss: { epoch: 2, beta: 3 },
      };
      const first = await trainStepAsync(net, { x, labels }, options);
      const before = tf.memory().numTensors;
      const second = await trainStepAsync(net, { x, labels }, options);
      assert.equal(tf.memory().numTensors, before, `${backend}: the step leaves no tensor behind`);
      const forms = choice.layerKernels;
      tf.dispose([x, labels, classDistributions]);
      optimizer.dispose();
      net.dispose();
      return { first, second, forms };
    };
    const cpu = await run("cpu");
    const gpu = await run("webgpu");
    assert.deepEqual(cpu.forms, { channelSums: "reduce", globalPool: "reduce", maxPool: "native" });
    assert.deepEqual(
      { ...gpu.forms, fusedBatchNorm: typeof gpu.forms.fusedBatchNorm },
      { channelSums: "matmul", globalPool: "matmul", maxPool: "windows", fusedBatchNorm: "function" },
    );
    // the first step's losses agree tightly; after one Adam update (which moves every weight by
    // about lr whatever its gradient's size, so near-zero gradients of either sign diverge) loosely
    for (const k of ["total", "ce", "kld", "rr"] as const) {
      for (const [step, tol] of [["first", 1e-4], ["second", 1e-2]] as const) {
        const a = cpu[step][k];
        const b = gpu[step][k];
        assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(a)), `${step} step ${k}: cpu ${a}, webgpu ${b}`);
      }
    }
    await initBackend("cpu");
  },
});

Deno.test({
  name:
    "webgpu: every parameter's Ada-DF gradient (width 4, 32x32; the project's WGSL convolutions, matrix products and fused BatchNorm) matches the cpu backend within 1e-4",
  ignore: !adapter,
  fn: async () => {
    const { AdaDfNet, BnStatistics } = await import("../../lib/model/adadf_net.ts");
    const { adaDfLoss } = await import("../../lib/method/adadf_loss.ts");
    const { initialClassDistributions } = await import("../../lib/method/class_distributions.ts");
    const { fastWebgpuKernelsOn } = await import("../../lib/kernels/mod.ts");
    const grads = async (backend: "cpu" | "webgpu") => {
      const choice = await initBackend(backend);
      if (backend === "webgpu") {
        assert.ok(fastWebgpuKernelsOn(), "initBackend('webgpu') turns the project's kernels on");
      }
      const net = new AdaDfNet({ width: 4 }, { seed: 3, kernels: choice.layerKernels });
      const x = tensor([8, 32, 32, 3], 5) as tf.Tensor4D;
      const labels = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 0], "int32");
      const cd = tf.tensor2d(initialClassDistributions(7, 0.5));
      const { value, grads } = tf.variableGrads(() => {
        const o = net.apply(x, { training: true, bn: new BnStatistics() });
        return adaDfLoss({ ...o, labels, classDistributions: cd }, { epoch: 2, beta: 3 }).total;
      }, net.trainableVariables(false));
      const out: Record<string, Float32Array> = {};
      for (const [k, v] of Object.entries(grads)) out[k] = await v.data() as Float32Array;
      tf.dispose([value, x, labels, cd, ...Object.values(grads)]);
      net.dispose();
      return out;
    };
    const cpu = await grads("cpu");
    const gpu = await grads("webgpu");
    let worst = 0;
    for (const name of Object.keys(cpu)) {
      const e = relErr(gpu[name], cpu[name]);
      worst = Math.max(worst, e);
      assert.ok(e < 1e-4, `${name}: relative error ${e}`);
    }
    console.log(`${Object.keys(cpu).length} parameter gradients, worst relative error vs cpu ${worst}`);
    await initBackend("cpu");
  },
});

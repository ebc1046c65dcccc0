/**
 * The wasm backend's kernels on oneDNN (lib/kernels/dnnl.ts) against TF.js's `cpu` backend (or a
 * float64 reference): convolutions forward, input and filter gradient within 1e-5 of the largest
 * value (the issue asks 1e-4), on the shapes a narrowed ResNet-18 uses and on asymmetric
 * paddings; training BatchNorm (+ ReLU) and its gradient; max pool forward and backward,
 * inference BatchNorm, the global average pool and matrix products; primitives are reused per
 * shape, no tensor leaks, and the library stays loaded after a Worker that used it ends.
 * Skipped loudly without libdnnl2; required under CI.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { fusedBatchNorm, nativeKernelsDnnl } from "../../lib/kernels/mod.ts";
import { DNNL_BN_TRAIN_KERNEL } from "../../lib/kernels/batchnorm.ts";
import {
  batchNorm,
  type BnRecorder,
  DEFAULT_LAYER_KERNELS,
  type LayerKernels,
  maxPool,
} from "../../lib/model/layers.ts";
import { Prng } from "../../lib/util/prng.ts";
import { loadDnnlAs, matMulByLoops, maxRelError } from "./_compare.ts";

// Required under CI (.ci/run installs libdnnl2: a missing library fails there); elsewhere the
// file is skipped loudly without it.
const CI = Deno.env.get("CI") === "true";
const dnnl = loadDnnlAs("on", { threads: 2 }); // this file tests it on, whatever the environment says
if (dnnl.dnnl === undefined) {
  console.warn(
    `\n*** ${CI ? "FAILING (required under CI)" : "SKIPPED"}: the oneDNN kernels are not tested: ${dnnl.reason} ***\n`,
  );
}
const ignore = dnnl.dnnl === undefined && !CI;

interface ConvCase {
  xs: [number, number, number, number];
  fs: [number, number, number, number];
  stride: number | [number, number];
  pad: "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];
}

const randomArray = (n: number, prng: Prng) => Float32Array.from({ length: n }, () => prng.normal());

async function convAll(backend: "cpu" | "wasm", c: ConvCase, seed: number) {
  await initBackend(backend);
  if (backend === "wasm") assert.ok(nativeKernelsDnnl() !== undefined, "the oneDNN kernels are not active");
  const prng = new Prng(seed);
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(randomArray(c.xs.reduce((a, b) => a * b), prng), c.xs);
  const f = tf.tensor4d(randomArray(c.fs.reduce((a, b) => a * b), prng), c.fs);
  const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
  const y = conv(x, f);
  const dy = tf.tensor(randomArray(y.size, prng), y.shape);
  const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), dy)))([x, f]);
  const out = { y: await y.data(), dx: await gx.data(), df: await gf.data() };
  tf.dispose([x, f, y, dy, gx, gf]);
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
  return out;
}

const CASES: [string, ConvCase][] = [
  ["the stem: 7x7 stride 2 pad 3, 3 -> 16 at 48x48", { xs: [4, 48, 48, 3], fs: [7, 7, 3, 16], stride: 2, pad: 3 }],
  ["layer1: 3x3 stride 1 pad 1, 16 -> 16 at 12x12", { xs: [4, 12, 12, 16], fs: [3, 3, 16, 16], stride: 1, pad: 1 }],
  ["layer2's first: 3x3 stride 2 pad 1, 16 -> 32", { xs: [4, 12, 12, 16], fs: [3, 3, 16, 32], stride: 2, pad: 1 }],
  ["downsample: 1x1 stride 2, 32 -> 64", { xs: [4, 6, 6, 32], fs: [1, 1, 32, 64], stride: 2, pad: 0 }],
  ["layer4 at width 64: 3x3, 512 -> 512 at 2x2", { xs: [2, 2, 2, 512], fs: [3, 3, 512, 512], stride: 1, pad: 1 }],
  ["2x2 'same' (asymmetric padding)", { xs: [2, 7, 8, 5], fs: [2, 2, 5, 20], stride: 1, pad: "same" }],
  ["3x3 stride 2, explicit pads [2, 0] x [0, 1]", {
    xs: [2, 9, 10, 4],
    fs: [3, 3, 4, 17],
    stride: 2,
    pad: [[0, 0], [2, 0], [0, 1], [0, 0]],
  }],
  ["unequal strides [2, 1], 'same'", { xs: [2, 9, 10, 3], fs: [3, 3, 3, 4], stride: [2, 1], pad: "same" }],
  // TF.js's own geometry here is inconsistent (width from the height's stride): left to OpenBLAS
  ["unequal strides [2, 1], pad 1 (not on oneDNN)", { xs: [2, 9, 10, 3], fs: [3, 3, 3, 4], stride: [2, 1], pad: 1 }],
];

for (const [i, [name, c]] of CASES.entries()) {
  Deno.test({
    name: `oneDNN Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter match the cpu backend: ${name}`,
    ignore,
    fn: async () => {
      const ref = await convAll("cpu", c, 500 + i);
      const got = await convAll("wasm", c, 500 + i);
      for (const k of ["y", "dx", "df"] as const) {
        assert.ok(maxRelError(got[k], ref[k]) < 1e-5, `${k}: relative error ${maxRelError(got[k], ref[k])}`);
      }
      // the same shape again: the cached primitives give the same bytes
      const again = await convAll("wasm", c, 500 + i);
      for (const k of ["y", "dx", "df"] as const) assert.deepEqual(again[k], got[k]);
    },
  });
}

Deno.test({
  name: "oneDNN: the same filter tensor on new inputs (its reordered weights kept), then another filter, match cpu",
  ignore,
  fn: async () => {
    const prng = new Prng(77);
    const xs = [0, 1, 2].map(() => randomArray(2 * 8 * 8 * 16, prng));
    const fs = [0, 1].map(() => randomArray(3 * 3 * 16 * 32, prng));
    const outputs = async (backend: "cpu" | "wasm") => {
      await initBackend(backend);
      const [f0, f1] = fs.map((f) => tf.tensor4d(f, [3, 3, 16, 32]));
      const ys: Float32Array[] = [];
      for (const [x, f] of [[xs[0], f0], [xs[1], f0], [xs[2], f1], [xs[0], f0]] as const) {
        const xt = tf.tensor4d(x, [2, 8, 8, 16]);
        const y = tf.conv2d(xt, f, 1, 1);
        ys.push(await y.data() as Float32Array);
        tf.dispose([xt, y]);
      }
      tf.dispose([f0, f1]);
      return ys;
    };
    const ref = await outputs("cpu");
    const got = await outputs("wasm");
    got.forEach((y, i) => assert.ok(maxRelError(y, ref[i]) < 1e-5, `call ${i}: ${maxRelError(y, ref[i])}`));
  },
});

Deno.test({
  name: "oneDNN: the primitives are JIT kernels, and the backend's reason line names the library",
  ignore,
  fn: async () => {
    const choice = await initBackend("wasm");
    assert.match(choice.reason, /convolutions, BatchNorm, pooling and matrix products on oneDNN 2\.\d+\.\d+/);
    await convAll("wasm", CASES[1][1], 9); // at least one primitive, when this test runs alone
    // the convolutions' primitives (other tests' pools and products may have made others already)
    const impls = [...nativeKernelsDnnl()!.implementations()].filter(([k]) => /^(fwd|bwd_data|bwd_weights):/.test(k))
      .map(([, v]) => v);
    assert.ok(impls.length > 0);
    // no reference (ref:any) kernels: the layouts were chosen for the JIT ones
    assert.ok(impls.every((s) => !s.startsWith("ref")), impls.join(", "));
  },
});

/** Training-mode BatchNorm (+ ReLU) through the model's batchNorm(): output, statistics, gradients. */
async function bnAll(backend: "cpu" | "wasm", shape: [number, number, number, number], relu: boolean) {
  await initBackend(backend);
  const kernels: LayerKernels = backend === "wasm"
    ? { ...DEFAULT_LAYER_KERNELS, fusedBatchNorm }
    : DEFAULT_LAYER_KERNELS;
  const prng = new Prng(31);
  const c = shape[3];
  const size = shape.reduce((a, b) => a * b, 1);
  const rand = (n: number, s = 1, o = 0) => Float32Array.from({ length: n }, () => o + s * prng.normal());
  const params = new Map<string, tf.Variable>([
    ["bn.weight", tf.variable(tf.tensor1d(rand(c, 0.5, 1)))],
    ["bn.bias", tf.variable(tf.tensor1d(rand(c, 0.5)))],
  ]);
  const x = tf.tensor4d(rand(size, 2, 0.3), shape);
  const dy = tf.tensor4d(rand(size), shape);
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

for (
  const [shape, relu] of [
    [[4, 6, 6, 16], true],
    [[3, 5, 4, 8], false],
    [[2, 13, 13, 64], true], // above the JavaScript kernels' size limit: oneDNN takes every size
    [[2, 2, 2, 512], false],
  ] as [[number, number, number, number], boolean][]
) {
  Deno.test({
    name: `oneDNN BatchNorm${
      relu ? " + ReLU" : ""
    } matches the op-by-op form on cpu: output, statistics, gradients [${shape}]`,
    ignore,
    fn: async () => {
      const ref = await bnAll("cpu", shape, relu);
      const got = await bnAll("wasm", shape, relu);
      assert.ok(tf.getKernel(DNNL_BN_TRAIN_KERNEL, "wasm") !== undefined);
      for (const k of ["y", "dx", "dgamma", "dbeta", "stats"] as const) {
        assert.ok(maxRelError(got[k], ref[k]) < 1e-4, `${k}: relative error ${maxRelError(got[k], ref[k])}`);
      }
      if (relu) assert.ok(got.y.some((v) => v === 0) && got.y.some((v) => v > 0), "the ReLU clipped some values");
    },
  });
}

Deno.test({
  name: "oneDNN MaxPoolGrad routes dy to each window's first maximum, as PyTorch and the windows form do",
  ignore,
  fn: async () => {
    // ReLU'd inputs: many windows of equal zeros, where the tie rule decides; the model's pool (3x3, stride 2)
    const prng = new Prng(11);
    const shape: [number, number, number, number] = [2, 24, 23, 16];
    const xv = Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => Math.max(0, prng.normal()));
    const grad = async (backend: "cpu" | "wasm", form: "native" | "windows") => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const x = tf.tensor4d(xv, shape);
      const y = maxPool(x, form);
      const dy = tf.tensor(randomArray(y.size, new Prng(12)), y.shape);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(maxPool(a as tf.Tensor4D, form), dy)))(x);
      const out = await g.data();
      tf.dispose([x, y, dy, g]);
      assert.equal(tf.memory().numTensors, before);
      return out;
    };
    const ref = await grad("cpu", "windows");
    const got = await grad("wasm", "native");
    assert.ok(
      [...nativeKernelsDnnl()!.implementations().keys()].some((k) => k.startsWith("pool_bwd")),
      "ran on oneDNN",
    );
    assert.deepEqual(Array.from(got, (v) => v !== 0), Array.from(ref, (v) => v !== 0));
    assert.ok(maxRelError(got, ref) < 1e-6, `relative error ${maxRelError(got, ref)}`);
    // a window of nine zeros sends everything to its top-left pixel
    const g = tf.tidy(() =>
      tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 3, 2, 0)))(tf.zeros([1, 3, 3, 1])).dataSync()
    );
    assert.deepEqual(Array.from(g), [1, 0, 0, 0, 0, 0, 0, 0, 0]);
  },
});

/** Runs `f` on a fresh backend and returns its output's values; no tensor may leak. */
async function valuesOn(backend: "cpu" | "wasm", f: () => tf.Tensor): Promise<Float32Array> {
  await initBackend(backend);
  const before = tf.memory().numTensors;
  const y = f();
  const out = await y.data() as Float32Array;
  y.dispose();
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
  return out;
}

Deno.test({
  name: "oneDNN MaxPool, inference BatchNorm and the global average pool match the cpu backend",
  ignore,
  fn: async () => {
    const prng = new Prng(21);
    const t = (shape: number[], s = 1, o = 0) =>
      tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => o + s * prng.normal()), shape);
    type Method = "maxPool" | "batchNormInference" | "globalAveragePool";
    const cases: [string, Method, (() => tf.Tensor)][] = [];
    for (const shape of [[2, 24, 23, 16], [3, 7, 7, 64], [2, 50, 50, 3]]) {
      const x = await t(shape).data();
      cases.push([
        `maxPool 3x3/2/1 [${shape}]`,
        "maxPool",
        () => tf.tidy(() => tf.maxPool(tf.tensor4d(x, shape as [number, number, number, number]), 3, 2, 1)),
      ]);
      cases.push([
        `maxPool 2x2/2 'same' [${shape}]`,
        "maxPool",
        () => tf.tidy(() => tf.maxPool(tf.tensor4d(x, shape as [number, number, number, number]), 2, 2, "same")),
      ]);
    }
    for (const shape of [[2, 5, 4, 8], [2, 2, 2, 512], [4, 13, 13, 64]]) {
      const c = shape[3];
      const [x, mean, variance, beta, gamma] = await Promise.all([
        t(shape, 2, 0.3).data(),
        t([c], 0.5).data(),
        tf.abs(t([c], 1, 0.5)).data(),
        t([c], 0.5).data(),
        t([c], 0.5, 1).data(),
      ]);
      cases.push([
        `batchNorm4d (running statistics) [${shape}]`,
        "batchNormInference",
        () =>
          tf.tidy(() =>
            tf.batchNorm4d(
              tf.tensor4d(x, shape as [number, number, number, number]),
              tf.tensor1d(mean),
              tf.tensor1d(variance),
              tf.tensor1d(beta),
              tf.tensor1d(gamma),
              1e-5,
            )
          ),
      ]);
      for (const keepDims of [false, true]) {
        cases.push([
          `mean over H and W${keepDims ? ", keepDims" : ""} [${shape}]`,
          "globalAveragePool",
          () => tf.tidy(() => tf.mean(tf.tensor4d(x, shape as [number, number, number, number]), [1, 2], keepDims)),
        ]);
      }
      cases.push([
        `mean over axes [-2, -3] [${shape}]`,
        "globalAveragePool",
        () => tf.tidy(() => tf.mean(tf.tensor4d(x, shape as [number, number, number, number]), [-2, -3])),
      ]);
    }
    for (const [name, method, f] of cases) {
      const ref = await valuesOn("cpu", f);
      // count this case's calls of the oneDNN method (the kernels look it up on each call)
      await initBackend("wasm");
      const d = nativeKernelsDnnl()! as unknown as Record<Method, (...a: unknown[]) => unknown>;
      const original = d[method];
      let calls = 0;
      d[method] = (...a: unknown[]) => {
        const out = original.apply(d, a);
        if (out !== undefined) calls++;
        return out;
      };
      let got: Float32Array;
      try {
        got = await valuesOn("wasm", f);
      } finally {
        d[method] = original;
      }
      assert.ok(maxRelError(got, ref) < 1e-5, `${name}: relative error ${maxRelError(got, ref)}`);
      assert.equal(calls, 1, `${name}: ran on oneDNN's ${method}`);
    }
  },
});

Deno.test({
  name: "oneDNN BatchMatMul matches a float64 reference: transposes, batches, broadcast batches, the model's products",
  ignore,
  fn: async () => {
    const prng = new Prng(22);
    const cases: [number[], number[], boolean, boolean][] = [
      [[3, 5], [5, 7], false, false],
      [[5, 3], [5, 7], true, false],
      [[3, 5], [7, 5], false, true],
      [[5, 3], [7, 5], true, true],
      [[2, 3, 4], [2, 4, 5], false, false],
      [[1, 3, 4], [2, 4, 5], false, false], // broadcast batch
      [[2, 2, 3, 4], [2, 1, 5, 4], false, true], // a partial broadcast (TF.js's cpu backend gets it wrong)
      [[3, 4], [2, 4, 5], false, false], // rank 2 against rank 3
      [[1, 4608], [4608, 64], false, false], // BatchNorm's channel sums as a product (100x100 batch 2, layer1)
      [[64, 512], [512, 7], false, false], // the classifier
      [[64, 7], [512, 7], false, true], // its input gradient
      [[64, 512], [64, 7], true, false], // its weight gradient
    ];
    for (const [as, bs, ta, tb] of cases) {
      const rand = (shape: number[]) =>
        Float32Array.from({ length: shape.reduce((x, y) => x * y) }, () => prng.normal());
      const [av, bv] = [rand(as), rand(bs)];
      const f = () => tf.tidy(() => tf.matMul(tf.tensor(av, as), tf.tensor(bv, bs), ta, tb));
      const ref = matMulByLoops(av, as, bv, bs, ta, tb).data;
      const got = await valuesOn("wasm", f);
      const name = `[${as}]${ta ? "^T" : ""} . [${bs}]${tb ? "^T" : ""}`;
      assert.ok(maxRelError(got, ref) < 1e-5, `${name}: relative error ${maxRelError(got, ref)}`);
      const key = `mm:${as}:${bs}:${ta}:${tb}`;
      assert.ok(nativeKernelsDnnl()!.implementations().has(key), `${name} on oneDNN`);
    }
  },
});

Deno.test({
  name: "oneDNN stays loaded after the Worker that used it ends (its OpenMP threads live on; unmapped, they crashed)",
  ignore: ignore || Deno.build.os !== "linux",
  fn: async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./_dnnl_worker_probe.ts", import.meta.url).pathname],
      env: { ADADF_DNNL: "on" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `the probe failed (exit ${out.code}): ${stderr.slice(-2000)}`);
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    assert.deepEqual(r, { dnnl: true, value: 128, dnnlMapped: true, gompMapped: true });
  },
});

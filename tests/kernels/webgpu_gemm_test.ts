/**
 * The project's WGSL implicit-GEMM kernels (lib/kernels/webgpu_conv.ts, webgpu_matmul.ts) against
 * TF.js's `cpu` backend, within 1e-4 of the reference's largest value, on the model's shape
 * classes (large, small and narrow tiles): the 7x7 stride-2 stem, 3x3 stride 1 and 2, the 1x1 stride-2 downsample, 'same' and
 * 'valid' padding, 3-64 channels, batch 2-8; the filter gradient with and
 * without split-K; matrix products with every transpose, batches and a broadcast batch. Each
 * kernel is called directly (so a fallback to TF.js's kernel cannot hide a fault), then through
 * `tf.conv2d` / `tf.grads` / `tf.matMul` with `useFastWebgpuKernels()`. Needs a WebGPU adapter (Mesa's
 * llvmpipe in CI); without one it skips loudly, and under CI=true it fails.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import {
  batchMatMulWebgpu,
  conv2dFilterGradWebgpu,
  conv2dInputGradWebgpu,
  conv2dWebgpu,
  useFastWebgpuKernels,
  type WebgpuBackendLike,
} from "../../lib/kernels/mod.ts";
import { Prng } from "../../lib/util/prng.ts";
import { maxRelError } from "./_compare.ts";
import { webgpuForTests } from "./_webgpu.ts";

const adapter = await webgpuForTests("webgpu GEMM kernel tests");

type Pad = number | "same" | "valid";
type ConvCase = { n: number; h: number; w: number; cin: number; cout: number; k: number; s: number; pad: Pad };
/** The model's convolution shape classes, small enough for llvmpipe. */
const CONV_CASES: ConvCase[] = [
  { n: 2, h: 24, w: 24, cin: 3, cout: 8, k: 7, s: 2, pad: 3 }, // stem
  { n: 8, h: 6, w: 6, cin: 4, cout: 4, k: 3, s: 1, pad: 1 }, // width-4 basic block
  { n: 2, h: 11, w: 11, cin: 8, cout: 16, k: 3, s: 2, pad: 1 }, // downsampling block, odd size
  { n: 2, h: 12, w: 12, cin: 16, cout: 32, k: 1, s: 2, pad: 0 }, // 1x1 downsample
  { n: 2, h: 8, w: 8, cin: 64, cout: 64, k: 3, s: 1, pad: 1 }, // the large tile class (M, N >= 64)
  { n: 2, h: 9, w: 8, cin: 5, cout: 6, k: 3, s: 2, pad: "same" },
  { n: 3, h: 7, w: 9, cin: 6, cout: 5, k: 3, s: 1, pad: "valid" },
];
const TOL = 1e-4;

function values(shape: number[], seed: number): Float32Array {
  const prng = new Prng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => prng.normal());
}

/** cpu: y, dx, dW of y = conv2d(x, W) with upstream gradient g. */
function convReference(c: ConvCase, seed: number) {
  const xShape: [number, number, number, number] = [c.n, c.h, c.w, c.cin];
  const fShape: [number, number, number, number] = [c.k, c.k, c.cin, c.cout];
  const x = tf.tensor(values(xShape, seed), xShape) as tf.Tensor4D;
  const f = tf.tensor(values(fShape, seed + 1), fShape) as tf.Tensor4D;
  const y = tf.conv2d(x, f, c.s, c.pad);
  const g = tf.tensor(values(y.shape, seed + 2), y.shape) as tf.Tensor4D;
  const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), g))
  )([x, f]);
  const out = {
    x: x.dataSync() as Float32Array,
    f: f.dataSync() as Float32Array,
    g: g.dataSync() as Float32Array,
    y: y.dataSync() as Float32Array,
    dx: dx.dataSync() as Float32Array,
    dw: dw.dataSync() as Float32Array,
    xShape,
    fShape,
    yShape: y.shape,
  };
  tf.dispose([x, f, y, g, dx, dw]);
  return out;
}

/** A tensor of the active (webgpu) backend's kernel output. */
function wrap(info: tf.TensorInfo): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo(info);
}

Deno.test({
  name:
    "conv2dWebgpu(), conv2dInputGradWebgpu(), conv2dFilterGradWebgpu() match the cpu backend within 1e-4 on the model's shape classes",
  ignore: !adapter,
  fn: async () => {
    await initBackend("cpu");
    const refs = CONV_CASES.map((c, i) => convReference(c, 10 * i));
    await initBackend("webgpu");
    const backend = tf.backend() as unknown as WebgpuBackendLike;
    const worst = { y: 0, dx: 0, dw: 0, dwSplit: 0 };
    const before = tf.memory().numTensors;
    for (const [i, c] of CONV_CASES.entries()) {
      const r = refs[i];
      const attrs = { strides: c.s, pad: c.pad };
      const x = tf.tensor(r.x, r.xShape);
      const f = tf.tensor(r.f, r.fShape);
      const g = tf.tensor(r.g, r.yShape);
      const y = wrap(conv2dWebgpu(backend, x, f, attrs));
      const dx = wrap(conv2dInputGradWebgpu(backend, g, f, r.xShape, attrs));
      const dw = wrap(conv2dFilterGradWebgpu(backend, x, g, r.fShape, attrs));
      const dwSplit = wrap(conv2dFilterGradWebgpu(backend, x, g, r.fShape, attrs, 3));
      assert.deepEqual(y.shape, r.yShape);
      assert.deepEqual(dx.shape, r.xShape);
      assert.deepEqual(dw.shape, r.fShape);
      const e = {
        y: maxRelError(await y.data() as Float32Array, r.y),
        dx: maxRelError(await dx.data() as Float32Array, r.dx),
        dw: maxRelError(await dw.data() as Float32Array, r.dw),
        dwSplit: maxRelError(await dwSplit.data() as Float32Array, r.dw),
      };
      for (const k of Object.keys(e) as (keyof typeof e)[]) {
        assert.ok(e[k] < TOL, `${JSON.stringify(c)}: ${k} relative error ${e[k]}`);
        worst[k] = Math.max(worst[k], e[k]);
      }
      tf.dispose([x, f, g, y, dx, dw, dwSplit]);
    }
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
    console.log(`max relative errors vs cpu: ${JSON.stringify(worst)}`);
    await initBackend("cpu");
  },
});

Deno.test({
  name: "webgpu: with useFastWebgpuKernels(), tf.conv2d and its gradients match the cpu backend within 1e-4",
  ignore: !adapter,
  fn: async () => {
    await initBackend("cpu");
    const refs = CONV_CASES.map((c, i) => convReference(c, 100 + i));
    await initBackend("webgpu");
    useFastWebgpuKernels(true);
    for (const [i, c] of CONV_CASES.entries()) {
      const r = refs[i];
      const x = tf.tensor(r.x, r.xShape) as tf.Tensor4D;
      const f = tf.tensor(r.f, r.fShape) as tf.Tensor4D;
      const g = tf.tensor(r.g, r.yShape) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const y = tf.conv2d(x, f, c.s, c.pad);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), g))
      )([x, f]);
      assert.equal(tf.memory().numTensors, before + 3, "only the three results are left");
      const ey = maxRelError(await y.data() as Float32Array, r.y);
      const ex = maxRelError(await dx.data() as Float32Array, r.dx);
      const ew = maxRelError(await dw.data() as Float32Array, r.dw);
      assert.ok(ey < TOL && ex < TOL && ew < TOL, `${JSON.stringify(c)}: y ${ey}, dx ${ex}, dW ${ew}`);
      tf.dispose([x, f, g, y, dx, dw]);
    }
    await initBackend("cpu");
  },
});

type MatCase = { a: number[]; b: number[]; ta: boolean; tb: boolean; splits?: number };
const MAT_CASES: MatCase[] = [
  { a: [8, 33], b: [33, 7], ta: false, tb: false }, // a linear head: [N, in] x [in, classes]
  { a: [70, 20], b: [20, 7], ta: false, tb: false }, // the narrow tile class (M >= 64, N <= 8)
  { a: [33, 8], b: [33, 7], ta: true, tb: false }, // its weight gradient
  { a: [8, 7], b: [33, 7], ta: false, tb: true }, // its input gradient
  { a: [33, 8], b: [7, 33], ta: true, tb: true },
  { a: [3, 65, 70], b: [3, 70, 66], ta: false, tb: false }, // batches, the large tile class
  { a: [1, 5, 12], b: [4, 12, 6], ta: false, tb: false }, // a broadcast batch
  { a: [2, 3, 9, 4], b: [9, 5], ta: true, tb: false }, // rank 4 against a matrix
  { a: [16, 1500], b: [1500, 8], ta: false, tb: false, splits: 4 }, // split-K
  { a: [1, 16, 1500], b: [1, 1500, 8], ta: false, tb: false }, // split-K chosen by size
];

Deno.test({
  name: "batchMatMulWebgpu() matches the cpu backend within 1e-4 for every transpose, batches, broadcast and split-K",
  ignore: !adapter,
  fn: async () => {
    await initBackend("cpu");
    const refs = MAT_CASES.map((c, i) => {
      const a = tf.tensor(values(c.a, 300 + i), c.a);
      const b = tf.tensor(values(c.b, 400 + i), c.b);
      const y = tf.matMul(a, b, c.ta, c.tb);
      const out = { a: a.dataSync(), b: b.dataSync(), y: y.dataSync() as Float32Array, shape: y.shape };
      tf.dispose([a, b, y]);
      return out;
    });
    await initBackend("webgpu");
    useFastWebgpuKernels(true);
    const backend = tf.backend() as unknown as WebgpuBackendLike;
    let worst = 0;
    for (const [i, c] of MAT_CASES.entries()) {
      const a = tf.tensor(refs[i].a, c.a);
      const b = tf.tensor(refs[i].b, c.b);
      const direct = wrap(batchMatMulWebgpu(backend, a, b, c.ta, c.tb, c.splits));
      const before = tf.memory().numTensors;
      const viaOp = tf.matMul(a, b, c.ta, c.tb);
      assert.equal(tf.memory().numTensors, before + 1);
      assert.deepEqual(viaOp.shape, refs[i].shape);
      const e1 = maxRelError(await direct.data() as Float32Array, refs[i].y);
      const e2 = maxRelError(await viaOp.data() as Float32Array, refs[i].y);
      assert.ok(e1 < TOL && e2 < TOL, `${JSON.stringify(c)}: direct ${e1}, tf.matMul ${e2}`);
      worst = Math.max(worst, e1, e2);
      tf.dispose([a, b, direct, viaOp]);
    }
    console.log(`matmul max relative error vs cpu: ${worst}`);
    await initBackend("cpu");
  },
});

Deno.test({
  name: "setWebgpuTiles(): the probe's other tile sizes (register blocks 1x2 to 8x8) give the same results within 1e-4",
  ignore: !adapter,
  fn: async () => {
    const { setWebgpuTiles } = await import("../../lib/kernels/mod.ts");
    const cases = [CONV_CASES[2], CONV_CASES[4]];
    await initBackend("cpu");
    const refs = cases.map((c, i) => convReference(c, 500 + i));
    await initBackend("webgpu");
    const backend = tf.backend() as unknown as WebgpuBackendLike;
    const tiles = [
      { tileM: 128, tileN: 128, tileK: 8, threadM: 8, threadN: 8 },
      { tileM: 256, tileN: 4, tileK: 8, threadM: 4, threadN: 4 },
      { tileM: 64, tileN: 8, tileK: 16, threadM: 1, threadN: 2 },
    ];
    const kernels = ["conv2d", "conv2dInput", "conv2dFilter"] as const;
    try {
      for (const t of tiles) {
        for (const k of kernels) setWebgpuTiles(k, { large: t, small: t, narrow: t });
        for (const [i, c] of cases.entries()) {
          const r = refs[i];
          const attrs = { strides: c.s, pad: c.pad };
          const x = tf.tensor(r.x, r.xShape);
          const f = tf.tensor(r.f, r.fShape);
          const g = tf.tensor(r.g, r.yShape);
          const outs = [
            wrap(conv2dWebgpu(backend, x, f, attrs)),
            wrap(conv2dInputGradWebgpu(backend, g, f, r.xShape, attrs)),
            wrap(conv2dFilterGradWebgpu(backend, x, g, r.fShape, attrs, 2)),
          ];
          for (const [j, ref] of [r.y, r.dx, r.dw].entries()) {
            const e = maxRelError(await outs[j].data() as Float32Array, ref);
            assert.ok(e < TOL, `tiles ${JSON.stringify(t)}, ${JSON.stringify(c)}, ${kernels[j]}: ${e}`);
          }
          tf.dispose([x, f, g, ...outs]);
        }
      }
    } finally {
      for (const k of kernels) setWebgpuTiles(k, undefined);
      await initBackend("cpu");
    }
  },
});

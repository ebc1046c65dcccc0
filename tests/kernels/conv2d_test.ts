import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { Prng } from "../../lib/util/prng.ts";
import { maxRelError, withoutDnnl } from "./_compare.ts";

withoutDnnl(); // these test the kernels oneDNN would take over where it is installed

type Pad = "same" | "valid" | number;

function randomArray(n: number, prng: Prng): Float32Array {
  return Float32Array.from({ length: n }, () => prng.normal());
}

/** Runs conv2d forward + both gradients on `backend` (wasm: with OpenBLAS or XNNPACK alone) and returns the flat results. */
async function convGrads(
  backend: "cpu" | "wasm" | "wasm+openblas",
  xs: number[],
  fs: number[],
  stride: number | [number, number],
  pad: Pad,
  seed: number,
) {
  await initBackend(backend === "cpu" ? "cpu" : "wasm", { blas: backend === "wasm" ? "off" : "auto" });
  const prng = new Prng(seed);
  const x = tf.tensor4d(randomArray(xs.reduce((a, b) => a * b), prng), xs as [number, number, number, number]);
  const f = tf.tensor4d(randomArray(fs.reduce((a, b) => a * b), prng), fs as [number, number, number, number]);
  const y = tf.conv2d(x, f, stride, pad);
  const dy = tf.tensor(randomArray(y.size, prng), y.shape);
  const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), dy))
  )([x, f]);
  const out = { y: await y.data(), dx: await gx.data(), df: await gf.data() };
  tf.dispose([x, f, y, dy, gx, gf]);
  return out;
}

// every kernel size, stride and padding the ResNets use, plus odd sizes and 'same'/'valid'
const CASES: {
  k: number;
  stride: number | [number, number];
  pad: Pad;
  cin: number;
  cout: number;
  hw: [number, number];
}[] = [
  { k: 1, stride: 1, pad: 0, cin: 5, cout: 7, hw: [6, 6] },
  { k: 1, stride: 2, pad: 0, cin: 4, cout: 6, hw: [9, 8] },
  { k: 3, stride: 1, pad: 1, cin: 3, cout: 5, hw: [7, 9] },
  { k: 3, stride: 2, pad: 1, cin: 4, cout: 3, hw: [9, 9] },
  { k: 3, stride: 2, pad: 1, cin: 3, cout: 4, hw: [8, 10] },
  { k: 7, stride: 2, pad: 3, cin: 3, cout: 4, hw: [15, 16] },
  { k: 7, stride: 1, pad: 3, cin: 2, cout: 3, hw: [9, 9] },
  { k: 3, stride: 2, pad: "same", cin: 3, cout: 4, hw: [8, 8] },
  { k: 3, stride: 1, pad: "valid", cin: 3, cout: 4, hw: [8, 7] },
  { k: 7, stride: 2, pad: "valid", cin: 2, cout: 2, hw: [13, 12] },
  // the sub-pixel input gradient: strides 3 and (2, 1), kernels smaller than / not a multiple of the stride
  { k: 3, stride: 3, pad: 1, cin: 3, cout: 2, hw: [10, 11] },
  { k: 1, stride: 3, pad: 0, cin: 2, cout: 3, hw: [10, 10] },
  { k: 2, stride: 2, pad: "same", cin: 3, cout: 2, hw: [7, 7] },
  { k: 4, stride: 2, pad: "same", cin: 2, cout: 3, hw: [9, 10] },
  { k: 5, stride: 3, pad: "valid", cin: 2, cout: 2, hw: [14, 13] },
  { k: 3, stride: 2, pad: "valid", cin: 3, cout: 3, hw: [9, 8] },
  // (no unequal strides such as [2, 1]: TF.js 4.22's own wasm Conv2D forward returns a wrong
  // shape for them and then reads out of bounds)
  { k: 3, stride: 2, pad: 0, cin: 2, cout: 3, hw: [10, 11] },
];

for (const [i, c] of CASES.entries()) {
  Deno.test(`wasm Conv2D and its gradients match the cpu backend, XNNPACK alone and on OpenBLAS: ${c.k}x${c.k} stride ${c.stride} pad ${c.pad} ${c.hw.join("x")}`, async () => {
    const xs = [2, c.hw[0], c.hw[1], c.cin];
    const fs = [c.k, c.k, c.cin, c.cout];
    const ref = await convGrads("cpu", xs, fs, c.stride, c.pad, 100 + i);
    for (const mode of ["wasm", "wasm+openblas"] as const) {
      const got = await convGrads(mode, xs, fs, c.stride, c.pad, 100 + i);
      assert.ok(maxRelError(got.y, ref.y) < 1e-5, `${mode}: forward error ${maxRelError(got.y, ref.y)}`);
      assert.ok(maxRelError(got.df, ref.df) < 1e-5, `${mode}: filter gradient error ${maxRelError(got.df, ref.df)}`);
      assert.ok(maxRelError(got.dx, ref.dx) < 1e-5, `${mode}: input gradient error ${maxRelError(got.dx, ref.dx)}`);
    }
  });
}

Deno.test("wasm Identity (tf.clone, tensors saved for the backward pass) shares the buffer and keeps it alive", async () => {
  await initBackend("wasm");
  const before = tf.memory().numTensors;
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.clone(x);
  const backend = tf.backend() as unknown as { getMemoryOffset(dataId: unknown): number };
  assert.equal(backend.getMemoryOffset(y.dataId), backend.getMemoryOffset(x.dataId));
  x.dispose();
  assert.deepEqual(Array.from(await y.data()), [1, 2, 3]);
  const z = tf.add(y, 1);
  y.dispose();
  assert.deepEqual(Array.from(await z.data()), [2, 3, 4]);
  z.dispose();
  assert.equal(tf.memory().numTensors, before);
});

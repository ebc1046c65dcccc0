import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { coretypeFromCpuFlags, loadOpenBlas, nativeKernelsBlas, setBlockFloats } from "../../lib/kernels/mod.ts";
import { maxPool } from "../../lib/model/layers.ts";
import { Prng } from "../../lib/util/prng.ts";
import { matMulByLoops, maxRelError, withoutDnnl } from "./_compare.ts";

withoutDnnl(); // these test the kernels oneDNN would take over where it is installed

const CI = Deno.env.get("CI") === "true";
const blas = loadOpenBlas();
if (blas.blas === undefined) {
  console.warn(`\n*** SKIPPED: the OpenBLAS kernels are not tested: ${blas.reason} ***\n`);
}
// under CI the OpenBLAS path is required (.ci/run installs libopenblas0-pthread)
const ignore = blas.blas === undefined && !CI;

function randomArray(n: number, prng: Prng, relu = false): Float32Array {
  return Float32Array.from({ length: n }, () => {
    const v = prng.normal();
    return relu ? Math.max(0, v) : v;
  });
}

interface ConvCase {
  xs: [number, number, number, number];
  fs: [number, number, number, number];
  stride: number | [number, number];
  pad: "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];
  dilation?: number;
}

async function convAll(backend: "cpu" | "wasm", c: ConvCase, seed: number) {
  await initBackend(backend, { blas: "auto" });
  if (backend === "wasm") assert.ok(nativeKernelsBlas() !== undefined, "the OpenBLAS kernels are not active");
  const prng = new Prng(seed);
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(randomArray(c.xs.reduce((a, b) => a * b), prng), c.xs);
  const f = tf.tensor4d(randomArray(c.fs.reduce((a, b) => a * b), prng), c.fs);
  const conv = (a: tf.Tensor, b: tf.Tensor) =>
    tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad, "NHWC", c.dilation ?? 1);
  const y = conv(x, f);
  const dy = tf.tensor(randomArray(y.size, prng), y.shape);
  // TF.js has no gradient for dilated convolutions: forward only there
  const [gx, gf] = (c.dilation ?? 1) > 1
    ? [tf.zeros([1]), tf.zeros([1])]
    : tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), dy)))([x, f]);
  const out = { y: await y.data(), dx: await gx.data(), df: await gf.data() };
  tf.dispose([x, f, y, dy, gx, gf]);
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
  return out;
}

// what the XNNPACK path cannot do (unequal strides, dilation) and several im2col blocks
const CASES: [string, ConvCase, number?][] = [
  ["unequal strides [2, 1]", { xs: [2, 9, 10, 3], fs: [3, 3, 3, 4], stride: [2, 1], pad: 1 }],
  ["dilation 2, same (forward only)", { xs: [2, 9, 9, 3], fs: [3, 3, 3, 2], stride: 1, pad: "same", dilation: 2 }],
  ["3x3 stride 1 in blocks of 100 floats", { xs: [5, 6, 7, 4], fs: [3, 3, 4, 5], stride: 1, pad: 1 }, 100],
  ["3x3 stride 2 in blocks of one image", { xs: [3, 9, 8, 3], fs: [3, 3, 3, 4], stride: 2, pad: 1 }, 1],
  ["1x1 stride 1 (one product, no im2col)", { xs: [3, 5, 5, 6], fs: [1, 1, 6, 4], stride: 1, pad: 0 }],
  ["1x1 stride 2", { xs: [3, 7, 6, 5], fs: [1, 1, 5, 4], stride: 2, pad: 0 }],
  ["3x3 stride 1 with more rows than 8x Cout (flipped-filter input gradient)", {
    xs: [4, 8, 8, 3],
    fs: [3, 3, 3, 2],
    stride: 1,
    pad: 1,
  }],
  ["3x3 stride 1 with few rows (col2im input gradient)", { xs: [1, 2, 2, 3], fs: [3, 3, 3, 4], stride: 1, pad: 1 }],
  ["3x3 stride 1 pad 1 at 20x21 (shifted views: forward, input and filter gradients)", {
    xs: [2, 20, 21, 3],
    fs: [3, 3, 3, 4],
    stride: 1,
    pad: 1,
  }],
  ["3x3 stride 1 'same' at 10x11 (shifted forward, im2col filter gradient)", {
    xs: [3, 10, 11, 4],
    fs: [3, 3, 4, 2],
    stride: 1,
    pad: "same",
  }],
  ["3x3 stride 1 at 20x21 with blocks too small for the shifted layout (im2col)", {
    xs: [2, 20, 21, 3],
    fs: [3, 3, 3, 4],
    stride: 1,
    pad: 1,
  }, 500],
  // forward convolutions with few input channels and at most 16 outputs run on XNNPACK;
  // these run the native im2col forward path
  ["3x3 stride 1, 17 -> 20 channels (im2col forward)", { xs: [2, 9, 9, 17], fs: [3, 3, 17, 20], stride: 1, pad: 1 }],
  ["3x3 stride 2, 6 -> 24 channels", { xs: [2, 11, 10, 6], fs: [3, 3, 6, 24], stride: 2, pad: 1 }],
  ["7x7 stride 2 pad 3, 3 -> 20 channels (a stem on the native path)", {
    xs: [2, 16, 15, 3],
    fs: [7, 7, 3, 20],
    stride: 2,
    pad: 3,
  }],
  // asymmetric paddings: 'same' with an even kernel, explicit pads
  ["2x2 stride 1 'same' (asymmetric padding), 20 outputs", {
    xs: [2, 7, 8, 5],
    fs: [2, 2, 5, 20],
    stride: 1,
    pad: "same",
  }],
  ["4x4 stride 1 'same' at 11x10 (asymmetric padding)", {
    xs: [2, 11, 10, 3],
    fs: [4, 4, 3, 18],
    stride: 1,
    pad: "same",
  }],
  ["3x3 stride 1, explicit pads [0, 2] x [1, 0] at 12x11", {
    xs: [2, 12, 11, 4],
    fs: [3, 3, 4, 17],
    stride: 1,
    pad: [[0, 0], [0, 2], [1, 0], [0, 0]],
  }],
  ["3x3 stride 2, explicit pads [2, 0] x [0, 1]", {
    xs: [2, 9, 10, 4],
    fs: [3, 3, 4, 17],
    stride: 2,
    pad: [[0, 0], [2, 0], [0, 1], [0, 0]],
  }],
  ["7x7 stride 2 pad 3 (the stem)", { xs: [2, 16, 15, 3], fs: [7, 7, 3, 4], stride: 2, pad: 3 }],
];

for (const [i, [name, c, block]] of CASES.entries()) {
  Deno.test({
    name: `OpenBLAS Conv2D, Conv2DBackpropFilter and Conv2DBackpropInput match the cpu backend: ${name}`,
    ignore,
    fn: async () => {
      const ref = await convAll("cpu", c, 300 + i);
      const prev = block === undefined ? undefined : setBlockFloats(block);
      try {
        const got = await convAll("wasm", c, 300 + i);
        for (const k of ["y", "dx", "df"] as const) {
          assert.ok(maxRelError(got[k], ref[k]) < 1e-5, `${k}: relative error ${maxRelError(got[k], ref[k])}`);
        }
      } finally {
        if (prev !== undefined) setBlockFloats(prev);
      }
    },
  });
}

Deno.test({
  name: "OpenBLAS BatchMatMul matches matrix products by loops with transposes and broadcast batches",
  ignore,
  fn: async () => {
    const prng = new Prng(7);
    const shapes: [number[], number[], boolean, boolean][] = [
      [[5, 3], [3, 4], false, false],
      [[3, 5], [3, 4], true, false],
      [[5, 3], [4, 3], false, true],
      [[3, 5], [4, 3], true, true],
      [[2, 5, 3], [2, 3, 4], false, false],
      [[1, 5, 3], [3, 3, 4], false, false],
      [[3, 1, 6], [1, 6, 2], false, false],
      [[1, 40], [40, 7], false, false],
      // both sides broadcast: [2, 1] x [1, 3] batches
      [[2, 1, 5, 3], [1, 3, 3, 6], false, false],
      [[4, 3], [2, 1, 3, 2], false, false],
      [[2, 1, 3, 5], [3, 6, 3], true, true],
    ];
    await initBackend("wasm");
    for (const [as, bs, ta, tb] of shapes) {
      const av = randomArray(as.reduce((p, d) => p * d), prng);
      const bv = randomArray(bs.reduce((p, d) => p * d), prng);
      const r = tf.tidy(() => tf.matMul(tf.tensor(av, as), tf.tensor(bv, bs), ta, tb));
      const got = { shape: r.shape, data: await r.data() };
      r.dispose();
      const ref = matMulByLoops(av, as, bv, bs, ta, tb);
      assert.deepEqual(got.shape, ref.shape);
      assert.ok(maxRelError(got.data, ref.data) < 1e-5, `[${as}] x [${bs}] ${ta} ${tb}`);
    }
  },
});

Deno.test({
  name: "OpenBLAS Conv2DBackpropInput serves conv2dTranspose (stride 1 and 2) like the cpu backend",
  ignore,
  fn: async () => {
    const prng = new Prng(17);
    const xv = randomArray(2 * 5 * 6 * 20, prng);
    const fv = randomArray(3 * 3 * 7 * 20, prng);
    const run = async (backend: "cpu" | "wasm", stride: number) => {
      await initBackend(backend);
      const y = tf.tidy(() =>
        tf.conv2dTranspose(
          tf.tensor4d(xv, [2, 5, 6, 20]),
          tf.tensor4d(fv, [3, 3, 7, 20]),
          [2, 5 * stride, 6 * stride, 7],
          stride,
          "same",
        )
      );
      const out = await y.data();
      y.dispose();
      return out;
    };
    for (const stride of [1, 2]) {
      const ref = await run("cpu", stride);
      const got = await run("wasm", stride);
      assert.ok(maxRelError(got, ref) < 1e-5, `stride ${stride}: relative error ${maxRelError(got, ref)}`);
    }
  },
});

Deno.test({
  name: "the wasm kernels take inputs that still live on another backend (their data moves into a growing heap)",
  ignore,
  fn: async () => {
    // made on cpu, then used on wasm: looking up the offsets copies them in, which can grow the
    // heap; views and pointers must be taken after that (a large gradient forces a growth)
    await initBackend("cpu");
    const n = 8 * 1024 * 1024;
    const value = tf.variable(tf.fill([n], 1), true, "other_backend_value");
    const grad = tf.fill([n], 0.5);
    const x = tf.randomNormal([2, 9, 9, 20], 0, 1, "float32", 3) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 20, 24], 0, 1, "float32", 4) as tf.Tensor4D;
    const refConv = await tf.conv2d(x, w, 1, 1).data();
    await initBackend("wasm");
    const { adam } = await import("../../lib/train/adam.ts");
    const opt = adam(0.1);
    opt.applyGradients([{ name: value.name, tensor: grad }]);
    const v = await value.data();
    assert.ok(Math.abs(v[0] - 0.9) < 1e-6 && Math.abs(v[n - 1] - 0.9) < 1e-6, `${v[0]} ${v[n - 1]}`);
    const y = tf.conv2d(x, w, 1, 1);
    assert.ok(maxRelError(await y.data(), refConv) < 1e-5);
    opt.dispose();
    tf.dispose([value, grad, x, w, y]);
  },
});

Deno.test("wasm MaxPoolGrad routes dy to each window's first maximum, as PyTorch and the windows form do", async () => {
  // ReLU'd inputs: many windows of equal zeros, where the tie rule decides
  const prng = new Prng(11);
  const xv = randomArray(2 * 9 * 8 * 3, prng, true);
  const dyv = randomArray(2 * 5 * 4 * 3, prng);
  const grad = async (backend: "cpu" | "wasm", form: "native" | "windows") => {
    await initBackend(backend);
    const before = tf.memory().numTensors;
    const x = tf.tensor4d(xv, [2, 9, 8, 3]);
    const dy = tf.tensor4d(dyv, [2, 5, 4, 3]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(maxPool(a as tf.Tensor4D, form), dy)))(x);
    const out = await g.data();
    tf.dispose([x, dy, g]);
    assert.equal(tf.memory().numTensors, before);
    return out;
  };
  const ref = await grad("cpu", "windows");
  const got = await grad("wasm", "native");
  // the same pixels receive gradient; sums of overlapping windows may round differently
  assert.deepEqual(Array.from(got, (v) => v !== 0), Array.from(ref, (v) => v !== 0));
  assert.ok(maxRelError(got, ref) < 1e-6, `relative error ${maxRelError(got, ref)}`);
  // a window of nine zeros sends everything to its top-left pixel
  await initBackend("wasm");
  const g = tf.tidy(() =>
    tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 3, 2, 0)))(tf.zeros([1, 3, 3, 1])).dataSync()
  );
  assert.deepEqual(Array.from(g), [1, 0, 0, 0, 0, 0, 0, 0, 0]);
});

Deno.test({
  name: "initBackend('wasm') names OpenBLAS in its reason, and { blas: 'off' } restores XNNPACK's kernels",
  ignore,
  fn: async () => {
    const on = await initBackend("wasm");
    assert.match(on.reason, /OpenBLAS \((SkylakeX|Haswell|[A-Za-z0-9]+), \d+ threads?\)/);
    assert.ok(nativeKernelsBlas() !== undefined);
    const off = await initBackend("wasm", { blas: "off" });
    assert.match(off.reason, /OpenBLAS off/);
    assert.equal(nativeKernelsBlas(), undefined);
    const y = tf.tidy(() =>
      tf.conv2d(tf.ones([1, 4, 4, 2]) as tf.Tensor4D, tf.ones([3, 3, 2, 1]) as tf.Tensor4D, 1, "same").dataSync()
    );
    assert.equal(y[5], 18);
    await initBackend("wasm");
    assert.ok(nativeKernelsBlas() !== undefined);
    // deno-lint-ignore no-explicit-any
    await assert.rejects(() => initBackend("wasm", { blas: "mkl" as any }), /blas must be 'auto' or 'off', got 'mkl'/);
  },
});

Deno.test("coretypeFromCpuFlags() picks AVX-512, then AVX2+FMA kernels, else leaves detection to OpenBLAS", () => {
  const avx512 = new Set(["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]);
  assert.equal(coretypeFromCpuFlags(avx512), "SkylakeX");
  assert.equal(coretypeFromCpuFlags(new Set(["avx2", "fma", "avx512f"])), "Haswell");
  assert.equal(coretypeFromCpuFlags(new Set(["sse4_2"])), undefined);
});

Deno.test("ADADF_BLAS=off and a missing library each give the wasm backend's reason, not an error", async () => {
  const script = `import { initBackend, shutdownBackend } from "${
    new URL("../../lib/backend/backend.ts", import.meta.url).href
  }";
const c = await initBackend("wasm", { wasmThreads: 1 }); console.log(c.reason); shutdownBackend(); Deno.exit(0);`;
  const run = async (env: Record<string, string>) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script],
      env,
      cwd: new URL("../../", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout);
  };
  assert.match(await run({ ADADF_BLAS: "off" }), /OpenBLAS turned off by ADADF_BLAS/);
  assert.match(
    await run({ ADADF_BLAS: "/nonexistent/libopenblas.so.0" }),
    /OpenBLAS not found \(\/nonexistent\/libopenblas\.so\.0: .*\); install it/,
  );
});

/**
 * One prepared measurement of the webgpu backend on a real GPU (issue 7): the costly ops of
 * the training step in each of their forms (lib/model/layers.ts `LayerKernels`), then whole
 * Ada-DF training and inference steps at batch 64, 100x100 and 48x48, with each set of forms,
 * and the costliest kernels of one step. Prints one JSON document (also written to --out).
 *
 *   deno run -A tools/bench/webgpu_probe.ts [--out FILE] [--quick] [--kernels] [--sweep] [--batch N]
 *
 * `kernels` section (issue 16): GFLOP/s of each kernel class (convolution forward, input and
 * filter gradient at the stem, 3x3 stride 1 and 2 and 1x1 stride-2 shapes; matrix products;
 * BatchNorm(+ReLU) forward and backward) with TF.js's kernels and with the project's WGSL
 * kernels (lib/kernels/webgpu_*.ts); `--sweep` adds a sweep of their tile sizes
 * (`setWebgpuTiles`) on the large shapes; `--kernels` stops after that section.
 *
 * Timing: each op runs `reps` times back to back and is then read back once, so the fixed
 * cost of a read-back (15-20 ms through Deno's WebGPU) is spread over the repetitions; the
 * first call of every op (pipeline compilation) is excluded.
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { initBackend } from "../../lib/backend/backend.ts";
import {
  DEFAULT_TILES,
  type GemmKernelClass,
  type GemmTiles,
  setWebgpuTiles,
  useFastWebgpuKernels,
  webgpuFusedBatchNorm,
} from "../../lib/kernels/mod.ts";
import { batchNorm, channelSums, globalAveragePool, type LayerKernels, maxPool } from "../../lib/model/layers.ts";
import { AdaDfNet } from "../../lib/model/adadf_net.ts";
import { initialClassDistributions } from "../../lib/method/class_distributions.ts";
import { targetBatchAsync, trainStepAsync } from "../../lib/train/step.ts";
import { Prng } from "../../lib/util/prng.ts";

const { values: flags } = parseArgs({
  options: {
    out: { type: "string" },
    quick: { type: "boolean" },
    batch: { type: "string" },
    kernels: { type: "boolean" },
    sweep: { type: "boolean" },
  },
});
const quick = flags.quick === true;
const B = Number(flags.batch ?? 64);
const log = (m: string) => console.error(m);
const report: Record<string, unknown> = {};

const choice = await initBackend("webgpu");
report.backend = choice;
// deno-lint-ignore no-explicit-any
const backend = tf.backend() as any;
report.timestampQuery = backend.supportTimestampQuery ?? null;
log(`backend: ${choice.reason}; timestamp-query: ${report.timestampQuery}`);

const prng = new Prng(0);
function randn(shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => prng.normal()), shape);
}

async function sync(t: tf.Tensor | tf.Tensor[]): Promise<void> {
  const list = Array.isArray(t) ? t : [t];
  const s = tf.tidy(() => tf.addN(list.map((x) => tf.sum(x))));
  await s.data();
  s.dispose();
}

/** Median ms of one call of `fn` over `rounds` rounds of `reps` back-to-back calls (each round read back once). */
async function timeOp(fn: () => tf.Tensor | tf.Tensor[], reps = 10, rounds = 3): Promise<number> {
  const first = fn();
  await sync(first);
  tf.dispose(first);
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    let last: tf.Tensor | tf.Tensor[] = [];
    for (let i = 0; i < reps; i++) {
      tf.dispose(last);
      last = fn();
    }
    await sync(last);
    tf.dispose(last);
    times.push((performance.now() - t0) / reps);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

// ---- kernel classes: TF.js's kernels vs the project's WGSL kernels, GFLOP/s (issue 16) ------------
const kernelRows: Record<string, unknown>[] = [];
type Conv = { name: string; x: number[]; k: number; s: number; pad: number; cout: number };
const CONVS: Conv[] = [
  { name: "stem 7x7/2", x: [B, 100, 100, 3], k: 7, s: 2, pad: 3, cout: 64 },
  { name: "3x3/1 64", x: [B, 25, 25, 64], k: 3, s: 1, pad: 1, cout: 64 },
  { name: "3x3/2 64->128", x: [B, 25, 25, 64], k: 3, s: 2, pad: 1, cout: 128 },
  { name: "3x3/1 256", x: [B, 7, 7, 256], k: 3, s: 1, pad: 1, cout: 256 },
  { name: "1x1/2 64->128", x: [B, 25, 25, 64], k: 1, s: 2, pad: 0, cout: 128 },
];
const MATMULS = [
  // --quick: 512 (llvmpipe runs a 2048^3 product in seconds)
  {
    name: `${quick ? 512 : 2048}^3`,
    a: [quick ? 512 : 2048, quick ? 512 : 2048],
    b: [quick ? 512 : 2048, quick ? 512 : 2048],
  },
  { name: "linear 512->7", a: [B, 512], b: [512, 7] },
  { name: "linear dW 512x7", a: [512, B], b: [B, 7] },
];

async function kernelRate(
  kernel: string,
  shape: string,
  form: string,
  flops: number,
  fn: () => tf.Tensor | tf.Tensor[],
) {
  try {
    const ms = await timeOp(fn);
    const gflops = flops / ms / 1e6;
    kernelRows.push({ kernel, shape, form, ms: +ms.toFixed(3), gflops: +gflops.toFixed(1) });
    log(`${kernel} ${shape} [${form}]: ${ms.toFixed(2)} ms, ${gflops.toFixed(1)} GFLOP/s`);
  } catch (e) {
    kernelRows.push({ kernel, shape, form, error: String(e) });
    log(`${kernel} ${shape} [${form}]: FAILED ${(e as Error).message}`);
  }
}

/** Every kernel class once, with the kernels as registered now (`form` names them). */
async function kernelClasses(form: string, only?: "large") {
  for (const c of CONVS) {
    if (only === "large" && c.cout < 64) continue;
    const x = randn(c.x) as tf.Tensor4D;
    const w = randn([c.k, c.k, c.x[3], c.cout]) as tf.Tensor4D;
    const y = tf.conv2d(x, w, c.s, c.pad);
    const flops = 2 * y.size * c.k * c.k * c.x[3];
    await kernelRate("conv2d", c.name, form, flops, () => tf.conv2d(x, w, c.s, c.pad));
    await kernelRate("conv2d input grad", c.name, form, flops, () => tf.conv2dTranspose(y, w, x.shape, c.s, c.pad));
    await kernelRate(
      "conv2d filter grad",
      c.name,
      form,
      flops,
      () => tf.tidy(() => tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, c.s, c.pad), y)))(w)),
    );
    tf.dispose([x, w, y]);
  }
  for (const m of MATMULS) {
    const a = randn(m.a) as tf.Tensor2D;
    const b = randn(m.b) as tf.Tensor2D;
    await kernelRate("matmul", m.name, form, 2 * m.a[0] * m.a[1] * m.b[1], () => tf.matMul(a, b));
    tf.dispose([a, b]);
  }
  if (only === "large") return;
  for (const shape of [[B, 50, 50, 64], [B, 13, 13, 128]]) {
    const x = randn(shape) as tf.Tensor4D;
    const dy = randn(shape);
    const c = shape[3];
    const params = new Map<string, tf.Variable>([
      ["bn.weight", tf.variable(tf.ones([c]))],
      ["bn.bias", tf.variable(tf.zeros([c]))],
    ]);
    // forms: TF.js's kernels run the ops (matmul sums); ours the fused kernels
    const kernels: LayerKernels = {
      channelSums: "matmul",
      globalPool: "matmul",
      maxPool: "windows",
      fusedBatchNorm: webgpuFusedBatchNorm,
    };
    // about 10 flops per value forward and backward: a memory-bound rate, for comparison only
    await kernelRate(
      "batchNorm+relu fwd+bwd",
      JSON.stringify(shape),
      form,
      10 * x.size,
      () =>
        tf.tidy(() =>
          tf.grads((t: tf.Tensor) =>
            tf.sum(tf.mul(batchNorm({ params, training: true, kernels }, "bn", t as tf.Tensor4D, { relu: true }), dy))
          )([x])[0]
        ),
    );
    tf.dispose([x, dy, ...params.values()]);
  }
}

for (const fast of [false, true]) {
  useFastWebgpuKernels(fast);
  await kernelClasses(fast ? "ours" : "tfjs");
}
if (flags.sweep) {
  // tile sizes of the large-shape class, each kernel class set alike
  const candidates: GemmTiles[] = [
    DEFAULT_TILES.large,
    { tileM: 64, tileN: 64, tileK: 8, threadM: 4, threadN: 4 },
    { tileM: 128, tileN: 64, tileK: 8, threadM: 8, threadN: 4 },
    { tileM: 64, tileN: 128, tileK: 8, threadM: 4, threadN: 8 },
    { tileM: 128, tileN: 128, tileK: 8, threadM: 8, threadN: 8 },
    { tileM: 32, tileN: 64, tileK: 16, threadM: 2, threadN: 4 },
    { tileM: 32, tileN: 32, tileK: 16, threadM: 2, threadN: 2 },
  ];
  const classes: GemmKernelClass[] = ["conv2d", "conv2dInput", "conv2dFilter", "matmul"];
  for (const t of candidates) {
    for (const k of classes) setWebgpuTiles(k, { large: t });
    await kernelClasses(`ours ${t.tileM}x${t.tileN}x${t.tileK} ${t.threadM}x${t.threadN}`, "large");
  }
  for (const k of classes) setWebgpuTiles(k, undefined);
  // the narrow class (N <= 8): the stem's input gradient (N = 3) and a head's weight gradient (N = 7)
  const narrow: GemmTiles[] = [
    DEFAULT_TILES.narrow,
    { tileM: 128, tileN: 8, tileK: 16, threadM: 2, threadN: 4 },
    { tileM: 256, tileN: 4, tileK: 8, threadM: 4, threadN: 4 },
    { tileM: 64, tileN: 8, tileK: 16, threadM: 1, threadN: 2 },
  ];
  const stem = CONVS[0];
  const x = randn(stem.x) as tf.Tensor4D;
  const w = randn([stem.k, stem.k, stem.x[3], stem.cout]) as tf.Tensor4D;
  const y = tf.conv2d(x, w, stem.s, stem.pad);
  const a = randn([512, B]) as tf.Tensor2D;
  const b = randn([B, 7]) as tf.Tensor2D;
  for (const t of narrow) {
    for (const k of classes) setWebgpuTiles(k, { narrow: t });
    const form = `ours narrow ${t.tileM}x${t.tileN}x${t.tileK} ${t.threadM}x${t.threadN}`;
    const flops = 2 * y.size * stem.k * stem.k * stem.x[3];
    await kernelRate(
      "conv2d input grad",
      stem.name,
      form,
      flops,
      () => tf.conv2dTranspose(y, w, x.shape, stem.s, stem.pad),
    );
    await kernelRate("matmul", "linear dW 512x7", form, 2 * 512 * B * 7, () => tf.matMul(a, b));
  }
  for (const k of classes) setWebgpuTiles(k, undefined);
  tf.dispose([x, w, y, a, b]);
}
report.kernels = kernelRows;
if (flags.kernels) {
  const text = JSON.stringify(report, null, 1);
  if (flags.out) Deno.writeTextFileSync(flags.out, text);
  console.log(text);
  Deno.exit(0);
}

const FORMS: Record<string, LayerKernels> = {
  tfjs: { channelSums: "reduce", globalPool: "reduce", maxPool: "native" },
  // with useFastWebgpuKernels(true): the WGSL convolutions, matrix products and fused BatchNorm
  ours: { channelSums: "matmul", globalPool: "matmul", maxPool: "windows", fusedBatchNorm: webgpuFusedBatchNorm },
};

// ---- single ops at ResNet-18 shapes (batch 64, 100x100 input) ------------------------------
const ops: { op: string; shape: number[]; form: string; ms: number }[] = [];
async function op(name: string, shape: number[], form: string, fn: () => tf.Tensor | tf.Tensor[]) {
  try {
    const ms = await timeOp(fn);
    ops.push({ op: name, shape, form, ms });
    log(`${name} ${JSON.stringify(shape)} [${form}]: ${ms.toFixed(2)} ms`);
  } catch (e) {
    log(`${name} ${JSON.stringify(shape)} [${form}]: FAILED ${(e as Error).message}`);
    ops.push({ op: name, shape, form, ms: NaN });
  }
}

const shapes = [[B, 50, 50, 64], [B, 25, 25, 64], [B, 13, 13, 128], [B, 4, 4, 512]];
for (const shape of shapes) {
  const x = randn(shape);
  for (const form of ["reduce", "matmul"] as const) {
    await op("channelSums", shape, form, () => channelSums(x, form));
  }
  // whole training BatchNorm, forward and backward
  const c = shape[3];
  const params = new Map<string, tf.Variable>([
    ["bn.weight", tf.variable(tf.ones([c]))],
    ["bn.bias", tf.variable(tf.zeros([c]))],
  ]);
  const dy = randn(shape);
  for (const form of ["reduce", "matmul"] as const) {
    const kernels: LayerKernels = { ...FORMS.tfjs, channelSums: form };
    await op("batchNorm fwd+bwd", shape, form, () =>
      tf.tidy(() => {
        const g = tf.grads((t: tf.Tensor) =>
          tf.sum(tf.mul(batchNorm({ params, training: true, kernels }, "bn", t as tf.Tensor4D), dy))
        )([x]);
        return g[0];
      }));
  }
  tf.dispose([x, dy, ...params.values()]);
}
{
  const x = randn([B, 4, 4, 512]);
  for (const form of ["reduce", "matmul"] as const) {
    await op(
      "globalPool fwd+bwd",
      [B, 4, 4, 512],
      form,
      () => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.square(globalAveragePool(t as tf.Tensor4D, form))))(x)),
    );
  }
  x.dispose();
}
{
  const x = randn([B, 50, 50, 64]);
  for (const form of ["native", "windows"] as const) {
    await op("maxPool fwd", [B, 50, 50, 64], form, () => maxPool(x as tf.Tensor4D, form));
    await op(
      "maxPool fwd+bwd",
      [B, 50, 50, 64],
      form,
      () => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.square(maxPool(t as tf.Tensor4D, form))))(x)),
    );
  }
  x.dispose();
}
{
  // reference points: convolutions and elementwise ops
  const x = randn([B, 25, 25, 64]) as tf.Tensor4D;
  const w = randn([3, 3, 64, 64]) as tf.Tensor4D;
  const y = tf.conv2d(x, w, 1, 1);
  await op("conv3x3 fwd", [B, 25, 25, 64], "tfjs", () => tf.conv2d(x, w, 1, 1));
  const xs2 = randn([B, 50, 50, 64]) as tf.Tensor4D;
  const w2 = randn([3, 3, 64, 128]) as tf.Tensor4D;
  const y2 = tf.conv2d(xs2, w2, 2, 1);
  for (const fast of [false, true]) {
    useFastWebgpuKernels(fast);
    const form = fast ? "ours" : "tfjs";
    await op("conv3x3 bwd input", [B, 25, 25, 64], form, () => tf.conv2dTranspose(y, w, x.shape, 1, 1));
    await op("conv3x3/2 bwd input", [B, 50, 50, 64], form, () => tf.conv2dTranspose(y2, w2, xs2.shape, 2, 1));
    await op(
      "conv3x3 bwd filter",
      [B, 25, 25, 64],
      form,
      () => tf.tidy(() => tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, 1, 1), y)))(w)),
    );
    await op(
      "conv3x3/2 bwd filter",
      [B, 50, 50, 64],
      form,
      () => tf.tidy(() => tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xs2, f as tf.Tensor4D, 2, 1), y2)))(w2)),
    );
  }
  tf.dispose([xs2, w2, y2]);
  await op("relu", [B, 25, 25, 64], "tfjs", () => tf.relu(x));
  await op("add", [B, 25, 25, 64], "tfjs", () => tf.add(x, y));
  const xs = randn([B, 100, 100, 3]) as tf.Tensor4D;
  const ws = randn([7, 7, 3, 64]) as tf.Tensor4D;
  await op("conv7x7/2 fwd", [B, 100, 100, 3], "tfjs", () => tf.conv2d(xs, ws, 2, 3));
  for (const fast of [false, true]) {
    useFastWebgpuKernels(fast);
    await op(
      "conv7x7/2 bwd filter",
      [B, 100, 100, 3],
      fast ? "ours" : "tfjs",
      () => tf.tidy(() => tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xs, f as tf.Tensor4D, 2, 3))))(ws)),
    );
  }
  tf.dispose([x, w, y, xs, ws]);
}
report.ops = ops;

// ---- whole steps ------------------------------------------------------------------------------
const steps: Record<string, unknown>[] = [];
for (const size of quick ? [48] : [100, 48]) {
  for (const [formName, forms] of Object.entries(FORMS)) {
    useFastWebgpuKernels(formName === "ours");
    const b = B;
    const net = new AdaDfNet({ width: 64 }, { seed: 0, kernels: forms });
    const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
    const variables = net.trainableVariables(true);
    const x = randn([b, size, size, 3]) as tf.Tensor4D;
    const labels = tf.tensor1d(Int32Array.from({ length: b }, () => prng.int(7)), "int32");
    const classDistributions = tf.tensor2d(initialClassDistributions(7, 0.7));
    const run = () =>
      trainStepAsync(net, { x, labels }, { optimizer, variables, classDistributions, loss: { epoch: 2, beta: 3 } });
    try {
      const warm: number[] = [];
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        await run();
        warm.push(performance.now() - t0);
      }
      const times: number[] = [];
      let loss = NaN;
      for (let i = 0; i < (quick ? 3 : 6); i++) {
        const t0 = performance.now();
        loss = (await run()).total;
        times.push(performance.now() - t0);
      }
      const med = times.slice().sort((p, q) => p - q)[Math.floor(times.length / 2)];
      const inferTimes: number[] = [];
      for (let i = 0; i < 6; i++) {
        const t0 = performance.now();
        await targetBatchAsync(net, x);
        if (i > 0) inferTimes.push(performance.now() - t0);
      }
      const inferMed = inferTimes.sort((p, q) => p - q)[Math.floor(inferTimes.length / 2)];
      const row = {
        size,
        forms: formName,
        warmupMs: warm,
        stepMs: times,
        trainImagesPerSecond: (1000 * b) / med,
        inferImagesPerSecond: (1000 * b) / inferMed,
        loss,
        numTensors: tf.memory().numTensors,
      };
      steps.push(row);
      log(`step ${size}px [${formName}]: ${JSON.stringify(row)}`);
      if (size === 100 || quick) {
        const info = await tf.profile(async () => {
          await run();
        });
        const agg = new Map<string, { ms: number; n: number }>();
        let total = 0;
        for (const k of info.kernels) {
          const ms = Number(await k.kernelTimeMs) || 0;
          const e = agg.get(k.name) ?? { ms: 0, n: 0 };
          e.ms += ms;
          e.n++;
          agg.set(k.name, e);
          total += ms;
        }
        const top = [...agg].sort((p, q) => q[1].ms - p[1].ms).slice(0, 15).map(([name, e]) => ({
          name,
          ms: +e.ms.toFixed(2),
          calls: e.n,
          share: +(e.ms / total).toFixed(3),
        }));
        // the slowest single kernel calls
        const slowest = info.kernels
          .map((k) => ({ name: k.name, shape: k.inputShapes, ms: 0, p: k.kernelTimeMs }))
          .slice(0, 5000);
        for (const s of slowest) s.ms = Number(await s.p) || 0;
        const worst = slowest.sort((p, q) => q.ms - p.ms).slice(0, 12).map(({ name, shape, ms }) => ({
          name,
          shape,
          ms: +ms.toFixed(2),
        }));
        steps.push({ size, forms: formName, profileTotalMs: total, kernels: info.kernels.length, top, worst });
        log(`profile ${size}px [${formName}]: total ${total.toFixed(1)} ms over ${info.kernels.length} kernels`);
        log(JSON.stringify(top));
        log(JSON.stringify(worst));
      }
    } catch (e) {
      log(`step ${size}px [${formName}]: FAILED ${(e as Error).stack}`);
      steps.push({ size, forms: formName, error: String(e) });
    }
    tf.dispose([x, labels, classDistributions]);
    optimizer.dispose();
    net.dispose();
  }
}
report.steps = steps;
const text = JSON.stringify(report, null, 1);
if (flags.out) Deno.writeTextFileSync(flags.out, text);
console.log(text);

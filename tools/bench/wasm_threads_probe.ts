/**
 * Starts the threaded `wasm` backend with `--threads N` (lib/kernels/wasm_threads.ts), runs a
 * convolution, its two gradients and a matrix multiply, and prints one JSON line:
 * {"threads": actual pool size, "sums": [...], "gflops": {"matmul", "conv"}} (best of
 * `--repeats`). tests/kernels/wasm_threads_test.ts runs it in a subprocess (the backend is
 * process-wide) and compares the sums with the single-threaded backend's; with `--keep-threads`
 * it leaves the pthreads running, and the process must end anyway.
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { parseArgs } from "node:util";
import { installWasmThreads, registerWasmKernels, stopWasmThreads } from "../../lib/kernels/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    threads: { type: "string", default: "2" },
    repeats: { type: "string", default: "1" },
    // leave the pthreads running: the process must still end after the last line
    "keep-threads": { type: "boolean", default: false },
  },
});
const threads = Number(values.threads);
setWasmPaths(new URL("../../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).href);
tf.env().set("PROD", true);
const restore = installWasmThreads(threads);
registerWasmKernels();
const ok = await tf.setBackend("wasm");
restore();
await tf.ready();
if (!ok) throw new Error("the wasm backend failed to initialise");

// deterministic inputs without a PRNG dependency: a smooth pattern
const pattern = (shape: number[], k: number) => {
  const n = shape.reduce((a, b) => a * b);
  return tf.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + k)), shape);
};
const x = pattern([8, 20, 20, 16], 1) as tf.Tensor4D;
const f = pattern([3, 3, 16, 24], 2) as tf.Tensor4D;
const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
  tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 1)))
);
const [gx, gf] = g([x, f]);
const y = tf.conv2d(x, f, 1, "same");
const sums = [y, gx, gf].map((t) => tf.sum(tf.abs(t)).dataSync()[0]);

const a = pattern([512, 512], 3) as tf.Tensor2D;
const cx = pattern([16, 40, 40, 64], 4) as tf.Tensor4D;
const cf = pattern([3, 3, 64, 64], 5) as tf.Tensor4D;
let bestMm = Infinity;
let bestConv = Infinity;
for (let i = 0; i < Number(values.repeats); i++) {
  let t0 = performance.now();
  tf.tidy(() => {
    tf.matMul(a, a).dataSync();
  });
  bestMm = Math.min(bestMm, performance.now() - t0);
  t0 = performance.now();
  tf.tidy(() => {
    tf.conv2d(cx, cf, 1, "same").dataSync();
  });
  bestConv = Math.min(bestConv, performance.now() - t0);
}
console.log(JSON.stringify({
  threads: getThreadsCount(),
  sums,
  gflops: { matmul: (2 * 512 ** 3) / bestMm / 1e6, conv: (2 * 16 * 40 * 40 * 64 * 64 * 9) / bestConv / 1e6 },
}));
if (!values["keep-threads"]) stopWasmThreads();

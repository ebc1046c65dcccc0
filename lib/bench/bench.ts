/** Speed measurement of the Ada-DF training step and of inference on the active backend. */
import * as tf from "@tensorflow/tfjs";
import { AdaDfNet } from "../model/adadf_net.ts";
import type { LayerKernels } from "../model/layers.ts";
import { initialClassDistributions } from "../method/class_distributions.ts";
import { Prng } from "../util/prng.ts";
import { adam } from "../train/adam.ts";
import { targetBatch, trainStep } from "../train/step.ts";

export interface BenchResult {
  kind: "train" | "infer";
  imageSize: number;
  batchSize: number;
  imagesPerSecond: number;
  peakRssMiB: number;
}

export interface BenchReport {
  results: BenchResult[];
  /** the most expensive kernels of one training step at the first size; `share` of the profiled total */
  kernels: { name: string; ms: number; share: number }[];
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rss = () => Deno.memoryUsage().rss / 2 ** 20;

/** Runs `fn` once to warm up, then `steps` timed times: the median time and the peak resident memory. */
function timeRuns(steps: number, fn: () => unknown, onRun?: (i: number, ms: number) => void) {
  let peakRssMiB = rss();
  const times: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    fn();
    const ms = performance.now() - t0;
    if (i > 0) times.push(ms);
    peakRssMiB = Math.max(peakRssMiB, rss());
    onRun?.(i, ms);
  }
  return { medianMs: median(times), peakRssMiB };
}

/** Times `steps` Ada-DF training steps and inference passes per size (after one warm-up each). */
export async function benchmark(options: {
  sizes: number[];
  batchSize: number;
  width: number;
  steps: number;
  profile: boolean;
  /** train without the stem (conv1, bn1, layer1), as with pretrained weights; default false */
  freezeStem?: boolean;
  /** the layers' forms for the active backend (`BackendChoice.layerKernels`); default TF.js's ops */
  layerKernels?: LayerKernels;
  log?: (m: string) => void;
}): Promise<BenchReport> {
  const { sizes, batchSize: b, width, steps } = options;
  const results: BenchResult[] = [];
  let kernels: BenchReport["kernels"] = [];
  const prng = new Prng(0);
  for (const [si, s] of sizes.entries()) {
    const net = new AdaDfNet({ width }, { seed: 0, kernels: options.layerKernels });
    const optimizer = adam(1e-3);
    const variables = net.trainableVariables(options.freezeStem ?? false);
    const x = tf.tensor4d(Float32Array.from({ length: b * s * s * 3 }, () => prng.normal()), [b, s, s, 3]);
    const labels = tf.tensor1d(Int32Array.from({ length: b }, () => prng.int(7)), "int32");
    const classDistributions = tf.tensor2d(initialClassDistributions(7, 0.7));
    const step = () =>
      trainStep(net, { x, labels }, { optimizer, variables, classDistributions, loss: { epoch: 2, beta: 3 } });
    const train = timeRuns(
      steps,
      step,
      (i, ms) => options.log?.(`train ${s}x${s}: step ${i === 0 ? "warm-up" : i} ${ms.toFixed(0)} ms`),
    );
    let peak = train.peakRssMiB;
    results.push({
      kind: "train",
      imageSize: s,
      batchSize: b,
      imagesPerSecond: (1000 * b) / train.medianMs,
      peakRssMiB: peak,
    });
    if (options.profile && si === 0) {
      const info = await tf.profile(() => {
        step();
      });
      const agg = new Map<string, number>();
      let total = 0;
      for (const k of info.kernels) {
        const ms = Number(await k.kernelTimeMs) || 0;
        agg.set(k.name, (agg.get(k.name) ?? 0) + ms);
        total += ms;
      }
      kernels = [...agg].sort((p, q) => q[1] - p[1]).slice(0, 10).map(([name, ms]) => ({
        name,
        ms,
        share: ms / total,
      }));
    }
    const infer = timeRuns(steps, () => targetBatch(net, x));
    peak = Math.max(peak, infer.peakRssMiB);
    results.push({
      kind: "infer",
      imageSize: s,
      batchSize: b,
      imagesPerSecond: (1000 * b) / infer.medianMs,
      peakRssMiB: peak,
    });
    tf.dispose([x, labels, classDistributions]);
    optimizer.dispose();
    net.dispose();
  }
  return { results, kernels };
}

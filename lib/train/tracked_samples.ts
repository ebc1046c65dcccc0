/**
 * Tracked training samples: a few faces picked once per run whose distributions are recorded
 * every epoch (`tracked.jsonl`, Fig. 5 and 6), as the loss used them in their batch and in an
 * eval-mode view after the epoch. The maths is lib/method's (eq. 8, 11, 12).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ImageSplit } from "../data/batches.ts";
import { makeBatch, toTensors } from "../data/batches.ts";
import type { Prng } from "../util/prng.ts";
import { averageAttentionValues } from "../method/attention.ts";
import { normalizeAttentionValues } from "../method/normalize_attention.ts";
import { fuseDistributionValues } from "../method/fusion.ts";
import { cropMean } from "../infer/evaluate.ts";
import type { TrackedSampleRecord } from "../run/records.ts";
import { auxPassBatch, emptyAuxPass } from "./step.ts";
import type { BatchRows, LoopContext } from "./phases.ts";

/** Picks tracked training samples: half clear, half ambiguous (by the true distribution where known), spread over classes. */
export function pickTrackedSamples(split: ImageSplit, count: number, numClasses: number, prng: Prng): number[] {
  const n = split.labels.length;
  const order = prng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const maxTrue = (i: number) => {
    if (!split.trueDistributions) return NaN;
    let m = 0;
    for (let c = 0; c < numClasses; c++) m = Math.max(m, split.trueDistributions[i * numClasses + c]);
    return m;
  };
  const picked: number[] = [];
  const want = [
    { n: Math.ceil(count / 2), ok: (i: number) => !(maxTrue(i) < 0.75) }, // clear (or unknown)
    { n: count - Math.ceil(count / 2), ok: (i: number) => maxTrue(i) < 0.6 }, // ambiguous
  ];
  for (const w of want) {
    const perClass = new Array(numClasses).fill(0);
    let got = 0;
    for (let round = 1; got < w.n && round <= n; round++) {
      for (const i of order) {
        if (got >= w.n) break;
        if (picked.includes(i) || !w.ok(i) || perClass[split.labels[i]] >= round) continue;
        perClass[split.labels[i]]++;
        picked.push(i);
        got++;
      }
      if (round > count) break;
    }
  }
  // too few ambiguous faces (e.g. an easy data set): fill up with the least clear ones left
  if (picked.length < Math.min(count, n)) {
    const rest = Array.from(order).filter((i) => !picked.includes(i));
    rest.sort((a, b) => (maxTrue(a) || 1) - (maxTrue(b) || 1));
    picked.push(...rest.slice(0, Math.min(count, n) - picked.length));
  }
  return picked;
}

/**
 * Phase 3: the tracked samples' records of this epoch. Each holds what the loss used in the
 * last batch that drew it (`inBatch`, with `trainedRows` [C][C], the class distributions the
 * epoch trained with) or, for a sample no batch drew, the whole-set view; and always the
 * whole-set view: an eval-mode pass on the unaugmented image (TenCrop: mean over the crops),
 * w_avg (eq. 8) normalised over the training set's range `wRange` (eq. 11) and fused with the
 * newly mined row of `minedRows` (eq. 12).
 */
export async function trackSamples(
  ctx: LoopContext,
  tracked: readonly number[],
  options: {
    trainedRows: number[][];
    minedRows: number[][];
    inBatch: ReadonlyMap<number, BatchRows>;
    wRange: [number, number];
  },
): Promise<TrackedSampleRecord[]> {
  if (tracked.length === 0) return [];
  const { net, data, cfg, crops } = ctx;
  const C = data.numClasses;
  const host = makeBatch(data.train, tracked, { imageSize: data.imageSize, tenCrop: ctx.tenCrop });
  const t = toTensors(host);
  const pass = emptyAuxPass(tracked.length * crops, C);
  await auxPassBatch(net, t, pass, 0);
  tf.dispose([t.x, t.labels]);
  const auxProbs = cropMean(pass.auxProbs, crops, C); // [T * C]
  const wAux = Array.from(cropMean(pass.wAux, crops, 1)); // [T]
  const wTar = Array.from(cropMean(pass.wTar, crops, 1)); // [T]
  const wAvg = averageAttentionValues(wAux, wTar); // eq. 8, float64
  // eq. 11 over the whole training set's w_avg range
  const w = normalizeAttentionValues(wAvg, {
    minWeight: cfg.minWeight,
    maxWeight: cfg.maxWeight,
    range: options.wRange,
  });
  return tracked.map((index, k) => {
    const label = data.train.labels[index];
    const dl = Array.from(auxProbs.subarray(k * C, (k + 1) * C));
    const wholeSet = {
      labelDistribution: dl,
      classDistribution: options.minedRows[label].slice(),
      fused: fuseDistributionValues(dl, options.minedRows[label], w[k]), // eq. 12
      wAux: wAux[k],
      wTar: wTar[k],
      wAvg: wAvg[k],
      w: w[k],
    };
    const b = options.inBatch.get(index);
    return {
      index,
      label,
      trueDistribution: data.train.trueDistributions
        ? Array.from(data.train.trueDistributions.subarray(index * C, (index + 1) * C))
        : undefined,
      ...(b
        ? {
          source: "batch" as const,
          step: b.step,
          labelDistribution: b.row.labelDistribution,
          classDistribution: options.trainedRows[label].slice(),
          fused: b.row.fused,
          wAvg: b.row.wAvg,
          w: b.row.w,
        }
        : {
          source: "whole-set" as const,
          labelDistribution: wholeSet.labelDistribution,
          classDistribution: wholeSet.classDistribution,
          fused: wholeSet.fused,
          wAvg: wholeSet.wAvg,
          w: w[k],
        }),
      wholeSet,
    };
  });
}

/**
 * The phases of one Ada-DF epoch that `trainAdaDf` (./trainer.ts) runs in order: train an
 * epoch with the class distributions mined so far ({@linkcode trainEpoch}), then in eval
 * mode mine new class distributions and attention statistics on the training set
 * ({@linkcode mine}, eq. 4-8). The tracked samples are ./tracked_samples.ts's, the test
 * phase is lib/infer's `evaluateTarget`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TrainConfig } from "../config.ts";
import type { AdaDfNet } from "../model/adadf_net.ts";
import { epochBatches, makeBatch, toTensors } from "../data/batches.ts";
import type { BatchPipeline } from "../data/pipeline.ts";
import { balancedEpochIndices } from "../data/sampling.ts";
import type { Prng } from "../util/prng.ts";
import { averageAttentionValues } from "../method/attention.ts";
import { attentionStatistics } from "../method/attention_statistics.ts";
import { type ClassDistributions, mineClassDistributions } from "../method/class_distributions.ts";
import { lossWeights } from "../method/loss_weights.ts";
import type { ClassDistributionRecord } from "../run/records.ts";
import { auxPassBatch, emptyAuxPass, type RecordedRow, trainStepAsync } from "./step.ts";
import type { TrainData, TrainHooks } from "./trainer.ts";

/** The run was asked to stop (Ctrl-C) after a step; epochs before `epoch` are complete. */
export class InterruptedError extends Error {
  override name = "InterruptedError";
  constructor(readonly epoch: number, readonly step: number) {
    super(`interrupted at epoch ${epoch}, step ${step}`);
  }
}

/** What every phase reads, set up once by `trainAdaDf`. */
export interface LoopContext {
  net: AdaDfNet;
  data: TrainData;
  cfg: TrainConfig;
  hooks: TrainHooks;
  /** crops per image: 10 with TenCrop (SFEW), else 1 */
  crops: number;
  /** the crop side with TenCrop (the stored images are larger, `data.imageSize`) */
  tenCrop?: number;
  /** shuffles the epochs (and draws class-balanced ones) */
  shufflePrng: Prng;
  /** augments the training images */
  augPrng: Prng;
}

/** The training batches of one epoch: shuffled (or class-balanced, AffectNet), the last partial batch dropped. */
export function trainingBatches(labels: Int32Array, cfg: TrainConfig, prng: Prng): Int32Array[] {
  if (!cfg.balancedSampling) {
    return epochBatches(labels.length, cfg.batchSize, { prng: cfg.shuffle ? prng : undefined, dropLast: true });
  }
  // official dataset.py CustomDownSampler + DataLoader(drop_last=True)
  const order = balancedEpochIndices(labels, prng);
  const out: Int32Array[] = [];
  for (let i = 0; i + cfg.batchSize <= order.length; i += cfg.batchSize) out.push(order.subarray(i, i + cfg.batchSize));
  return out;
}

/**
 * Throws a RangeError unless one epoch of these training labels gives at least one full batch
 * (class-balanced epochs hold each present class as often as the smallest one). The run checks
 * this before it creates its folder.
 */
export function assertOneTrainingBatch(labels: Int32Array, cfg: TrainConfig): void {
  let perEpoch = labels.length;
  let detail = "";
  if (cfg.balancedSampling) {
    const counts = new Map<number, number>();
    for (const y of labels) counts.set(y, (counts.get(y) ?? 0) + 1);
    const smallest = Math.min(...counts.values());
    perEpoch = counts.size * smallest;
    detail = ` (class-balanced: ${counts.size} classes x the smallest class's ${smallest} = ${perEpoch} per epoch)`;
  }
  if (perEpoch < cfg.batchSize) {
    throw new RangeError(
      `the training set has ${labels.length} images${detail}, fewer than one batch of ${cfg.batchSize}`,
    );
  }
}

/** Sums over an epoch's training batches, each step's mean loss weighted by its batch size. */
export interface EpochSums {
  total: number;
  ce: number;
  kld: number;
  rr: number;
  /** target-branch predictions equal to the training label */
  correct: number;
  /** rows seen (with TenCrop, crops) */
  seen: number;
}

/** A sample's row as the loss used it in the last batch that held it (TenCrop: the mean over its crops' rows). */
export interface BatchRows {
  /** the training step (1-based) */
  step: number;
  row: RecordedRow;
}

/** The element-wise mean of a sample's recorded rows (TenCrop: one row per crop; one row: itself). */
export function meanRow(rows: readonly RecordedRow[]): RecordedRow {
  const mean = (pick: (r: RecordedRow) => number[]) =>
    pick(rows[0]).map((_, j) => rows.reduce((a, r) => a + pick(r)[j], 0) / rows.length);
  return {
    labelDistribution: mean((r) => r.labelDistribution),
    fused: mean((r) => r.fused),
    w: mean((r) => [r.w])[0],
    wAvg: mean((r) => [r.wAvg])[0],
  };
}

/** What {@linkcode trainEpoch} returns. */
export interface TrainedEpoch {
  sums: EpochSums;
  /** the loss weights of eq. 15-16 the last step used (baseline: CE alone) */
  a1: number;
  a2: number;
  /** the tracked samples the epoch's batches held (with `recordAll`, every sample), by training index */
  inBatch: Map<number, BatchRows>;
}

/**
 * Phase 1: one epoch of training steps on the pipeline's augmented batches, fusing with
 * `classRows` [C][C]. Emits a step event after every step; throws on a non-finite loss and an
 * `InterruptedError` when `hooks.shouldStop()` says so.
 */
export async function trainEpoch(
  ctx: LoopContext,
  epoch: number,
  options: {
    classRows: number[][];
    pipeline: BatchPipeline;
    optimizer: tf.Optimizer;
    variables: tf.Variable[];
    tracked: ReadonlySet<number>;
    /** record every row as the loss used it, not only the tracked samples' (the measured distributions) */
    recordAll?: boolean;
  },
): Promise<TrainedEpoch> {
  const { net, cfg, hooks, crops } = ctx;
  // the ramps of eq. 15-16 (the loss reports what it used: baseline trains by CE alone)
  let { a1, a2 } = lossWeights(epoch, cfg.beta);
  const batches = trainingBatches(ctx.data.train.labels, cfg, ctx.shufflePrng);
  const classDist = tf.tensor2d(options.classRows); // [C, C]
  const sums: EpochSums = { total: 0, ce: 0, kld: 0, rr: 0, correct: 0, seen: 0 };
  const inBatch = new Map<number, BatchRows>();
  try {
    let s = -1;
    for await (const host of options.pipeline.epoch(batches)) {
      s++;
      const t = toTensors(host);
      const recordRows: number[] = [];
      host.indices.forEach((i, row) => (options.recordAll || options.tracked.has(i)) && recordRows.push(row));
      const r = await trainStepAsync(net, t, {
        optimizer: options.optimizer,
        variables: options.variables,
        classDistributions: classDist,
        recordRows,
        loss: {
          epoch,
          beta: cfg.beta,
          mode: cfg.mode,
          tops: cfg.tops,
          margin: cfg.margin,
          minWeight: cfg.minWeight,
          maxWeight: cfg.maxWeight,
          detachTargets: cfg.detachTargets,
          // TenCrop: 10 rows per image, but RR groups and the KL divisor use the batch size (train.py)
          ...(crops > 1 ? { rrBatchSize: host.labels.length / crops, klDivisor: host.labels.length / crops } : {}),
        },
      });
      tf.dispose([t.x, t.labels]);
      if (r.recorded) {
        const byIndex = new Map<number, RecordedRow[]>();
        recordRows.forEach((row, k) => {
          const i = host.indices[row];
          byIndex.set(i, [...(byIndex.get(i) ?? []), r.recorded![k]]); // TenCrop: one row per crop
        });
        for (const [i, rows] of byIndex) inBatch.set(i, { step: s + 1, row: meanRow(rows) });
      }
      a1 = r.a1;
      a2 = r.a2;
      if (!Number.isFinite(r.total)) {
        throw new Error(
          `the loss became ${r.total} at epoch ${epoch}, step ${s + 1}; the newest checkpoint is the last good epoch`,
        );
      }
      const b = host.labels.length;
      sums.total += r.total * b;
      sums.ce += r.ce * b;
      sums.kld += r.kld * b;
      sums.rr += r.rr * b;
      sums.correct += r.correct;
      sums.seen += b;
      hooks.onEvent?.({
        type: "step",
        epoch,
        step: s + 1,
        steps: batches.length,
        loss: sums.total / sums.seen,
        accuracy: sums.correct / sums.seen,
        ce: r.ce,
        kld: r.kld,
        rr: r.rr,
        a1: r.a1,
        a2: r.a2,
      });
      await new Promise((r) => setTimeout(r, 0)); // lets signals and notebook output through
      if (hooks.shouldStop?.()) throw new InterruptedError(epoch, s + 1);
    }
  } finally {
    classDist.dispose();
  }
  return { sums, a1, a2, inBatch };
}

/** What {@linkcode mine} returns. */
export interface MinedEpoch {
  /** the new class distributions (eq. 4-7), what the next epoch fuses with */
  classes: ClassDistributions;
  /** per-class statistics of the normalised w_avg (train.py's log) */
  attention: { mean: number[]; max: number[]; min: number[] };
  /** the smallest and largest w_avg over the mined samples: eq. 11's range for the tracked samples */
  wRange: [number, number];
  /** the auxiliary branch's (baseline: the target branch's) accuracy over the mined samples */
  trainAccuracy: number;
}

/**
 * Phase 2: an eval-mode pass over the training set that mines the class distributions
 * (eq. 4-7) and the attention statistics (eq. 8 and 11). With TenCrop every crop counts as a
 * sample with its image's label (the loader repeats labels); with class-balanced sampling the
 * official validate(train_loader) sees a fresh balanced draw (the loader's sampler, drop_last),
 * not the whole training set.
 */
export async function mine(ctx: LoopContext): Promise<MinedEpoch> {
  const { net, data, cfg, crops } = ctx;
  const C = data.numClasses;
  const batches = cfg.balancedSampling
    ? trainingBatches(data.train.labels, cfg, ctx.shufflePrng)
    : epochBatches(data.train.labels.length, cfg.batchSize, { dropLast: false });
  const n = batches.reduce((a, b) => a + b.length, 0) * crops;
  const aux = emptyAuxPass(n, C);
  const order = new Int32Array(n);
  let filled = 0;
  for (const idx of batches) {
    const host = makeBatch(data.train, idx, {
      imageSize: data.imageSize,
      augment: cfg.miningAugment ? cfg.augment : undefined,
      prng: cfg.miningAugment ? ctx.augPrng : undefined,
      tenCrop: ctx.tenCrop,
    });
    const t = toTensors(host);
    await auxPassBatch(net, t, aux, filled);
    tf.dispose([t.x, t.labels]);
    order.set(host.indices, filled);
    filled += host.indices.length;
    await Promise.resolve();
  }
  const labels = Int32Array.from(order, (i) => data.train.labels[i]);
  const classes = mineClassDistributions(aux.auxProbs, labels, C, {
    threshold: cfg.threshold,
    thresholdRows: cfg.thresholdRows,
  });
  const wAvg = averageAttentionValues(aux.wAux, aux.wTar); // eq. 8, [n]
  const attention = attentionStatistics(wAvg, labels, C, { minWeight: cfg.minWeight, maxWeight: cfg.maxWeight });
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of wAvg) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return {
    classes,
    attention,
    wRange: [lo, hi],
    trainAccuracy: (cfg.mode === "baseline" ? aux.correctTarget : aux.correct) / n,
  };
}

/** The class distributions as `class_distributions.jsonl` records them; epoch 0 is the threshold rows training starts from. */
export function classDistributionRecord(epoch: number, mined: ClassDistributions): ClassDistributionRecord {
  return {
    epoch,
    rows: mined.rows,
    mined: mined.mined,
    replaced: mined.mined.map((m) => !m),
    diagonal: mined.diagonal,
    counts: mined.counts,
  };
}

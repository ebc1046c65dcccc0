/**
 * The Ada-DF epoch loop (official train.py's main()), in named phases: train an epoch with
 * the class distributions mined so far, then in eval mode mine new class distributions on
 * the training set (eq. 4-8) and its attention statistics, record the tracked samples, and
 * test the target branch. No I/O: results leave through the hooks and the return value;
 * lib/run writes them into a run folder. The phases are ./phases.ts's and
 * ./tracked_samples.ts's, the test is lib/infer's `evaluateTarget`.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { adam } from "./adam.ts";
import { stemFrozen, type TrainConfig } from "../config.ts";
import type { AdaDfNet } from "../model/adadf_net.ts";
import type { ImageSplit } from "../data/batches.ts";
import { BatchPipeline } from "../data/pipeline.ts";
import { Prng } from "../util/prng.ts";
import { initialClassDistributions } from "../method/class_distributions.ts";
import { evaluateTarget, type TargetEvaluation } from "../infer/evaluate.ts";
import type {
  AttentionRecord,
  ClassDistributionRecord,
  EpochMetrics,
  TrackedEpochRecord,
  TrackedSampleRecord,
} from "../run/records.ts";
import {
  type DistributionRecord,
  measureDistributions,
  type MeasuredSample,
} from "../analysis/distribution_measures.ts";
import {
  assertOneTrainingBatch,
  type BatchRows,
  classDistributionRecord,
  type LoopContext,
  mine,
  type MinedEpoch,
  type TrainedEpoch,
  trainEpoch,
} from "./phases.ts";
import { pickTrackedSamples, trackSamples } from "./tracked_samples.ts";

// the loop's records are lib/run's; these names stay importable from here
export type { ClassDistributionRecord, EpochMetrics, TargetEvaluation, TrackedSampleRecord };
export { assertOneTrainingBatch, InterruptedError, trainingBatches } from "./phases.ts";
export { pickTrackedSamples } from "./tracked_samples.ts";
export { argmax, evaluateTarget } from "../infer/evaluate.ts";

/** What one epoch gives its `onEpoch` hook. */
export interface EpochResult {
  metrics: EpochMetrics;
  classDistributions: ClassDistributionRecord;
  attention: AttentionRecord;
  tracked: TrackedEpochRecord;
  /** target-branch outputs (and both attention weights) on the test set this epoch */
  test: TargetEvaluation;
  /**
   * where the true distributions are known: every training sample's targets as the loss used
   * them, measured against its truth (distributions.jsonl)
   */
  distributions?: DistributionRecord;
}

/**
 * Progress of the loop. A step event carries the running means of the epoch so far (`loss`,
 * `accuracy`) and this step's own loss parts and loss weights (`ce`, `kld`, `rr`, `a1`, `a2`:
 * what train.py's per-step trace logs).
 */
export type TrainEvent =
  | {
    type: "step";
    epoch: number;
    step: number;
    steps: number;
    loss: number;
    accuracy: number;
    ce: number;
    kld: number;
    rr: number;
    a1: number;
    a2: number;
  }
  | { type: "phase"; epoch: number; phase: "train" | "mine" | "test" };

export interface TrainHooks {
  onEvent?: (e: TrainEvent) => void;
  /**
   * called once before the first epoch of a new run (not on resume) with the epoch-0 record:
   * the threshold rows every class starts from
   */
  onStart?: (initial: ClassDistributionRecord) => void | Promise<void>;
  onEpoch?: (r: EpochResult, net: AdaDfNet) => void | Promise<void>;
  /** called at the end of every epoch, after `onEpoch`, with what a checkpoint needs */
  onCheckpoint?: (snapshot: EpochSnapshot, net: AdaDfNet, optimizer: tf.Optimizer) => void | Promise<void>;
  /** checked after every step; true stops the run with an `InterruptedError` (the epoch is redone on resume) */
  shouldStop?: () => boolean;
}

/** The loop's state at the end of an epoch (the tensors live in the model and the optimizer). */
export interface EpochSnapshot {
  epoch: number;
  classRows: number[][];
  prng: { shuffle: number[]; augment: number[] };
  history: EpochMetrics[];
}

/** Where to continue from: a snapshot plus the tensors to load (see lib/run/checkpoint.ts). */
export interface ResumePoint {
  snapshot: EpochSnapshot;
  /** loads the weights into the net and Adam's state into the (fresh) optimizer */
  restore: (net: AdaDfNet, optimizer: tf.Optimizer) => Promise<void>;
}

/** What the loop trains on. `imageSize` is the side S of the stored images (with TenCrop larger than the input). */
export interface TrainData {
  train: ImageSplit;
  test: ImageSplit;
  numClasses: number;
  imageSize: number;
  /** training indices whose labels --noise or --noise-file changed (the measured distributions' AUC) */
  flipped?: ReadonlySet<number>;
}

/** Trains `net` for `cfg.epochs` epochs (from `resume`'s, when given). Returns the per-epoch metrics. */
export async function trainAdaDf(
  net: AdaDfNet,
  data: TrainData,
  cfg: TrainConfig,
  hooks: TrainHooks = {},
  resume?: ResumePoint,
): Promise<EpochMetrics[]> {
  const { ctx, tracked, optimizer, variables, history } = await prepareLoop(net, data, cfg, hooks, resume);
  let classRows = resume?.snapshot.classRows ?? initialClassDistributions(data.numClasses, cfg.threshold);
  if (!resume) await hooks.onStart?.(initialRecord(classRows));
  // prepares batch s + 1 (RandAugment, flip, erasing; the config's recipe) in a worker while batch
  // s trains; augPrng ends every epoch exactly as if the batches were prepared here (checkpoints, --resume)
  const pipeline = new BatchPipeline(data.train, {
    imageSize: data.imageSize,
    augment: cfg.augment,
    prng: ctx.augPrng,
    tenCrop: ctx.tenCrop,
    workers: 1,
  });
  try {
    for (let epoch = (resume?.snapshot.epoch ?? 0) + 1; epoch <= cfg.epochs; epoch++) {
      const t0 = performance.now();
      const lr = cfg.lr * Math.pow(cfg.lrGamma, epoch - 1); // ExponentialLR, stepped after every epoch
      (optimizer as unknown as { learningRate: number }).learningRate = lr;

      hooks.onEvent?.({ type: "phase", epoch, phase: "train" });
      // where the true distributions are known, every row the loss used is measured against them
      const recordAll = data.train.trueDistributions !== undefined;
      const trained = await trainEpoch(ctx, epoch, {
        classRows,
        pipeline,
        optimizer,
        variables,
        tracked: tracked.set,
        recordAll,
      });

      hooks.onEvent?.({ type: "phase", epoch, phase: "mine" });
      const mined = await mine(ctx);
      const trainedRows = classRows; // what this epoch's batches fused with
      classRows = mined.classes.rows;
      const samples = await trackSamples(ctx, tracked.indices, {
        trainedRows,
        minedRows: classRows,
        inBatch: trained.inBatch,
        wRange: mined.wRange,
      });

      hooks.onEvent?.({ type: "phase", epoch, phase: "test" });
      const test = await evaluateTarget(net, data.test, {
        imageSize: data.imageSize,
        batchSize: cfg.batchSize,
        numClasses: data.numClasses,
        tenCrop: ctx.tenCrop,
      });

      const metrics = epochMetrics(epoch, lr, trained, mined, test, t0);
      history.push(metrics);
      await hooks.onEpoch?.({
        metrics,
        classDistributions: classDistributionRecord(epoch, mined.classes),
        attention: { epoch, ...mined.attention },
        tracked: { epoch, samples },
        test,
        ...(recordAll ? { distributions: measuredDistributions(epoch, data, trained.inBatch, trainedRows) } : {}),
      }, net);
      const prng = { shuffle: ctx.shufflePrng.getState(), augment: ctx.augPrng.getState() };
      await hooks.onCheckpoint?.({ epoch, classRows, prng, history: history.slice() }, net, optimizer);
    }
  } finally {
    pipeline.close();
    optimizer.dispose();
  }
  return history;
}

/**
 * Sets up the loop: the generators (forked from the seed in a fixed order: shuffling,
 * augmentation, tracked samples), the tracked samples, the optimizer over the trainable
 * variables, and on resume the weights, Adam's state, the generators' states and the history.
 */
async function prepareLoop(
  net: AdaDfNet,
  data: TrainData,
  cfg: TrainConfig,
  hooks: TrainHooks,
  resume: ResumePoint | undefined,
) {
  assertOneTrainingBatch(data.train.labels, cfg); // every epoch draws the same number of batches
  const root = new Prng(cfg.seed);
  const ctx: LoopContext = {
    net,
    data,
    cfg,
    hooks,
    // TenCrop (SFEW): data.imageSize is the decoded side (256 for 224 crops), the crops are the input
    crops: cfg.tenCrop ? 10 : 1,
    tenCrop: cfg.tenCrop ? cfg.imageSize : undefined,
    shufflePrng: root.fork(),
    augPrng: root.fork(),
  };
  const indices = pickTrackedSamples(data.train, cfg.trackedSamples, data.numClasses, root.fork());
  assertVariant(net, cfg);
  const optimizer = adam(cfg.lr); // PyTorch's Adam defaults, fused on wasm
  const variables = net.trainableVariables(stemFrozen(cfg));
  const history: EpochMetrics[] = [];
  if (resume) {
    await resume.restore(net, optimizer);
    ctx.shufflePrng.setState(resume.snapshot.prng.shuffle);
    ctx.augPrng.setState(resume.snapshot.prng.augment);
    history.push(...resume.snapshot.history);
  }
  return { ctx, tracked: { indices, set: new Set(indices) }, optimizer, variables, history };
}

/** The epoch-0 record of class_distributions.jsonl: the threshold rows every class starts from. */
function initialRecord(rows: number[][]): ClassDistributionRecord {
  return classDistributionRecord(0, {
    rows,
    mined: rows.map(() => false),
    diagonal: rows.map(() => NaN),
    counts: rows.map(() => 0),
  });
}

/** A baseline run trains the plain network, the other modes the dual-branch one. */
function assertVariant(net: AdaDfNet, cfg: TrainConfig): void {
  if ((cfg.mode === "baseline") !== (net.config.variant === "plain")) {
    throw new RangeError(
      `mode '${cfg.mode}' trains ${cfg.mode === "baseline" ? "a plain network" : "the dual-branch network"}, ` +
        `got a network of variant '${net.config.variant ?? "adadf"}' (see modelVariant())`,
    );
  }
}

/** The epoch's line of metrics.jsonl from its phases' results. */
function epochMetrics(
  epoch: number,
  lr: number,
  trained: TrainedEpoch,
  mined: MinedEpoch,
  test: TargetEvaluation,
  t0: number,
): EpochMetrics {
  const { sums } = trained;
  return {
    epoch,
    lr,
    a1: trained.a1,
    a2: trained.a2,
    loss: sums.total / sums.seen,
    lossCe: sums.ce / sums.seen,
    lossKld: sums.kld / sums.seen,
    lossRr: sums.rr / sums.seen,
    trainStepAccuracy: sums.correct / sums.seen,
    trainAccuracy: mined.trainAccuracy,
    testAccuracy: test.accuracy,
    ...(test.accuracyTrue !== undefined ? { testAccuracyTrue: test.accuracyTrue } : {}),
    seconds: (performance.now() - t0) / 1000,
    rssMiB: collectGarbageAndMeasure(),
  };
}

/**
 * A full garbage collection where V8 exposes it (`deno task train` runs with
 * `--v8-flags=--expose-gc`), then the resident memory in MiB. Without it V8 lets the
 * bookkeeping garbage of thousands of kernel calls per step pile up for several epochs
 * (about 17 MiB an epoch on a tiny run) before a major collection; with it the resident
 * memory stays flat from epoch to epoch.
 */
function collectGarbageAndMeasure(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().rss / 2 ** 20;
}

/**
 * The measured distributions of one epoch (lib/analysis/distribution_measures.ts): every
 * training sample's label distribution, class distribution, fused target and w as the loss
 * used them in its batch (TenCrop: the mean over its crops), against its true distribution.
 */
function measuredDistributions(
  epoch: number,
  data: TrainData,
  inBatch: ReadonlyMap<number, BatchRows>,
  trainedRows: number[][],
): DistributionRecord {
  const c = data.numClasses;
  const truth = data.train.trueDistributions!;
  const samples: MeasuredSample[] = [];
  for (const [i, { row }] of inBatch) {
    const label = data.train.labels[i];
    samples.push({
      trueDistribution: truth.subarray(i * c, (i + 1) * c),
      label,
      labelDistribution: row.labelDistribution,
      classDistribution: trainedRows[label],
      fused: row.fused,
      w: row.w,
      flipped: data.flipped?.has(i) ?? false,
    });
  }
  return measureDistributions(epoch, samples);
}

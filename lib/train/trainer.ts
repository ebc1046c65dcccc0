/**
 * The Ada-DF epoch loop (official train.py's main()): train an epoch with the class
 * distributions mined so far, then in eval mode mine new class distributions on the
 * training set (eq. 4-7) and log attention statistics, record the tracked samples,
 * and test the target branch. No I/O: results leave through `onEpoch` and the
 * return value; `lib/train/run.ts` writes them into a run folder.
 */
import * as tf from "@tensorflow/tfjs";
import { adam } from "./adam.ts";
import { stemFrozen, type TrainConfig } from "../config.ts";
import type { AdaDfNet } from "../model/adadf_net.ts";
import { epochBatches, type ImageSplit, makeBatch, toTensors } from "../data/batches.ts";
import { Prng } from "../util/prng.ts";
import { BatchPipeline } from "../data/pipeline.ts";
import { balancedEpochIndices } from "../data/sampling.ts";
import { meanOverCrops } from "../data/augment/tencrop.ts";
import type { AugmentOptions } from "../data/augment/prepare.ts";
import { lossWeights } from "../method/loss_weights.ts";
import { initialClassDistributions, mineClassDistributions } from "../method/class_distributions.ts";
import { attentionStatistics } from "../method/attention_statistics.ts";
import { normalizeAttentionValues } from "../method/normalize_attention.ts";
import { fuseDistributionValues } from "../method/fusion.ts";
import { auxPassBatch, emptyAuxPass, evalBatchAsync, type RecordedRow, trainStepAsync } from "./step.ts";

export interface EpochMetrics {
  epoch: number;
  lr: number;
  a1: number;
  a2: number;
  loss: number;
  lossCe: number;
  lossKld: number;
  lossRr: number;
  /** target branch on the training batches, train mode, against the training labels */
  trainStepAccuracy: number;
  /** auxiliary branch (target branch in baseline mode), eval mode, over the training set (the official code's "Train Acc") */
  trainAccuracy: number;
  testAccuracy: number;
  /** against each test image's most likely true class, where the truth is known */
  testAccuracyTrue?: number;
  seconds: number;
  /** resident memory of the process at the end of the epoch, MiB */
  rssMiB: number;
}

export interface ClassDistributionRecord {
  epoch: number;
  /** [C][C], after thresholding: row c is what samples labelled c fuse with */
  rows: number[][];
  /** row c was mined from the data (its diagonal reached the threshold) */
  mined: boolean[];
  /** row c was replaced by the threshold row */
  replaced: boolean[];
  /** the mined diagonal before thresholding (NaN for a class without samples) */
  diagonal: number[];
  counts: number[];
}

/**
 * One tracked training sample at one epoch. The top-level distributions and weights are what
 * the loss used (`source: "batch"`): the sample's row of its training batch that epoch (train
 * mode, its augmented image, `w` normalised over that batch, eq. 11; the class distribution
 * the epoch trained with). A sample no batch drew that epoch (the dropped last partial batch,
 * class-balanced epochs) has `source: "whole-set"` and the whole-set values there instead.
 * `wholeSet` is the eval-mode view after the epoch: the unaugmented image, `w` normalised
 * over the whole training set's w_avg (as the code's attention statistics).
 */
export interface TrackedSampleRecord {
  index: number;
  label: number;
  trueDistribution?: number[];
  source: "batch" | "whole-set";
  /** the training step (1-based) whose batch held the sample, when `source` is "batch" */
  step?: number;
  labelDistribution: number[];
  classDistribution: number[];
  fused: number[];
  wAvg: number;
  /** eq. 11: the weight of the class distribution in eq. 12 */
  w: number;
  wholeSet: {
    labelDistribution: number[];
    /** the class distribution mined at the end of this epoch */
    classDistribution: number[];
    fused: number[];
    wAux: number;
    wTar: number;
    wAvg: number;
    w: number;
  };
}

export interface EpochResult {
  metrics: EpochMetrics;
  classDistributions: ClassDistributionRecord;
  attention: { epoch: number; mean: number[]; max: number[]; min: number[] };
  tracked: { epoch: number; samples: TrackedSampleRecord[] };
  /** target-branch outputs (and both attention weights) on the test set this epoch */
  test: TargetEvaluation;
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

/** Where to continue from: a snapshot plus the tensors to load (see lib/train/checkpoint.ts). */
export interface ResumePoint {
  snapshot: EpochSnapshot;
  /** loads the weights into the net and Adam's state into the (fresh) optimizer */
  restore: (net: AdaDfNet, optimizer: tf.Optimizer) => Promise<void>;
}

/** The run was asked to stop (Ctrl-C) after a step; epochs before `epoch` are complete. */
export class InterruptedError extends Error {
  override name = "InterruptedError";
  constructor(readonly epoch: number, readonly step: number) {
    super(`interrupted at epoch ${epoch}, step ${step}`);
  }
}

/** What the loop trains on. `imageSize` is the side S of the stored images (with TenCrop larger than the input). */
export interface TrainData {
  train: ImageSplit;
  test: ImageSplit;
  numClasses: number;
  imageSize: number;
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

/** Mean over the `crops` adjacent rows of each image: [B * crops * D] -> [B * D] (identity for 1 crop). */
function cropMean(a: Float32Array, crops: number, dim: number): Float32Array {
  return crops === 1 ? a : meanOverCrops(a, { crops, classes: dim });
}

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

/** Index of the largest of the `c` values starting at `off` (row argmax of a flat [N, C] array). */
export function argmax(a: ArrayLike<number>, off: number, c: number): number {
  let best = 0;
  for (let k = 1; k < c; k++) if (a[off + k] > a[off + best]) best = k;
  return best;
}

/** Trains `net` for `cfg.epochs` epochs. Returns the per-epoch metrics. */
export async function trainAdaDf(
  net: AdaDfNet,
  data: TrainData,
  cfg: TrainConfig,
  hooks: TrainHooks = {},
  resume?: ResumePoint,
): Promise<EpochMetrics[]> {
  assertOneTrainingBatch(data.train.labels, cfg); // every epoch draws the same number of batches
  const C = data.numClasses;
  const S = data.imageSize;
  // TenCrop (SFEW): S is the decoded side (256 for 224 crops), the crops are the input
  const tenCrop = cfg.tenCrop ? cfg.imageSize : undefined;
  const crops = tenCrop === undefined ? 1 : 10;
  // the recipe is the config's (SFEW's preset carries its rand-m3-n5-mstd0.5, lib/config/presets.ts)
  const augment: AugmentOptions = cfg.augment;
  const root = new Prng(cfg.seed);
  const shufflePrng = root.fork();
  const augPrng = root.fork();
  const trackPrng = root.fork();
  const tracked = pickTrackedSamples(data.train, cfg.trackedSamples, C, trackPrng);
  const isTracked = new Set(tracked);
  if ((cfg.mode === "baseline") !== (net.config.variant === "plain")) {
    throw new RangeError(
      `mode '${cfg.mode}' trains ${cfg.mode === "baseline" ? "a plain network" : "the dual-branch network"}, ` +
        `got a network of variant '${net.config.variant ?? "adadf"}' (see modelVariant())`,
    );
  }

  const optimizer = adam(cfg.lr); // PyTorch's Adam defaults, fused on wasm
  const variables = net.trainableVariables(stemFrozen(cfg));
  let classRows = initialClassDistributions(C, cfg.threshold);
  const history: EpochMetrics[] = [];
  const nTrain = data.train.labels.length;
  let first = 1;
  if (resume) {
    await resume.restore(net, optimizer);
    classRows = resume.snapshot.classRows;
    shufflePrng.setState(resume.snapshot.prng.shuffle);
    augPrng.setState(resume.snapshot.prng.augment);
    history.push(...resume.snapshot.history);
    first = resume.snapshot.epoch + 1;
  }

  // prepares batch s + 1 (RandAugment, flip, erasing) in a worker while batch s trains;
  // augPrng ends every epoch exactly as if the batches were prepared here (checkpoints, --resume)
  const pipeline = new BatchPipeline(data.train, { imageSize: S, augment, prng: augPrng, tenCrop, workers: 1 });
  try {
    for (let epoch = first; epoch <= cfg.epochs; epoch++) {
      const t0 = performance.now();
      // ExponentialLR, stepped after every epoch
      const lr = cfg.lr * Math.pow(cfg.lrGamma, epoch - 1);
      (optimizer as unknown as { learningRate: number }).learningRate = lr;
      // the ramps of eq. 15-16 (the loss reports what it used: baseline trains by CE alone)
      let { a1, a2 } = lossWeights(epoch, cfg.beta);

      // ---- train one epoch ---------------------------------------------------------------
      hooks.onEvent?.({ type: "phase", epoch, phase: "train" });
      const batches = trainingBatches(data.train.labels, cfg, shufflePrng);
      const classDist = tf.tensor2d(classRows); // [C, C]
      const sums = { total: 0, ce: 0, kld: 0, rr: 0, correct: 0, seen: 0 };
      // the tracked samples' rows as the loss used them this epoch (the last batch that held each)
      const inBatch = new Map<number, { step: number; rows: RecordedRow[] }>();
      let s = -1;
      for await (const host of pipeline.epoch(batches)) {
        s++;
        const t = toTensors(host);
        const recordRows: number[] = [];
        host.indices.forEach((i, row) => isTracked.has(i) && recordRows.push(row));
        const r = await trainStepAsync(net, t, {
          optimizer,
          variables,
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
          for (const [i, rows] of byIndex) inBatch.set(i, { step: s + 1, rows });
        }
        a1 = r.a1;
        a2 = r.a2;
        if (!Number.isFinite(r.total)) {
          classDist.dispose();
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
        if (hooks.shouldStop?.()) {
          classDist.dispose();
          throw new InterruptedError(epoch, s + 1);
        }
      }
      classDist.dispose();

      // ---- eval-mode pass over the training set: mining and attention statistics ------------
      hooks.onEvent?.({ type: "phase", epoch, phase: "mine" });
      // with TenCrop every crop counts as a sample with its image's label (the loader repeats labels);
      // with class-balanced sampling the official validate(train_loader) sees a fresh balanced
      // draw (the loader's sampler, drop_last), not the whole training set
      const mineBatches = cfg.balancedSampling
        ? trainingBatches(data.train.labels, cfg, shufflePrng)
        : epochBatches(nTrain, cfg.batchSize, { dropLast: false });
      const nMine = mineBatches.reduce((a, b) => a + b.length, 0) * crops;
      const aux = emptyAuxPass(nMine, C);
      const order = new Int32Array(nMine);
      let filled = 0;
      for (const idx of mineBatches) {
        const host = makeBatch(data.train, idx, {
          imageSize: S,
          augment: cfg.miningAugment ? augment : undefined,
          prng: cfg.miningAugment ? augPrng : undefined,
          tenCrop,
        });
        const t = toTensors(host);
        await auxPassBatch(net, t, aux, filled);
        tf.dispose([t.x, t.labels]);
        order.set(host.indices, filled);
        filled += host.indices.length;
        await Promise.resolve();
      }
      const labels = Int32Array.from(order, (i) => data.train.labels[i]);
      const mined = mineClassDistributions(aux.auxProbs, labels, C, {
        threshold: cfg.threshold,
        thresholdRows: cfg.thresholdRows,
      });
      const wAvg = aux.wAux.map((v, i) => (v + aux.wTar[i]) / 2);
      const stats = attentionStatistics(wAvg, labels, C, { minWeight: cfg.minWeight, maxWeight: cfg.maxWeight });
      let wLo = Infinity;
      let wHi = -Infinity;
      for (const v of wAvg) {
        wLo = Math.min(wLo, v);
        wHi = Math.max(wHi, v);
      }
      const trainedRows = classRows; // what this epoch's batches fused with
      classRows = mined.rows;

      // ---- tracked samples: as the loss used them, and the whole-set view (no augmentation;
      // TenCrop: mean over the crops) ------------------------------------------------------------
      const trackedRecords: TrackedSampleRecord[] = [];
      if (tracked.length > 0) {
        const host = makeBatch(data.train, tracked, { imageSize: S, tenCrop });
        const t = toTensors(host);
        const pass = emptyAuxPass(tracked.length * crops, C);
        await auxPassBatch(net, t, pass, 0);
        tf.dispose([t.x, t.labels]);
        const tr = {
          auxProbs: cropMean(pass.auxProbs, crops, C),
          wAux: cropMean(pass.wAux, crops, 1),
          wTar: cropMean(pass.wTar, crops, 1),
        };
        const weightRange = { minWeight: cfg.minWeight, maxWeight: cfg.maxWeight };
        tracked.forEach((index, k) => {
          const label = data.train.labels[index];
          const wAvgK = (tr.wAux[k] + tr.wTar[k]) / 2; // eq. 8
          const dl = Array.from(tr.auxProbs.subarray(k * C, (k + 1) * C));
          // eq. 11 over the whole training set's w_avg range, eq. 12 with the newly mined row
          const [w] = normalizeAttentionValues([wAvgK], { ...weightRange, range: [wLo, wHi] });
          const wholeSet = {
            labelDistribution: dl,
            classDistribution: classRows[label].slice(),
            fused: fuseDistributionValues(dl, classRows[label], w),
            wAux: tr.wAux[k],
            wTar: tr.wTar[k],
            wAvg: wAvgK,
            w,
          };
          const b = inBatch.get(index);
          const mean = (pick: (r: RecordedRow) => number[]) =>
            pick(b!.rows[0]).map((_, j) => b!.rows.reduce((a, r) => a + pick(r)[j], 0) / b!.rows.length);
          trackedRecords.push({
            index,
            label,
            trueDistribution: data.train.trueDistributions
              ? Array.from(data.train.trueDistributions.subarray(index * C, (index + 1) * C))
              : undefined,
            ...(b
              ? {
                source: "batch" as const,
                step: b.step,
                labelDistribution: mean((r) => r.labelDistribution),
                classDistribution: trainedRows[label].slice(),
                fused: mean((r) => r.fused),
                wAvg: mean((r) => [r.wAvg])[0],
                w: mean((r) => [r.w])[0],
              }
              : {
                source: "whole-set" as const,
                labelDistribution: wholeSet.labelDistribution,
                classDistribution: wholeSet.classDistribution,
                fused: wholeSet.fused,
                wAvg: wholeSet.wAvg,
                w,
              }),
            wholeSet,
          });
        });
      }

      // ---- test: target branch only ------------------------------------------------------------
      hooks.onEvent?.({ type: "phase", epoch, phase: "test" });
      const test = await evaluateTarget(net, data.test, {
        imageSize: S,
        batchSize: cfg.batchSize,
        numClasses: C,
        tenCrop,
      });

      const metrics: EpochMetrics = {
        epoch,
        lr,
        a1,
        a2,
        loss: sums.total / sums.seen,
        lossCe: sums.ce / sums.seen,
        lossKld: sums.kld / sums.seen,
        lossRr: sums.rr / sums.seen,
        trainStepAccuracy: sums.correct / sums.seen,
        trainAccuracy: (cfg.mode === "baseline" ? aux.correctTarget : aux.correct) / nMine,
        testAccuracy: test.accuracy,
        ...(test.accuracyTrue !== undefined ? { testAccuracyTrue: test.accuracyTrue } : {}),
        seconds: (performance.now() - t0) / 1000,
        rssMiB: collectGarbageAndMeasure(),
      };
      history.push(metrics);
      await hooks.onEpoch?.({
        metrics,
        classDistributions: {
          epoch,
          rows: mined.rows,
          mined: mined.mined,
          replaced: mined.mined.map((m) => !m),
          diagonal: mined.diagonal,
          counts: mined.counts,
        },
        attention: { epoch, ...stats },
        tracked: { epoch, samples: trackedRecords },
        test,
      }, net);
      await hooks.onCheckpoint?.(
        {
          epoch,
          classRows,
          prng: { shuffle: shufflePrng.getState(), augment: augPrng.getState() },
          history: history.slice(),
        },
        net,
        optimizer,
      );
    }
  } finally {
    pipeline.close();
    optimizer.dispose();
  }
  return history;
}

/** What `evaluateTarget` returns: accuracies and per-image target-branch outputs. */
export interface TargetEvaluation {
  accuracy: number;
  accuracyTrue?: number;
  /** [N * C] */
  logits: Float32Array;
  /** [N] the official forward's attention output, (w_aux + w_tar) / 2 */
  attention: Float32Array;
  /** [N] w_aux */
  attentionAux: Float32Array;
  /** [N] w_tar */
  attentionTarget: Float32Array;
  /** [N * D] pooled target-branch features */
  features: Float32Array;
  featureDim: number;
}

/**
 * Target-branch evaluation of a split: accuracy (and against the true argmax where known),
 * logits, features, and both branches' attention weights (the official forward's outputs).
 * `imageSize` is the stored side; with `tenCrop` (the crop side) each image's logits,
 * attention and features are the means over its ten crops (train.py's
 * test-time `view(bs, ncrops, -1).mean(1)`).
 */
export async function evaluateTarget(
  net: AdaDfNet,
  split: ImageSplit,
  options: { imageSize: number; batchSize: number; numClasses: number; tenCrop?: number },
): Promise<TargetEvaluation> {
  const C = options.numClasses;
  const n = split.labels.length;
  const logits = new Float32Array(n * C);
  const attentionAux = new Float32Array(n);
  const attentionTarget = new Float32Array(n);
  let features = new Float32Array(0);
  let featureDim = 0;
  let offset = 0;
  for (const idx of epochBatches(n, options.batchSize, { dropLast: false })) {
    const crops = options.tenCrop === undefined ? 1 : 10;
    const t = toTensors(makeBatch(split, idx, { imageSize: options.imageSize, tenCrop: options.tenCrop }));
    const o = await evalBatchAsync(net, t.x);
    tf.dispose([t.x, t.labels]);
    if (featureDim === 0) {
      featureDim = o.features.length / (idx.length * crops);
      features = new Float32Array(n * featureDim);
    }
    logits.set(cropMean(o.logits, crops, C), offset * C);
    attentionAux.set(cropMean(o.wAux, crops, 1), offset);
    attentionTarget.set(cropMean(o.wTar, crops, 1), offset);
    features.set(cropMean(o.features, crops, featureDim), offset * featureDim);
    offset += idx.length;
  }
  let correct = 0;
  let correctTrue = 0;
  for (let i = 0; i < n; i++) {
    const p = argmax(logits, i * C, C);
    if (p === split.labels[i]) correct++;
    if (split.trueDistributions && p === argmax(split.trueDistributions, i * C, C)) correctTrue++;
  }
  return {
    accuracy: n > 0 ? correct / n : NaN,
    accuracyTrue: split.trueDistributions && n > 0 ? correctTrue / n : undefined,
    logits,
    attention: attentionAux.map((a, i) => (a + attentionTarget[i]) / 2),
    attentionAux,
    attentionTarget,
    features,
    featureDim,
  };
}

/**
 * The records of a run folder, declared once: what the trainer produces (`lib/train`), what
 * the writer puts into the run folder (`./writer.ts`) and what the reader gives back
 * (`./reader.ts`, the figures). A record as read back differs from the one written only in
 * two ways, each a type derived here rather than a second declaration: JSON has no NaN or
 * infinity, so a non-finite number comes back as `null` ({@linkcode ReadBack}); and fields
 * that older runs did not write are optional.
 *
 * Files: `metrics.jsonl` ({@linkcode EpochMetrics}), `class_distributions.jsonl`
 * ({@linkcode ClassDistributionRecord}), `attention.jsonl` ({@linkcode AttentionRecord}),
 * `tracked.jsonl` ({@linkcode TrackedEpochRecord}), `features.json` + `features.npy`
 * ({@linkcode FeaturesJson}), `summary.json` ({@linkcode RunSummary}); `config.json` is
 * `./config_json.ts`'s.
 *
 * @module
 */

/** A numeric field as read back: non-finite numbers are written as null (`finiteOrNull`). */
type Nullable<T> = { [K in keyof T]: NonNullable<T[K]> extends number ? T[K] | null : T[K] };

/** One epoch's metrics, one line of `metrics.jsonl`. */
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

/** Fields of {@linkcode EpochMetrics} that runs written before them lack. */
type OlderMetrics = "trainStepAccuracy" | "seconds" | "rssMiB";

/**
 * One line of `metrics.jsonl` as read back: {@linkcode EpochMetrics} with its loss parts,
 * loss weights and accuracies null where they were not finite; `trainStepAccuracy`, `seconds`
 * and `rssMiB` absent in older runs.
 */
export type MetricsRecord =
  & Pick<EpochMetrics, "epoch" | "lr">
  & Nullable<Omit<EpochMetrics, "epoch" | "lr" | OlderMetrics>>
  & Partial<Nullable<Pick<EpochMetrics, "trainStepAccuracy">>>
  & Partial<Pick<EpochMetrics, "seconds" | "rssMiB">>;

/** One line of `class_distributions.jsonl`: the CxC class distributions after an epoch (epoch 0: before training). */
export interface ClassDistributionRecord {
  epoch: number;
  /** [C, C], after thresholding: row c is the class distribution samples labelled c fuse with */
  rows: number[][];
  /** row c was mined from the auxiliary branch this epoch (its diagonal reached the threshold). [C] */
  mined: boolean[];
  /** row c was replaced by the threshold row. [C] */
  replaced: boolean[];
  /** the mined diagonal before the threshold test: NaN for a class without samples (null once read back). [C] */
  diagonal: (number | null)[];
  /** training samples of each class that the row averages. [C] */
  counts: number[];
}

/** One line of `attention.jsonl`: per-class mean, max and min of the normalised attention weights over the training set. */
export interface AttentionRecord {
  epoch: number;
  /** [C]; NaN (null once read back) for a class without samples */
  mean: (number | null)[];
  max: (number | null)[];
  min: (number | null)[];
}

/**
 * One tracked training sample at one epoch. The top-level distributions and weights are what
 * the loss used (`source: "batch"`): the sample's row of its training batch that epoch (train
 * mode, its augmented image, `w` normalised over that batch, eq. 11; the class distribution
 * the epoch trained with). A sample no batch drew that epoch (the dropped last partial batch,
 * class-balanced epochs) has `source: "whole-set"` and the whole-set values there instead.
 * `wholeSet` is the eval-mode view after the epoch: the unaugmented image, `w` normalised
 * over the whole training set's w_avg (as the code's attention statistics). Distributions are [C].
 */
export interface TrackedSampleRecord {
  /** index in the training split */
  index: number;
  label: number;
  trueDistribution?: number[];
  source: "batch" | "whole-set";
  /** the training step (1-based) whose batch held the sample, when `source` is "batch" */
  step?: number;
  labelDistribution: number[];
  /** the class distribution of the sample's label */
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

/** One line of `tracked.jsonl` as written. */
export interface TrackedEpochRecord {
  epoch: number;
  samples: TrackedSampleRecord[];
}

/**
 * A tracked sample as read back from `tracked.jsonl`: runs written before `source` and
 * `wholeSet` existed recorded only the eval-mode view, with its attention weights `wAux` and
 * `wTar` at the top level; a missing true distribution may be null.
 */
export type TrackedSample =
  & Omit<TrackedSampleRecord, "source" | "wholeSet" | "wAvg" | "trueDistribution">
  & Partial<Pick<TrackedSampleRecord, "source" | "wholeSet" | "wAvg">>
  & {
    trueDistribution?: number[] | null;
    /** runs written before `wholeSet` existed: the eval-mode attention weights */
    wAux?: number;
    wTar?: number;
  };

/** One line of `tracked.jsonl` as read back. */
export interface TrackedRecord {
  epoch: number;
  samples: TrackedSample[];
}

/** `features.json`, the description of `features.npy`: the target branch's final features of the test set. */
export interface FeaturesJson {
  epoch: number;
  branch: string;
  /** [N, D] of features.npy */
  shape: [number, number];
  classes: readonly string[];
  /** [N] */
  labels: number[];
  /** argmax of the target branch's logits. [N] */
  predictions?: number[];
  /** the official forward's attention output, (w_aux + w_tar) / 2 (older runs: w_tar). [N]; absent for a plain network */
  attention?: number[];
  /** w_aux [N] */
  attentionAux?: number[];
  /** w_tar [N] */
  attentionTarget?: number[];
}

/** `features.npy` + `features.json` read back. */
export interface FeaturesFile extends Omit<FeaturesJson, "classes"> {
  /** feature matrix, row-major. [N, D] */
  data: Float32Array;
  classes: string[];
}

/** `summary.json`: how the run ended. */
export interface RunSummary {
  testAccuracy: number;
  bestTestAccuracy: number;
  bestEpoch: number;
  testAccuracyTrue?: number;
  bestTestAccuracyTrue?: number;
  epochsCompleted: number;
  wallSeconds: number;
  backend: string;
  backendReason: string;
  skippedImages: number;
  architecture: string;
  parameterCount: number;
  inputSize: number;
  narrowed: boolean;
  mode: string;
  seed: number;
}

/**
 * What `deno task eval` reports about a trained model on a test split: accuracy (eq. 17),
 * per-class accuracy and the confusion matrix of the target branch's predictions (inference
 * uses the target branch only), and `evaluateTarget`, the forward passes over a split (TenCrop
 * included) that the trainer's test phase also runs.
 *
 * @example
 * ```ts
 * import { confusionFromLogits } from "./evaluate.ts";
 * // two images, two classes: logits [N * C]
 * const m = confusionFromLogits(Float32Array.from([2, 1, 0, 3]), Int32Array.from([0, 0]), 2);
 * if (m[0][0] !== 1 || m[0][1] !== 1) throw new Error("rows are the true class");
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { AdaDfNet } from "../model/adadf_net.ts";
import { epochBatches, type ImageSplit, makeBatch, toTensors } from "../data/batches.ts";
import { meanOverCrops } from "../data/augment/tencrop.ts";
import { evalBatchAsync } from "../train/step.ts";
import { confusionMatrix } from "../viz/confusion.ts";

/** Index of the largest of the `c` values starting at `off` (row argmax of a flat [N, C] array). */
export function argmax(a: ArrayLike<number>, off: number, c: number): number {
  let best = 0;
  for (let k = 1; k < c; k++) if (a[off + k] > a[off + best]) best = k;
  return best;
}

/** Mean over the `crops` adjacent rows of each image: [B * crops * D] -> [B * D] (identity for 1 crop). */
export function cropMean(a: Float32Array, crops: number, dim: number): Float32Array {
  return crops === 1 ? a : meanOverCrops(a, { crops, classes: dim });
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

/** The report of one evaluation; `perClassAccuracy` is null for a class without test images. */
export interface EvaluationReport {
  /** correct / count (eq. 17) */
  accuracy: number;
  /** against each image's most likely true class, where the truth is known (SynthFER, FERPlus) */
  accuracyTrue?: number;
  /** recall of each class, by class name */
  perClassAccuracy: Record<string, number | null>;
  /** [C][C] image counts: row = true class, column = predicted class */
  confusion: number[][];
  /** number of test images */
  count: number;
}

/** Counts of (true class, predicted class) pairs: [C][C], rows = true class. logits [N * C], labels [N]. */
export function confusionFromLogits(logits: Float32Array, labels: Int32Array, numClasses: number): number[][] {
  const c = numClasses;
  if (logits.length !== labels.length * c) {
    throw new RangeError(`logits hold ${logits.length} values, expected ${labels.length} images x ${c} classes`);
  }
  const predictions = Int32Array.from({ length: labels.length }, (_, i) => argmax(logits, i * c, c));
  return confusionMatrix(labels, predictions, c);
}

/** Accuracy, per-class accuracy and the confusion matrix from logits [N * C] and labels [N]. */
export function evaluationReport(
  logits: Float32Array,
  labels: Int32Array,
  options: { classes: readonly string[]; trueDistributions?: Float32Array },
): EvaluationReport {
  const c = options.classes.length;
  const confusion = confusionFromLogits(logits, labels, c);
  const n = labels.length;
  let correct = 0;
  const perClassAccuracy: Record<string, number | null> = {};
  options.classes.forEach((name, k) => {
    const row = confusion[k].reduce((a, b) => a + b, 0);
    correct += confusion[k][k];
    perClassAccuracy[name] = row > 0 ? confusion[k][k] / row : null;
  });
  const report: EvaluationReport = { accuracy: n > 0 ? correct / n : NaN, perClassAccuracy, confusion, count: n };
  const t = options.trueDistributions;
  if (t !== undefined && t.length === n * c) {
    let ok = 0;
    for (let i = 0; i < n; i++) if (argmax(logits, i * c, c) === argmax(t, i * c, c)) ok++;
    report.accuracyTrue = n > 0 ? ok / n : NaN;
  }
  return report;
}

/**
 * Runs the target branch over `split` (eval mode; with `tenCrop` the mean of the ten crops'
 * logits) and reports. `imageSize` is the side of the stored images.
 */
export async function evaluateModel(
  net: AdaDfNet,
  split: ImageSplit,
  options: { imageSize: number; batchSize: number; classes: readonly string[]; tenCrop?: number },
): Promise<EvaluationReport> {
  const r = await evaluateTarget(net, split, {
    imageSize: options.imageSize,
    batchSize: options.batchSize,
    numClasses: options.classes.length,
    tenCrop: options.tenCrop,
  });
  const bad = r.logits.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    // wasm's kernels drop NaN: a non-finite logit means broken weights, never an answer
    throw new RangeError(
      `the model's logits for test image ${Math.floor(bad / options.classes.length)} are not finite (NaN or infinity)`,
    );
  }
  return evaluationReport(r.logits, split.labels, {
    classes: options.classes,
    trueDistributions: split.trueDistributions,
  });
}

/** The report as a readable table: accuracy, per-class accuracy and the confusion matrix (rows = true class). */
export function formatEvaluation(r: EvaluationReport, classes: readonly string[]): string {
  const pct = (x: number | null | undefined) => x === null || x === undefined ? "-" : `${(x * 100).toFixed(2)} %`;
  const lines = [
    `accuracy ${pct(r.accuracy)} on ${r.count} images` +
    (r.accuracyTrue !== undefined ? ` (against the true distributions' argmax: ${pct(r.accuracyTrue)})` : ""),
    "",
    "per class:",
  ];
  const w = Math.max(...classes.map((c) => c.length), 10);
  classes.forEach((name, k) => {
    const n = r.confusion[k].reduce((a, b) => a + b, 0);
    lines.push(`  ${name.padEnd(w)} ${pct(r.perClassAccuracy[name]).padStart(9)}  (${n} images)`);
  });
  lines.push("", "confusion (rows: true class, columns: predicted class):");
  const cw = Math.max(5, ...r.confusion.flat().map((v) => String(v).length + 1));
  const abbrev = classes.map((c) => c.slice(0, cw - 1));
  lines.push(`  ${"".padEnd(w)} ${abbrev.map((a) => a.padStart(cw)).join("")}`);
  classes.forEach((name, k) =>
    lines.push(`  ${name.padEnd(w)} ${r.confusion[k].map((v) => String(v).padStart(cw)).join("")}`)
  );
  return lines.join("\n");
}

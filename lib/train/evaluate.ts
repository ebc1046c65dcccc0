/**
 * What `deno task eval` reports about a trained model on a test split: accuracy (eq. 17),
 * per-class accuracy and the confusion matrix of the target branch's predictions (inference
 * uses the target branch only). The forward passes are `evaluateTarget`'s (lib/train/trainer.ts,
 * TenCrop included); this file only counts.
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
import type { AdaDfNet } from "../model/adadf_net.ts";
import type { ImageSplit } from "../data/batches.ts";
import { confusionMatrix } from "../viz/confusion.ts";
import { argmax, evaluateTarget } from "./trainer.ts";

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

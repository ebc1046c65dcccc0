/**
 * Class distribution mining, eq. 4-7 of the paper: after each epoch, the mean label
 * distribution of each class, kept where it is confident enough and replaced by a
 * threshold distribution where it is not.
 * @module
 */
import { assertFinite, assertInRange, assertLabelValues, assertNumClasses } from "./_validate.ts";

/**
 * Which threshold distribution replaces a class distribution that was not mined (eq. 7).
 * - `"paper"`: t on the class, (1 - t)/(C - 1) elsewhere (rows sum to 1). The default.
 * - `"code"`: t on the class, 0.4/(C - 1) elsewhere, as utils.generate_adaptive_LD does
 *   (rows sum to t + 0.4, which is 1 only for t = 0.6).
 */
export type ThresholdRows = "paper" | "code";

/** Options of {@linkcode mineClassDistributions} and {@linkcode ClassDistributionMiner}. */
export interface MineClassDistributionsOptions {
  /** Threshold t of eq. 6-7 (0.7 for RAF-DB, 0.5 for AffectNet and SFEW), in [0, 1]. */
  threshold: number;
  /** Threshold rows, see {@linkcode ThresholdRows}. Default `"paper"`. */
  thresholdRows?: ThresholdRows;
}

/** What mining returns. All arrays are indexed by class c in [0, C). */
export interface ClassDistributions {
  /** The class distributions d_class, C rows of C numbers. */
  rows: number[][];
  /** `mined[c]`: row c is the mean over the data (true) or the threshold row (false). */
  mined: boolean[];
  /** Number of samples seen with label c. */
  counts: number[];
  /** Mean probability of the true class, `mean d_label[c]` over label c; NaN for an empty class. */
  diagonal: number[];
}

/**
 * The threshold distribution of class `c`, eq. 7: t at index c, and (1 - t)/(C - 1)
 * (`rows = "paper"`) or 0.4/(C - 1) (`rows = "code"`) elsewhere.
 *
 * @throws {RangeError} if c is not a class index, C < 2, or t is not in [0, 1]
 *
 * @example
 * ```ts
 * import { thresholdRow } from "./class_distributions.ts";
 * thresholdRow(0, 3, 0.6); // [0.6, 0.2, 0.2]
 * ```
 */
export function thresholdRow(
  c: number,
  numClasses: number,
  threshold: number,
  rows: ThresholdRows = "paper",
): number[] {
  assertNumClasses(numClasses);
  if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
    throw new RangeError(`c must be a class index in [0, ${numClasses}), got ${c}`);
  }
  assertInRange(threshold, 0, 1, "threshold");
  assertThresholdRows(rows);
  // utils.py: torch.zeros(C).fill_(0.4 / (C - 1)).scatter_(0, c, t); train.py's init: (1 - t) / (C - 1)
  const off = rows === "paper" ? (1 - threshold) / (numClasses - 1) : 0.4 / (numClasses - 1);
  const row = new Array<number>(numClasses).fill(off);
  row[c] = threshold;
  return row;
}

/**
 * The class distributions before the first epoch: every row is the threshold row. As in
 * train.py's initialisation, these are the paper's rows ((1 - t)/(C - 1) off the diagonal)
 * whatever `thresholdRows` mining later uses.
 *
 * @returns C rows of C numbers
 *
 * @example
 * ```ts
 * import { initialClassDistributions } from "./class_distributions.ts";
 * initialClassDistributions(2, 0.7); // [[0.7, 0.3], [0.3, 0.7]] (up to rounding)
 * ```
 */
export function initialClassDistributions(numClasses: number, threshold: number): number[][] {
  assertNumClasses(numClasses);
  return Array.from({ length: numClasses }, (_, c) => thresholdRow(c, numClasses, threshold, "paper"));
}

/**
 * Streams class distribution mining (eq. 4-7) batch by batch, so the training loop need not
 * hold the whole training set's probabilities: `add()` each batch's softmax of the auxiliary
 * logits with its labels, then `result()`. Sums are kept in float64.
 *
 * @example
 * ```ts
 * import { ClassDistributionMiner } from "./class_distributions.ts";
 * const miner = new ClassDistributionMiner(2, { threshold: 0.7 });
 * miner.add(new Float32Array([0.9, 0.1, 0.4, 0.6]), new Int32Array([0, 1]));
 * const { mined } = miner.result(); // [true, false]: class 1's mean 0.6 < 0.7
 * ```
 */
export class ClassDistributionMiner {
  readonly numClasses: number;
  readonly threshold: number;
  readonly thresholdRows: ThresholdRows;
  #sums: Float64Array; // [C, C] row-major: sum of d_label over the samples of class c
  #counts: Float64Array; // [C]

  constructor(numClasses: number, options: MineClassDistributionsOptions) {
    assertNumClasses(numClasses);
    if (options == null || typeof options !== "object") {
      throw new TypeError(`options must be an object { threshold, thresholdRows? }, got ${String(options)}`);
    }
    assertInRange(options.threshold, 0, 1, "threshold");
    const rows = options.thresholdRows ?? "paper";
    assertThresholdRows(rows);
    this.numClasses = numClasses;
    this.threshold = options.threshold;
    this.thresholdRows = rows;
    this.#sums = new Float64Array(numClasses * numClasses);
    this.#counts = new Float64Array(numClasses);
  }

  /** Number of samples added so far. */
  get count(): number {
    return this.#counts.reduce((a, b) => a + b, 0);
  }

  /**
   * Adds one batch.
   * @param probs softmax of the auxiliary logits, [N * C] row-major
   * @param labels the true classes, [N]
   * @throws {RangeError} if the lengths disagree, a label is out of range or a probability is not finite
   */
  add(probs: Float32Array, labels: Int32Array): void {
    const c = this.numClasses;
    if (!(probs instanceof Float32Array)) throw new TypeError(`probs must be a Float32Array, got ${String(probs)}`);
    if (!(labels instanceof Int32Array)) throw new TypeError(`labels must be an Int32Array, got ${String(labels)}`);
    if (probs.length !== labels.length * c) {
      throw new RangeError(
        `probs must hold N * C = ${labels.length} * ${c} = ${
          labels.length * c
        } values (row-major [N, C]), got ${probs.length}`,
      );
    }
    assertLabelValues(labels, c);
    for (let i = 0; i < probs.length; i++) assertFinite(probs[i], `probs[${i}]`);
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i];
      this.#counts[y] += 1;
      for (let j = 0; j < c; j++) this.#sums[y * c + j] += probs[i * c + j]; // eq. 4-5: sum over class y
    }
  }

  /**
   * The class distributions of the samples added so far, eq. 4-7: row c is the mean label
   * distribution of class c if its diagonal is >= t (mined), else the threshold row. A class
   * with no sample is replaced and its diagonal is NaN (train.py: the mean of nothing is NaN,
   * and NaN >= t is false).
   */
  result(): ClassDistributions {
    const c = this.numClasses;
    const rows: number[][] = [];
    const mined: boolean[] = [];
    const diagonal: number[] = [];
    for (let k = 0; k < c; k++) {
      const n = this.#counts[k];
      const mean = Array.from(this.#sums.subarray(k * c, (k + 1) * c), (s) => (n > 0 ? s / n : NaN)); // eq. 5
      const keep = n > 0 && mean[k] >= this.threshold; // eq. 6
      diagonal.push(mean[k]);
      mined.push(keep);
      rows.push(keep ? mean : thresholdRow(k, c, this.threshold, this.thresholdRows)); // eq. 7
    }
    return { rows, mined, counts: Array.from(this.#counts), diagonal };
  }

  /** Forgets every sample added (for the next epoch). */
  reset(): void {
    this.#sums.fill(0);
    this.#counts.fill(0);
  }
}

/**
 * Class distribution mining over a whole set in one call, eq. 4-7 (utils.generate_adaptive_LD,
 * without `sharpen`): see {@linkcode ClassDistributionMiner}.
 *
 * @param probs softmax of the auxiliary logits, [N * C] row-major
 * @param labels the true classes, [N]
 * @param numClasses C
 *
 * @example
 * ```ts
 * import { mineClassDistributions } from "./class_distributions.ts";
 * const probs = new Float32Array([0.9, 0.1, 0.7, 0.3]); // two samples of class 0
 * const d = mineClassDistributions(probs, new Int32Array([0, 0]), 2, { threshold: 0.7 });
 * // d.rows = [[0.8, 0.2], [0.3, 0.7]], d.mined = [true, false] (class 1 has no sample)
 * ```
 */
export function mineClassDistributions(
  probs: Float32Array,
  labels: Int32Array,
  numClasses: number,
  options: MineClassDistributionsOptions,
): ClassDistributions {
  const miner = new ClassDistributionMiner(numClasses, options);
  miner.add(probs, labels);
  return miner.result();
}

function assertThresholdRows(rows: string): asserts rows is ThresholdRows {
  if (rows !== "paper" && rows !== "code") {
    throw new RangeError(`thresholdRows must be "paper" or "code", got ${JSON.stringify(rows)}`);
  }
}

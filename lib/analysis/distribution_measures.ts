/**
 * Measured distributions: how near each training target is to a face's true distribution,
 * and how well the attention weight separates flipped from clean labels and blended from
 * clear faces. What the paper shows for single images, over every sample. Pure functions on
 * plain arrays.
 *
 * @example
 * ```ts
 * import { jsDivergence, rocAuc } from "./distribution_measures.ts";
 * if (jsDivergence([1, 0], [1, 0]) !== 0) throw new Error("identical");
 * if (Math.abs(jsDivergence([1, 0], [0, 1]) - Math.LN2) > 1e-12) throw new Error("disjoint: ln 2");
 * if (rocAuc([0.9, 0.8, 0.1], [true, true, false]) !== 1) throw new Error("perfectly separated");
 * ```
 * @module
 */

/** Jensen-Shannon divergence (natural log, in [0, ln 2]); finite for one-hot targets, unlike KL. */
export function jsDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError(`distributions of ${p.length} and ${q.length} classes`);
  let js = 0;
  for (let j = 0; j < p.length; j++) {
    const m = (p[j] + q[j]) / 2;
    if (p[j] > 0) js += 0.5 * p[j] * Math.log(p[j] / m);
    if (q[j] > 0) js += 0.5 * q[j] * Math.log(q[j] / m);
  }
  return Math.max(0, js);
}

/** L1 distance (in [0, 2] between distributions). */
export function l1Distance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError(`distributions of ${p.length} and ${q.length} classes`);
  let s = 0;
  for (let j = 0; j < p.length; j++) s += Math.abs(p[j] - q[j]);
  return s;
}

/** Mean and quartiles (linear interpolation, numpy's default); NaN for no values. */
export function summary(xs: readonly number[]): { n: number; mean: number; q1: number; median: number; q3: number } {
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, q1: NaN, median: NaN, q3: NaN };
  const s = [...xs].sort((a, b) => a - b);
  const at = (f: number) => {
    const x = f * (n - 1);
    const i = Math.floor(x);
    return i + 1 < n ? s[i] + (x - i) * (s[i + 1] - s[i]) : s[i];
  };
  return { n, mean: s.reduce((a, b) => a + b, 0) / n, q1: at(0.25), median: at(0.5), q3: at(0.75) };
}

/**
 * Area under the ROC curve of `scores` for telling `positive` from negative samples (the
 * Mann-Whitney statistic, ties counted half); NaN when one class is empty.
 */
export function rocAuc(scores: readonly number[], positive: readonly boolean[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  let rankSumPos = 0;
  let nPos = 0;
  for (let k = 0; k < order.length;) {
    let e = k;
    while (e + 1 < order.length && order[e + 1][0] === order[k][0]) e++;
    const rank = (k + e) / 2 + 1; // average rank of the tie group
    for (let t = k; t <= e; t++) {
      if (positive[order[t][1]]) {
        rankSumPos += rank;
        nPos++;
      }
    }
    k = e + 1;
  }
  const nNeg = scores.length - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** The ROC curve's points (false positive rate, true positive rate), thresholds from high to low. */
export function rocCurve(scores: readonly number[], positive: readonly boolean[]): { fpr: number; tpr: number }[] {
  const nPos = positive.filter((p) => p).length;
  const nNeg = positive.length - nPos;
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
  const pts = [{ fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length;) {
    let e = k;
    while (e + 1 < order.length && order[e + 1][0] === order[k][0]) e++;
    for (let t = k; t <= e; t++) positive[order[t][1]] ? tp++ : fp++;
    pts.push({ fpr: nNeg ? fp / nNeg : 0, tpr: nPos ? tp / nPos : 0 });
    k = e + 1;
  }
  return pts;
}

/** The targets compared with a face's true distribution. */
export const TARGETS = ["label", "class", "fused", "onehot"] as const;
export type TargetName = typeof TARGETS[number];

/** One training sample at one epoch, as the loss used it. Distributions are [C]. */
export interface MeasuredSample {
  trueDistribution: ArrayLike<number>;
  label: number;
  labelDistribution: ArrayLike<number>;
  classDistribution: ArrayLike<number>;
  fused: ArrayLike<number>;
  /** the normalised attention weight of eq. 11 the loss used */
  w: number;
  /** the label was flipped by --noise */
  flipped?: boolean;
}

type Summary = ReturnType<typeof summary>;

/** One epoch's measures (a line of `distributions.jsonl`). */
export interface DistributionRecord {
  epoch: number;
  samples: number;
  /** per target: JS divergence and L1 distance to the true distribution, all / clear / blended faces */
  js: Record<TargetName, { all: Summary; clear: Summary; blended: Summary }>;
  l1: Record<TargetName, { all: Summary; clear: Summary; blended: Summary }>;
  /**
   * ROC AUC of the attention weight w: a low w should mark a flipped label (auc of 1 - w
   * for flipped vs clean) and a blended face (1 - w for blended vs clear); NaN where one side
   * is empty
   */
  auc: { flipped: number; blended: number };
  /** the ROC curves behind `auc` (at most 65 points each, first and last kept) */
  roc: { flipped: { fpr: number; tpr: number }[]; blended: { fpr: number; tpr: number }[] };
}

/** At most `k` points of a curve, evenly spaced by index, first and last kept. */
export function thinCurve<T>(points: readonly T[], k = 65): T[] {
  if (points.length <= k) return points.slice();
  return Array.from({ length: k }, (_, i) => points[Math.round((i * (points.length - 1)) / (k - 1))]);
}

/** A face is blended when its true distribution's largest class has less than this. */
export const BLENDED_BELOW = 0.75;

/** The measures of one epoch over `samples`. */
export function measureDistributions(epoch: number, samples: readonly MeasuredSample[]): DistributionRecord {
  const blended = samples.map((s) => Math.max(...Array.from(s.trueDistribution)) < BLENDED_BELOW);
  const c = samples[0]?.trueDistribution.length ?? 0;
  const target = (s: MeasuredSample, t: TargetName): ArrayLike<number> =>
    t === "label"
      ? s.labelDistribution
      : t === "class"
      ? s.classDistribution
      : t === "fused"
      ? s.fused
      : Array.from({ length: c }, (_, j) => (j === s.label ? 1 : 0));
  const by = (f: (p: ArrayLike<number>, q: ArrayLike<number>) => number) =>
    Object.fromEntries(TARGETS.map((t) => {
      const d = samples.map((s) => f(s.trueDistribution, target(s, t)));
      return [t, {
        all: summary(d),
        clear: summary(d.filter((_, i) => !blended[i])),
        blended: summary(d.filter((_, i) => blended[i])),
      }];
    })) as DistributionRecord["js"];
  const lowW = samples.map((s) => 1 - s.w);
  const flipped = samples.map((s) => s.flipped === true);
  return {
    epoch,
    samples: samples.length,
    js: by(jsDivergence),
    l1: by(l1Distance),
    auc: { flipped: rocAuc(lowW, flipped), blended: rocAuc(lowW, blended) },
    roc: {
      flipped: flipped.some((f) => f) ? thinCurve(rocCurve(lowW, flipped)) : [],
      blended: blended.some((b) => b) ? thinCurve(rocCurve(lowW, blended)) : [],
    },
  };
}

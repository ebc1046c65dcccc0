/**
 * The labels of SynthFER: true label distributions (clear faces and blends of the
 * expressions real data sets confuse) and simulated annotators who vote from them.
 *
 * @module
 */
import type { Prng } from "../../util/prng.ts";
import { CLASSES, type ClassName, NUM_CLASSES } from "../classes.ts";

/**
 * Share of each class as the dominant expression, in {@linkcode CLASSES} order. Shaped like
 * RAF-DB's basic-expression training set (happiness 39 %, neutral 21 %, sadness 16 %,
 * surprise 11 %, disgust 6 %, anger 6 %, fear 2 %) but with the rare classes lifted a
 * little so a few-thousand-face set still has enough fear and disgust to learn from.
 */
export const CLASS_FREQUENCIES: Readonly<Record<ClassName, number>> = {
  surprise: 0.1,
  fear: 0.05,
  disgust: 0.06,
  happiness: 0.33,
  sadness: 0.15,
  anger: 0.07,
  neutral: 0.24,
};

/**
 * Pairs of expressions that people (and networks) confuse on RAF-DB and AffectNet, with a
 * relative weight: the partners a blended face mixes.
 */
export const CONFUSABLE_PAIRS: readonly (readonly [ClassName, ClassName, number])[] = [
  ["fear", "surprise", 3],
  ["disgust", "anger", 2.5],
  ["sadness", "neutral", 2.5],
  ["happiness", "surprise", 1.5],
  ["disgust", "sadness", 1.5],
  ["fear", "sadness", 1.5],
  ["happiness", "neutral", 1.5],
  ["disgust", "neutral", 1],
  ["anger", "neutral", 1],
  ["anger", "sadness", 0.8],
  ["surprise", "neutral", 0.7],
  ["fear", "disgust", 0.6],
];

const INDEX = new Map<string, number>(CLASSES.map((c, i) => [c, i]));

/** [7 x 7] weight of each class as a blend partner of each class. */
const PARTNER_WEIGHTS: number[][] = (() => {
  const w = CLASSES.map(() => new Array<number>(NUM_CLASSES).fill(0));
  for (const [a, b, weight] of CONFUSABLE_PAIRS) {
    const i = INDEX.get(a)!, j = INDEX.get(b)!;
    w[i][j] += weight;
    w[j][i] += weight;
  }
  return w;
})();

/**
 * How many faces of each class a split of `n` faces gets as dominant class: the
 * frequencies by largest remainder, with every class at least once. [7]
 */
export function classQuota(n: number): number[] {
  if (!(Number.isInteger(n) && n >= NUM_CLASSES)) {
    throw new RangeError(`a split needs at least ${NUM_CLASSES} faces (one per class), got ${n}`);
  }
  const freq = CLASSES.map((c) => CLASS_FREQUENCIES[c]);
  const exact = freq.map((f) => f * n);
  const quota = exact.map((x) => Math.max(1, Math.floor(x)));
  let total = quota.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let r = 0; total < n; r = (r + 1) % NUM_CLASSES, total++) quota[byRemainder[r][1]]++;
  while (total > n) {
    // the floor of 1 overshot: take from the largest class
    const big = quota.indexOf(Math.max(...quota));
    quota[big]--;
    total--;
  }
  return quota;
}

/**
 * A true label distribution whose dominant class is `primary`. [7]
 *
 * - clear (`blended` false): the primary gets `clearMass` in [lo, hi), the rest is spread
 *   over the other classes, more on the ones it is confused with;
 * - blended: the primary and one partner (three-way with probability 1/4) share 80-95 %,
 *   the partner(s) drawn from {@linkcode CONFUSABLE_PAIRS}, the primary still the largest.
 */
export function drawTrueDistribution(
  primary: number,
  prng: Prng,
  options: { blended: boolean; clearMass: readonly [number, number] },
): Float64Array {
  const p = new Float64Array(NUM_CLASSES);
  const main: [number, number][] = []; // [class, share of the main mass]
  let mainMass: number;
  if (!options.blended) {
    mainMass = prng.uniform(options.clearMass[0], options.clearMass[1]);
    main.push([primary, 1]);
  } else {
    mainMass = prng.uniform(0.8, 0.95);
    const partner = prng.categorical(PARTNER_WEIGHTS[primary]);
    const r2 = prng.uniform(0.45, 0.95);
    if (prng.next() < 0.25) {
      // a third expression, confusable with either of the first two
      const w = PARTNER_WEIGHTS[primary].map((
        x,
        j,
      ) => (j === primary || j === partner ? 0 : x + PARTNER_WEIGHTS[partner][j]));
      const third = prng.categorical(w);
      const r3 = r2 * prng.uniform(0.3, 0.75);
      main.push([primary, 1], [partner, r2], [third, r3]);
    } else {
      main.push([primary, 1], [partner, r2]);
    }
  }
  const norm = main.reduce((a, [, r]) => a + r, 0);
  for (const [c, r] of main) p[c] += (mainMass * r) / norm;
  // the remainder: random weights, three times heavier on the primary's confusable classes
  const rest = new Float64Array(NUM_CLASSES);
  let restTotal = 0;
  for (let j = 0; j < NUM_CLASSES; j++) {
    if (main.some(([c]) => c === j)) continue;
    rest[j] = -Math.log(1 - prng.next()) * (1 + 2 * Math.min(1, PARTNER_WEIGHTS[primary][j]));
    restTotal += rest[j];
  }
  for (let j = 0; j < NUM_CLASSES; j++) p[j] += restTotal > 0 ? ((1 - mainMass) * rest[j]) / restTotal : 0;
  if (restTotal === 0) p[primary] += 1 - mainMass;
  return p;
}

/**
 * Each annotator's bias: a multiplicative tilt exp(b), b ~ N(0, strength), per class. [K x 7]
 * An annotator votes from the true distribution reweighted by their tilt.
 */
export function drawAnnotatorBias(annotators: number, strength: number, prng: Prng): Float64Array {
  const tilt = new Float64Array(annotators * NUM_CLASSES);
  for (let i = 0; i < tilt.length; i++) tilt[i] = Math.exp(prng.normal(0, strength));
  return tilt;
}

/**
 * The vote counts of K annotators (one vote each) for a face with true distribution `p`. [7]
 * `tilt` is the annotators' bias from {@linkcode drawAnnotatorBias}, [K x 7].
 */
export function drawVotes(p: ArrayLike<number>, tilt: Float64Array, prng: Prng): Int32Array {
  const annotators = tilt.length / NUM_CLASSES;
  const counts = new Int32Array(NUM_CLASSES);
  const q = new Float64Array(NUM_CLASSES);
  for (let a = 0; a < annotators; a++) {
    for (let c = 0; c < NUM_CLASSES; c++) q[c] = p[c] * tilt[a * NUM_CLASSES + c];
    counts[prng.categorical(q)]++;
  }
  return counts;
}

/** The class with the most votes; ties are broken uniformly by `prng`. */
export function majorityVote(votes: ArrayLike<number>, prng: Prng): number {
  let best = -1;
  const tied: number[] = [];
  for (let c = 0; c < votes.length; c++) {
    if (votes[c] > best) {
      best = votes[c];
      tied.length = 0;
      tied.push(c);
    } else if (votes[c] === best) tied.push(c);
  }
  return tied.length === 1 ? tied[0] : tied[prng.int(tied.length)];
}

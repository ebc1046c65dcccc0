/**
 * t-SNE's input affinities P (van der Maaten 2014, sec. 4.1; scikit-learn's `_joint_probabilities_nn`):
 * for each point the conditional p(j|i) = exp(-beta_i ||x_i - x_j||^2) / sum_k exp(-beta_i ||x_i - x_k||^2)
 * over its 3 * perplexity + 1 nearest neighbours, beta_i found by bisection so that the entropy of
 * p(.|i) equals log(perplexity); then symmetrised, P = (p(j|i) + p(i|j)) / sum, a sparse matrix
 * whose entries sum to 1.
 */
import { exactNeighbours } from "./_knn.ts";

/** The default perplexity (scikit-learn's and van der Maaten's). */
export const DEFAULT_PERPLEXITY = 30;

/** A symmetric sparse affinity matrix P in CSR form; its entries sum to 1. */
export interface TsneAffinities {
  /** Number of points. */
  n: number;
  /** Row i's entries are at indptr[i] .. indptr[i + 1]: [n + 1]. */
  indptr: Int32Array;
  /** Column of each entry, increasing within a row: [nnz]. */
  indices: Int32Array;
  /** P_ij of each entry: [nnz]. */
  values: Float64Array;
}

/** Options of {@linkcode tsneAffinities}. */
export interface TsneAffinitiesOptions {
  /** Effective number of neighbours (default 30); needs n >= 3 * perplexity + 1. */
  perplexity?: number;
}

/**
 * The neighbour count t-SNE uses for a perplexity: min(n - 1, floor(3 * perplexity + 1)), as
 * scikit-learn. Throws a RangeError when the perplexity is not positive or too large for n points.
 */
export function neighbourCount(n: number, perplexity: number): number {
  if (!Number.isFinite(perplexity) || perplexity <= 0) {
    throw new RangeError(`perplexity must be a positive number, got ${perplexity}`);
  }
  if (n < 3 * perplexity + 1) {
    throw new RangeError(
      `perplexity ${perplexity} is too large for ${n} points: t-SNE needs at least 3 * perplexity + 1 = ` +
        `${Math.ceil(3 * perplexity + 1)} points; use a perplexity of at most ${((n - 1) / 3).toFixed(2)}`,
    );
  }
  return Math.min(n - 1, Math.floor(3 * perplexity + 1));
}

/**
 * Checks a t-SNE input: `data` is row-major `[n, d]` with n >= 4, d >= 1 and finite values.
 * Throws a RangeError/TypeError that names the problem.
 */
export function validateTsneInput(data: Float32Array, shape: [n: number, d: number]): void {
  if (!(data instanceof Float32Array)) throw new TypeError("t-SNE input must be a Float32Array [n, d]");
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new RangeError(`t-SNE input shape must be [n, d] with non-negative integers, got [${shape}]`);
  }
  const [n, d] = shape;
  if (n < 4) throw new RangeError(`t-SNE needs at least 4 points, got ${n}`);
  if (d < 1) throw new RangeError(`t-SNE needs at least 1 feature per point, got ${d}`);
  if (data.length !== n * d) {
    throw new RangeError(`t-SNE input has ${data.length} values but its shape [${n}, ${d}] needs ${n * d}`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(
        `t-SNE input has a non-finite value (${data[i]}) at row ${Math.floor(i / d)}, column ${i % d}`,
      );
    }
  }
}

/**
 * The sparse, symmetric t-SNE affinities P of `data` (`[n, d]`, row-major) over exact nearest
 * neighbours.
 *
 * @example Two tight pairs far apart: each point's affinity mass stays mostly within its pair
 * ```ts
 * import { tsneAffinities } from "./tsne_affinities.ts";
 * const x = new Float32Array([0, 0, 0, 0.1, 10, 10, 10, 10.1, 20, 0, 20, 0.1, 0, 20]);
 * const P = tsneAffinities(x, [7, 2], { perplexity: 1 });
 * const total = P.values.reduce((a, b) => a + b, 0);
 * if (Math.abs(total - 1) > 1e-12) throw new Error("P sums to 1");
 * ```
 */
export function tsneAffinities(
  data: Float32Array,
  shape: [n: number, d: number],
  options: TsneAffinitiesOptions = {},
): TsneAffinities {
  validateTsneInput(data, shape);
  const n = shape[0];
  const perplexity = options.perplexity ?? DEFAULT_PERPLEXITY;
  const k = neighbourCount(n, perplexity);
  const { indices, dist2 } = exactNeighbours(data, shape, k);
  const cond = conditionalProbabilities(dist2, n, k, perplexity); // [n, k]
  return symmetrise(indices, cond, n, k);
}

/**
 * p(j|i) over each row's k neighbours (`dist2` [n, k], squared distances), by bisection on beta_i
 * as scikit-learn's `_binary_search_perplexity` (tolerance 1e-5 in entropy, 100 steps). Distances
 * are shifted by the row's smallest one first, which leaves p(.|i) unchanged but keeps exp() from
 * underflowing on high-dimensional data.
 */
function conditionalProbabilities(dist2: Float64Array, n: number, k: number, perplexity: number): Float64Array {
  const out = new Float64Array(n * k);
  const target = Math.log(perplexity);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    const dmin = dist2[o];
    let beta = 1, lo = -Infinity, hi = Infinity;
    for (let step = 0; step < 100; step++) {
      let sum = 0, sumDP = 0;
      for (let t = 0; t < k; t++) {
        const dd = dist2[o + t] - dmin;
        const p = Math.exp(-dd * beta);
        out[o + t] = p;
        sum += p;
        sumDP += dd * p;
      }
      // entropy H = log(sum) + beta * E[d] (in the shifted distances, which H does not depend on)
      const entropy = Math.log(sum) + beta * sumDP / sum;
      for (let t = 0; t < k; t++) out[o + t] /= sum;
      const diff = entropy - target;
      if (Math.abs(diff) <= 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
  }
  return out;
}

/** P = (C + C^T) / sum(C + C^T) for the kNN conditional matrix C (`indices`, `cond` [n, k]), as CSR. */
function symmetrise(indices: Int32Array, cond: Float64Array, n: number, k: number): TsneAffinities {
  // bucket every entry and its transpose by row (counting sort), then merge duplicates per row
  const count = new Int32Array(n + 1);
  for (let e = 0; e < n * k; e++) {
    count[Math.floor(e / k) + 1]++;
    count[indices[e] + 1]++;
  }
  for (let i = 0; i < n; i++) count[i + 1] += count[i];
  const fill = count.slice(0, n);
  const cols = new Int32Array(2 * n * k);
  const vals = new Float64Array(2 * n * k);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const e = i * k + t, j = indices[e], p = cond[e];
      cols[fill[i]] = j, vals[fill[i]++] = p;
      cols[fill[j]] = i, vals[fill[j]++] = p;
    }
  }
  const dense = new Float64Array(n); // scratch row, zero between rows
  const seen = new Uint8Array(n);
  const indptr = new Int32Array(n + 1);
  const outCols: number[] = [];
  const outVals: number[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const touched: number[] = [];
    for (let e = count[i]; e < count[i + 1]; e++) {
      const j = cols[e];
      if (!seen[j]) seen[j] = 1, touched.push(j);
      dense[j] += vals[e];
    }
    touched.sort((a, b) => a - b);
    for (const j of touched) {
      outCols.push(j);
      outVals.push(dense[j]);
      total += dense[j];
      dense[j] = 0;
      seen[j] = 0;
    }
    indptr[i + 1] = outCols.length;
  }
  const values = Float64Array.from(outVals);
  for (let e = 0; e < values.length; e++) values[e] /= total;
  return { n, indptr, indices: Int32Array.from(outCols), values };
}

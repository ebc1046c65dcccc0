/**
 * How good a t-SNE embedding is: the exact Kullback-Leibler divergence KL(P || Q) that t-SNE
 * minimises (van der Maaten & Hinton 2008, eq. 2 with the Student-t Q of eq. 4), and the
 * leave-one-out k-nearest-neighbour class accuracy in the embedding.
 */
import type { TsneAffinities } from "./tsne_affinities.ts";

/**
 * The exact KL(P || Q) = sum_ij P_ij log(P_ij / Q_ij) of an embedding (`[n, dims]`, row-major),
 * with Q_ij = (1 + ||y_i - y_j||^2)^-1 / Z over all pairs i != j (Z summed exactly, O(n^2)) and
 * P the sparse input affinities (terms with P_ij = 0 add nothing).
 *
 * @example Two points: P = Q = 1/2 off the diagonal, so KL = 0
 * ```ts
 * import { klDivergence } from "./tsne_quality.ts";
 * const P = { n: 2, indptr: new Int32Array([0, 1, 2]), indices: new Int32Array([1, 0]), values: new Float64Array([0.5, 0.5]) };
 * if (Math.abs(klDivergence(new Float32Array([0, 0, 3, 4]), P)) > 1e-12) throw new Error("KL");
 * ```
 */
export function klDivergence(embedding: ArrayLike<number>, affinities: TsneAffinities): number {
  const n = affinities.n;
  if (n < 2 || embedding.length % n !== 0) {
    throw new RangeError(`klDivergence: the embedding has ${embedding.length} values, not a multiple of n = ${n}`);
  }
  const dims = embedding.length / n;
  const y = Float64Array.from(embedding); // [n, dims]
  let z = 0; // Z = sum_{i != j} (1 + d_ij^2)^-1
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let d2 = 0;
      for (let c = 0; c < dims; c++) {
        const t = y[i * dims + c] - y[j * dims + c];
        d2 += t * t;
      }
      z += 1 / (1 + d2);
    }
  }
  z *= 2;
  const logZ = Math.log(z);
  const { indptr, indices, values } = affinities;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let e = indptr[i]; e < indptr[i + 1]; e++) {
      const p = values[e];
      if (p <= 0) continue;
      const j = indices[e];
      let d2 = 0;
      for (let c = 0; c < dims; c++) {
        const t = y[i * dims + c] - y[j * dims + c];
        d2 += t * t;
      }
      // log(P / Q) = log P + log(1 + d2) + log Z
      kl += p * (Math.log(p) + Math.log1p(d2) + logZ);
    }
  }
  return kl;
}

/**
 * Leave-one-out k-NN class accuracy in an embedding (`[n, dims]`, row-major, n = labels.length):
 * the fraction of points whose k nearest other points (Euclidean) vote for the point's own label.
 * A tied vote goes to the tied class that holds the nearest of the tied neighbours.
 *
 * @example Two well separated groups of three
 * ```ts
 * import { knnAccuracy } from "./tsne_quality.ts";
 * const y = new Float32Array([0, 0, 0, 1, 1, 0, 9, 9, 9, 10, 10, 9]);
 * if (knnAccuracy(y, [0, 0, 0, 1, 1, 1], 2) !== 1) throw new Error("kNN");
 * ```
 */
export function knnAccuracy(embedding: ArrayLike<number>, labels: ArrayLike<number>, k = 10): number {
  const n = labels.length;
  if (n < 2) throw new RangeError(`knnAccuracy needs at least 2 labelled points, got ${n}`);
  if (embedding.length % n !== 0) {
    throw new RangeError(
      `knnAccuracy: the embedding has ${embedding.length} values but there are ${n} labels (expected n * dims values)`,
    );
  }
  if (!Number.isInteger(k) || k < 1 || k > n - 1) {
    throw new RangeError(`knnAccuracy: k must be an integer in [1, ${n - 1}], got ${k}`);
  }
  let classes = 0;
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0) {
      throw new RangeError(`knnAccuracy: labels must be non-negative integers, got ${c} at index ${i}`);
    }
    classes = Math.max(classes, c + 1);
  }
  const dims = embedding.length / n;
  const y = Float64Array.from(embedding);
  const hd = new Float64Array(k); // max-heap of the k nearest distances
  const hi = new Int32Array(k);
  const votes = new Int32Array(classes);
  const firstRank = new Int32Array(classes);
  const order = new Int32Array(k);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    hd.fill(Infinity);
    hi.fill(-1);
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let d2 = 0;
      for (let c = 0; c < dims; c++) {
        const t = y[i * dims + c] - y[j * dims + c];
        d2 += t * t;
      }
      if (d2 >= hd[0]) continue;
      siftDown(hd, hi, k, d2, j);
    }
    for (let t = 0; t < k; t++) order[t] = t;
    order.sort((a, b) => hd[a] - hd[b] || hi[a] - hi[b]);
    votes.fill(0);
    firstRank.fill(k);
    for (let r = 0; r < k; r++) {
      const c = labels[hi[order[r]]];
      votes[c]++;
      if (firstRank[c] === k) firstRank[c] = r;
    }
    let best = -1;
    for (let c = 0; c < classes; c++) {
      if (best < 0 || votes[c] > votes[best] || (votes[c] === votes[best] && firstRank[c] < firstRank[best])) best = c;
    }
    if (best === labels[i]) correct++;
  }
  return correct / n;
}

/** Replaces the root of a max-heap of size k with (d2, j) and restores the heap. */
function siftDown(hd: Float64Array, hi: Int32Array, k: number, d2: number, j: number): void {
  let p = 0;
  for (;;) {
    const l = 2 * p + 1;
    if (l >= k) break;
    const r = l + 1;
    const c = r < k && hd[r] > hd[l] ? r : l;
    if (hd[c] <= d2) break;
    hd[p] = hd[c];
    hi[p] = hi[c];
    p = c;
  }
  hd[p] = d2;
  hi[p] = j;
}

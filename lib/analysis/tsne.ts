/**
 * t-SNE (van der Maaten & Hinton 2008) of feature vectors into 2-D, for Figure 3.
 *
 * The default `fast` engine follows van der Maaten 2014 and scikit-learn >= 1.2's defaults:
 * 1. P: perplexity-calibrated Gaussian affinities over the exact 3 * perplexity + 1 nearest
 *    neighbours in the original space (no PCA pre-reduction, as scikit-learn), symmetrised
 *    ({@linkcode tsneAffinities}).
 * 2. Initialisation: the two leading principal components scaled to standard deviation 1e-4
 *    along the first (`init: "pca"`, scikit-learn's default), or N(0, 1e-4^2) from the seed.
 * 3. Gradient descent on KL(P || Q) with the Student-t Q: dC/dy_i = 4 sum_j (P_ij - Q_ij) w_ij
 *    (y_i - y_j), w_ij = (1 + ||y_i - y_j||^2)^-1 (2014, eq. 3). Attractive part over the sparse P,
 *    repulsive part sum_j w_ij^2 (y_i - y_j) / Z through a Barnes-Hut quadtree with `theta`.
 *    Early exaggeration 12 with momentum 0.5 for the first quarter of the iterations (at most
 *    250, scikit-learn's count for its default 1000), then momentum 0.8; per-coordinate gains
 *    (delta-bar-delta: +0.2 when the update and the gradient disagree in sign, x0.8 otherwise,
 *    floor 0.01), both reset at the phase change; learning rate "auto" = max(n / 12 / 4, 50).
 *    It always runs all iterations (no early stop).
 * 4. The reported KL is exact: Q over all pairs against P ({@linkcode klDivergence}).
 *
 * The `tsne-js` engine runs the npm package's exact O(n^2) t-SNE instead (see `tsne_js.ts`);
 * its KL is computed with the same P and the same exact function, so the two compare.
 */
import { Prng } from "../util/prng.ts";
import { QuadTree } from "./_bh_tree.ts";
import { pcaScores } from "./_pca.ts";
import {
  DEFAULT_PERPLEXITY,
  neighbourCount,
  type TsneAffinities,
  tsneAffinities,
  validateTsneInput,
} from "./tsne_affinities.ts";
import { klDivergence } from "./tsne_quality.ts";

/** Options of {@linkcode tsne}; every one has a default. */
export interface TsneOptions {
  /** Effective number of neighbours (default 30); needs n >= 3 * perplexity + 1. */
  perplexity?: number;
  /** Gradient-descent iterations, early exaggeration included (default 1000). */
  iterations?: number;
  /** Seed of the initialisation (and of the PCA's start block) (default 1). */
  seed?: number;
  /** `fast` (Barnes-Hut, the default) or `tsne-js` (the npm package, exact and slow). */
  engine?: "fast" | "tsne-js";
  /** Barnes-Hut accuracy (default 0.5; 0 = exact repulsion, O(n^2) per iteration). `fast` only. */
  theta?: number;
  /**
   * Called after the affinities (iteration 0), every 50 iterations and at the end; `kl` is the
   * current KL(P || Q) (fast: with Z from the tree; tsne-js: its own error, for the exaggerated P
   * during its first 100 iterations).
   */
  onProgress?: (iteration: number, total: number, kl?: number) => void;
  /** Initial embedding: `pca` (default, as scikit-learn >= 1.2) or `random` N(0, 1e-4^2). `fast` only. */
  init?: "pca" | "random";
  /** Step size (default "auto" = max(n / 12 / 4, 50), scikit-learn >= 1.2). `fast` only. */
  learningRate?: number | "auto";
}

/** The result of {@linkcode tsne}. */
export interface TsneResult {
  /** The 2-D embedding, row-major: [n, 2]. */
  embedding: Float32Array;
  /** Exact KL(P || Q) of the final embedding. */
  kl: number;
  /** Wall-clock seconds of the whole call (affinities, optimisation, final KL). */
  seconds: number;
  /** Iterations run (tsne-js may stop early on its own criteria). */
  iterations: number;
}

/** Defaults of {@linkcode TsneOptions}. */
export const TSNE_DEFAULTS = {
  perplexity: DEFAULT_PERPLEXITY,
  iterations: 1000,
  seed: 1,
  engine: "fast",
  theta: 0.5,
  init: "pca",
  learningRate: "auto",
} as const satisfies Omit<TsneOptions, "onProgress">;

/** Early exaggeration factor and its longest phase (scikit-learn). */
const EXAGGERATION = 12;
const EXAGGERATION_ITERATIONS = 250;
/** Progress is reported every this many iterations. */
const PROGRESS_EVERY = 50;

/**
 * t-SNE of `data` (`[n, d]`, row-major) into 2-D. Seeded: the same input and options give the
 * same embedding. Throws a RangeError/TypeError for bad input or options (fewer than 4 points,
 * non-finite values, a perplexity too large for n, ...).
 *
 * @example Two well separated clusters stay apart
 * ```ts
 * import { Prng } from "../util/prng.ts";
 * import { knnAccuracy, tsne } from "./mod.ts";
 * const prng = new Prng(3);
 * const n = 60, d = 8;
 * const x = new Float32Array(n * d).map((_, t) => prng.normal() + (Math.floor(t / d) < 30 ? 0 : 10));
 * const labels = Array.from({ length: n }, (_, i) => (i < 30 ? 0 : 1));
 * const { embedding, kl } = await tsne(x, [n, d], { perplexity: 10, iterations: 300 });
 * if (embedding.length !== 2 * n || !(kl > 0)) throw new Error("shape or KL");
 * if (knnAccuracy(embedding, labels, 5) < 0.95) throw new Error("clusters mixed");
 * ```
 */
export async function tsne(
  data: Float32Array,
  shape: [n: number, d: number],
  options: TsneOptions = {},
): Promise<TsneResult> {
  const start = performance.now();
  const o = { ...TSNE_DEFAULTS, ...dropUndefined(options) };
  validateTsneInput(data, shape);
  const n = shape[0];
  neighbourCount(n, o.perplexity);
  if (!Number.isInteger(o.iterations) || o.iterations < 1) {
    throw new RangeError(`iterations must be a positive integer, got ${o.iterations}`);
  }
  if (!Number.isFinite(o.seed)) throw new RangeError(`seed must be a finite number, got ${o.seed}`);
  if (!Number.isFinite(o.theta) || o.theta < 0 || o.theta > 1) {
    throw new RangeError(`theta must be in [0, 1], got ${o.theta}`);
  }
  if (o.engine !== "fast" && o.engine !== "tsne-js") {
    throw new RangeError(`engine must be "fast" or "tsne-js", got "${o.engine}"`);
  }
  if (o.init !== "pca" && o.init !== "random") throw new RangeError(`init must be "pca" or "random", got "${o.init}"`);
  if (o.learningRate !== "auto" && !(Number.isFinite(o.learningRate) && o.learningRate > 0)) {
    throw new RangeError(`learningRate must be "auto" or a positive number, got ${o.learningRate}`);
  }
  const P = tsneAffinities(data, shape, { perplexity: o.perplexity });
  o.onProgress?.(0, o.iterations);
  let y: Float64Array, iterations: number;
  if (o.engine === "tsne-js") {
    const { tsneJs } = await import("./tsne_js.ts");
    ({ embedding: y, iterations } = tsneJs(data, shape, o));
  } else {
    y = initialEmbedding(data, shape, o.init, new Prng(o.seed));
    const learningRate = o.learningRate === "auto" ? Math.max(n / EXAGGERATION / 4, 50) : o.learningRate;
    await optimise(y, P, { ...o, learningRate });
    iterations = o.iterations;
  }
  const embedding = Float32Array.from(y);
  const kl = klDivergence(embedding, P); // of the returned (float32) coordinates
  return { embedding, kl, seconds: (performance.now() - start) / 1000, iterations };
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The starting embedding `[n, 2]`: PCA scores scaled to std 1e-4 along PC1, or N(0, 1e-4^2). */
function initialEmbedding(data: Float32Array, shape: [number, number], init: "pca" | "random", prng: Prng) {
  const n = shape[0];
  if (init === "pca") {
    const y = pcaScores(data, shape, { components: 2, prng });
    let m = 0, s = 0;
    for (let i = 0; i < n; i++) m += y[2 * i];
    m /= n;
    for (let i = 0; i < n; i++) s += (y[2 * i] - m) ** 2;
    s = Math.sqrt(s / n);
    if (s > 0) {
      for (let t = 0; t < 2 * n; t++) y[t] *= 1e-4 / s;
      // data of rank 1 has no second component: without a spread there the embedding would stay on a line
      let spread2 = 0;
      for (let i = 0; i < n; i++) spread2 = Math.max(spread2, Math.abs(y[2 * i + 1]));
      if (spread2 < 1e-12) { for (let i = 0; i < n; i++) y[2 * i + 1] = prng.normal(0, 1e-4); }
      return y;
    } // constant data has no principal direction: fall back to random
  }
  const y = new Float64Array(2 * n);
  for (let t = 0; t < 2 * n; t++) y[t] = prng.normal(0, 1e-4);
  return y;
}

/**
 * Gradient descent with momentum and gains on the embedding `y` ([n, 2]), in place. Yields to the
 * event loop every 50 iterations, so that a progress display (or a Ctrl-C handler) gets to run.
 */
async function optimise(
  y: Float64Array,
  P: TsneAffinities,
  o: { iterations: number; theta: number; learningRate: number; onProgress?: TsneOptions["onProgress"] },
): Promise<void> {
  const n = P.n;
  const tree = new QuadTree(n);
  const grad = new Float64Array(2 * n); // [n, 2]
  const rep = new Float64Array(2 * n); // [n, 2]
  const update = new Float64Array(2 * n);
  const gains = new Float64Array(2 * n);
  const exaggerated = Math.min(EXAGGERATION_ITERATIONS, Math.floor(o.iterations / 4));
  for (let it = 0; it < o.iterations; it++) {
    if (it === 0 || it === exaggerated) { // a new phase: fresh momentum buffer and gains
      update.fill(0);
      gains.fill(1);
    }
    const exaggeration = it < exaggerated ? EXAGGERATION : 1;
    const momentum = it < exaggerated ? 0.5 : 0.8;
    tree.build(y, n);
    const z = tree.repulsion(y, n, o.theta, rep);
    attraction(y, P, exaggeration, grad);
    // dC/dy = 4 (exaggeration * attraction - repulsion / Z)
    const invZ = 1 / z;
    for (let t = 0; t < 2 * n; t++) grad[t] = 4 * (grad[t] - rep[t] * invZ);
    const report = o.onProgress && ((it + 1) % PROGRESS_EVERY === 0 || it + 1 === o.iterations);
    const kl = report ? approximateKl(y, P, z) : 0;
    const lr = o.learningRate;
    for (let t = 0; t < 2 * n; t++) {
      const g = grad[t];
      let u = update[t];
      let gain = u * g < 0 ? gains[t] + 0.2 : gains[t] * 0.8;
      if (gain < 0.01) gain = 0.01;
      gains[t] = gain;
      u = momentum * u - lr * gain * g;
      update[t] = u;
      y[t] += u;
    }
    if (report) o.onProgress!(it + 1, o.iterations, kl);
    if ((it + 1) % PROGRESS_EVERY === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** Into `out` ([n, 2]): exaggeration * sum_j P_ij w_ij (y_i - y_j) over the sparse P. */
function attraction(y: Float64Array, P: TsneAffinities, exaggeration: number, out: Float64Array): void {
  const { n, indptr, indices, values } = P;
  for (let i = 0; i < n; i++) {
    const xi = y[2 * i], yi = y[2 * i + 1];
    let fx = 0, fy = 0;
    for (let e = indptr[i], end = indptr[i + 1]; e < end; e++) {
      const j = indices[e];
      const dx = xi - y[2 * j], dy = yi - y[2 * j + 1];
      const pw = values[e] / (1 + dx * dx + dy * dy);
      fx += pw * dx;
      fy += pw * dy;
    }
    out[2 * i] = exaggeration * fx;
    out[2 * i + 1] = exaggeration * fy;
  }
}

/** KL(P || Q) over the sparse P with a given normaliser Z (here the tree's, so approximate). */
function approximateKl(y: Float64Array, P: TsneAffinities, z: number): number {
  const { n, indptr, indices, values } = P;
  const logZ = Math.log(z);
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let e = indptr[i]; e < indptr[i + 1]; e++) {
      const j = indices[e], p = values[e];
      const dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
      if (p > 0) kl += p * (Math.log(p) + Math.log1p(dx * dx + dy * dy) + logZ);
    }
  }
  return kl;
}

/**
 * The `tsne-js` npm package (exact O(n^2) t-SNE in plain JavaScript, on ndarrays) behind the same
 * options as the fast engine. Its own recipe is kept: Euclidean (not squared) distances in
 * its affinities, early exaggeration 4 for 100 iterations (momentum 0.5 then 0.8), learning rate
 * 1000, gains +0.05 / x0.95, and an early stop when the error stops improving. Its random
 * initialisation (Math.random) is replaced by N(0, 1e-4^2) draws from our seeded Prng, so runs
 * are reproducible. Its two exaggeration phases always run (about 100 iterations), whatever
 * `iterations` says. Note that its gains grow when the update and the gradient agree in sign
 * (the reverse of Jacobs' delta-bar-delta that van der Maaten and scikit-learn use), and its
 * `kl` in the progress callback is for the exaggerated P during the first 100 iterations.
 * Used through `tsne(..., { engine: "tsne-js" })`.
 */
import TSNE from "tsne-js";
import { Prng } from "../util/prng.ts";

/** What the wrapper needs of {@linkcode TsneOptions}. */
export interface TsneJsOptions {
  perplexity: number;
  iterations: number;
  seed: number;
  onProgress?: (iteration: number, total: number, kl?: number) => void;
}

/** The parts of tsne-js's model this wrapper touches. */
interface TsneJsModel {
  init(opts: { data: number[][]; type: "dense" }): void;
  run(): [error: number, iteration: number];
  on(event: "progressIter", listener: (v: [iteration: number, error: number, gradNorm: number]) => void): void;
  outputEmbedding: { data: Float64Array; shape: number[] };
}

/**
 * Runs tsne-js on `data` (`[n, d]`, row-major; already validated by `tsne()`) and returns the
 * embedding (`[n, 2]`) and the gradient evaluations it ran (it may stop early when its error
 * stops improving). Synchronous inside: progress callbacks (every 50 evaluations and at the
 * end) arrive while it blocks.
 */
export function tsneJs(
  data: Float32Array,
  shape: [n: number, d: number],
  options: TsneJsOptions,
): { embedding: Float64Array; iterations: number } {
  const [n, d] = shape;
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(data.subarray(i * d, (i + 1) * d)));
  const Ctor = TSNE as unknown as new (config: Record<string, unknown>) => TsneJsModel;
  const model = new Ctor({ dim: 2, perplexity: options.perplexity, nIter: options.iterations, metric: "euclidean" });
  model.init({ data: rows, type: "dense" });
  const prng = new Prng(options.seed);
  const y0 = model.outputEmbedding.data; // [n, 2], overwritten in place: seeded, not Math.random
  for (let t = 0; t < y0.length; t++) y0[t] = prng.normal(0, 1e-4);
  // one progressIter event per gradient evaluation; its own iteration numbers skip at phase changes
  let evaluations = 0;
  model.on("progressIter", ([, error]) => {
    evaluations++;
    if (evaluations % 50 === 0) options.onProgress?.(evaluations, options.iterations, error);
  });
  const [error] = model.run();
  // (its error is Number.MAX_VALUE when its last phase did not run)
  const last = error < Number.MAX_VALUE ? error : undefined;
  if (evaluations % 50 !== 0) options.onProgress?.(evaluations, options.iterations, last);
  const embedding = Float64Array.from(model.outputEmbedding.data);
  return { embedding, iterations: evaluations };
}

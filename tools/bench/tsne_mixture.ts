/**
 * A seeded synthetic stand-in for Figure 3's features: a 7-class Gaussian mixture in d dims with
 * RAF-DB's test-set class proportions. Class means ~ N(0, spread^2 I); each point = its mean +
 * a per-class low-rank part (8 directions, std 2) + N(0, I) noise, so clusters overlap a little
 * and are not round. Used by tools/bench/tsne_bench.ts (and, through its .npy, by sklearn_tsne.py).
 */
import { Prng } from "../../lib/util/prng.ts";

/** RAF-DB test-set counts per class (surprise, fear, disgust, happiness, sadness, anger, neutral). */
const RAFDB_TEST = [329, 74, 160, 1185, 478, 162, 680];

/** n points of a 7-class mixture in d dims: data [n, d] row-major, labels [n]. */
export function gaussianMixture(
  n: number,
  d: number,
  options: { seed?: number; spread?: number } = {},
): { data: Float32Array; labels: Int32Array } {
  const prng = new Prng(options.seed ?? 7);
  const spread = options.spread ?? 0.25;
  const rank = 8;
  const total = RAFDB_TEST.reduce((a, b) => a + b, 0);
  const means = RAFDB_TEST.map(() => Float64Array.from({ length: d }, () => prng.normal(0, spread)));
  const bases = RAFDB_TEST.map(() => Float64Array.from({ length: rank * d }, () => prng.normal(0, 2 / Math.sqrt(d))));
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = prng.categorical(RAFDB_TEST.map((c) => c / total));
  const data = new Float32Array(n * d);
  const z = new Float64Array(rank);
  for (let i = 0; i < n; i++) {
    const c = labels[i], m = means[c], b = bases[c];
    for (let r = 0; r < rank; r++) z[r] = prng.normal() * Math.sqrt(d);
    for (let k = 0; k < d; k++) {
      let v = m[k] + prng.normal();
      for (let r = 0; r < rank; r++) v += z[r] * b[r * d + k] / Math.sqrt(d);
      data[i * d + k] = v;
    }
  }
  return { data, labels };
}

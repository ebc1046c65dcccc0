import assert from "node:assert/strict";
import { klDivergence, knnAccuracy, type TsneAffinities, tsneAffinities } from "../../lib/analysis/mod.ts";
import { Prng } from "../../lib/util/prng.ts";

/** KL(P || Q) with dense n x n matrices and plain loops: the definition, nothing clever. */
function bruteForceKl(y: ArrayLike<number>, P: TsneAffinities): number {
  const n = P.n;
  const dense = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) for (let e = P.indptr[i]; e < P.indptr[i + 1]; e++) dense[i][P.indices[e]] = P.values[e];
  const w = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  let z = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      w[i][j] = 1 / (1 + (y[2 * i] - y[2 * j]) ** 2 + (y[2 * i + 1] - y[2 * j + 1]) ** 2);
      z += w[i][j];
    }
  }
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (dense[i][j] > 0) kl += dense[i][j] * Math.log(dense[i][j] / (w[i][j] / z));
  }
  return kl;
}

Deno.test("klDivergence() matches a brute-force dense KL(P || Q) on a tiny case", () => {
  const prng = new Prng(5);
  const n = 13, d = 4;
  const x = new Float32Array(n * d).map(() => prng.normal());
  const P = tsneAffinities(x, [n, d], { perplexity: 3 });
  const y = new Float32Array(2 * n).map(() => prng.normal(0, 2));
  const kl = klDivergence(y, P);
  assert.ok(Math.abs(kl - bruteForceKl(y, P)) < 1e-10, `${kl} vs ${bruteForceKl(y, P)}`);
  assert.ok(kl > 0);
  // moving points changes it: the function reads the embedding
  const y2 = y.slice();
  y2[0] += 3;
  assert.ok(Math.abs(klDivergence(y2, P) - bruteForceKl(y2, P)) < 1e-10);
  assert.notEqual(klDivergence(y2, P), kl);
});

Deno.test("klDivergence() rejects an embedding whose size does not fit n", () => {
  const x = new Float32Array(16).map((_, i) => i * i);
  const P = tsneAffinities(x, [8, 2], { perplexity: 2 });
  assert.throws(() => klDivergence(new Float32Array(15), P), /multiple of n = 8/);
});

Deno.test("knnAccuracy() is 1 for separated groups and counts wrong votes", () => {
  const y = new Float32Array([0, 0, 0, 1, 1, 0, 9, 9, 9, 10, 10, 9]);
  assert.equal(knnAccuracy(y, [0, 0, 0, 1, 1, 1], 2), 1);
  // a point of class 1 inside class 0's group is outvoted, and it outvotes nobody
  assert.equal(knnAccuracy(y, [0, 0, 1, 1, 1, 1], 2), 5 / 6);
});

Deno.test("knnAccuracy() breaks a tied vote towards the nearest tied neighbour", () => {
  // point 0 at the origin: neighbours at distance 1 (class 1) and 2 (class 2) -> tie 1:1 -> class 1
  const y = new Float32Array([0, 0, 1, 0, -2, 0]);
  assert.equal(knnAccuracy(y, [1, 1, 2], 2), 1 / 3 + 1 / 3); // 0 right; 1 -> {0: c1, 2: c2} tie -> c1 right; 2 wrong
});

Deno.test("knnAccuracy() rejects bad k, labels and sizes with clear messages", () => {
  const y = new Float32Array(8);
  assert.throws(() => knnAccuracy(y, [0, 1, 0, 1], 4), /k must be an integer in \[1, 3\], got 4/);
  assert.throws(() => knnAccuracy(y, [0, 1, 0, 1.5], 1), /non-negative integers, got 1.5 at index 3/);
  assert.throws(() => knnAccuracy(new Float32Array(7), [0, 1, 0, 1], 1), /7 values but there are 4 labels/);
});

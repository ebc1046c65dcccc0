import assert from "node:assert/strict";
import { neighbourCount, tsneAffinities } from "../../lib/analysis/mod.ts";
import { exactNeighbours } from "../../lib/analysis/_knn.ts";
import { Prng } from "../../lib/util/prng.ts";

function randomData(n: number, d: number, seed: number): Float32Array {
  const prng = new Prng(seed);
  return new Float32Array(n * d).map(() => prng.normal());
}

Deno.test("exactNeighbours() equals sorting all distances (n not a multiple of the 4 x 2 tile)", () => {
  const n = 23, d = 7, k = 6;
  const x = randomData(n, d, 1);
  const { indices, dist2 } = exactNeighbours(x, [n, d], k);
  for (let i = 0; i < n; i++) {
    const all = Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let c = 0; c < d; c++) s += (x[i * d + c] - x[j * d + c]) ** 2;
      return { j, s };
    }).filter((e) => e.j !== i).sort((a, b) => a.s - b.s);
    assert.deepEqual(Array.from(indices.subarray(i * k, (i + 1) * k)), all.slice(0, k).map((e) => e.j), `row ${i}`);
    for (let t = 0; t < k; t++) assert.ok(Math.abs(dist2[i * k + t] - all[t].s) < 1e-9);
  }
});

/** The textbook dense computation over all neighbours (k = n - 1): bisection on beta per row. */
function denseReference(x: Float32Array, n: number, d: number, perplexity: number): number[][] {
  const cond = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    const dist = Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let c = 0; c < d; c++) s += (x[i * d + c] - x[j * d + c]) ** 2;
      return s;
    });
    let lo = 0, hi = Infinity, beta = 1;
    for (let step = 0; step < 200; step++) {
      const p = dist.map((s, j) => (j === i ? 0 : Math.exp(-beta * s)));
      const sum = p.reduce((a, b) => a + b, 0);
      const h = -p.reduce((a, v) => (v > 0 ? a + (v / sum) * Math.log(v / sum) : a), 0);
      for (let j = 0; j < n; j++) cond[i][j] = p[j] / sum;
      if (h > Math.log(perplexity)) lo = beta, beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      else hi = beta, beta = (beta + lo) / 2;
    }
  }
  return cond.map((row, i) => row.map((v, j) => (v + cond[j][i]) / (2 * n)));
}

Deno.test("tsneAffinities() equals the dense textbook P when every point is a neighbour", () => {
  const n = 16, d = 3, perplexity = 5; // k = min(n - 1, 3 * 5 + 1) = 15 = n - 1
  const x = randomData(n, d, 2);
  const P = tsneAffinities(x, [n, d], { perplexity });
  const ref = denseReference(x, n, d, perplexity);
  let total = 0, worst = 0;
  for (let i = 0; i < n; i++) {
    assert.equal(P.indptr[i + 1] - P.indptr[i], n - 1);
    for (let e = P.indptr[i]; e < P.indptr[i + 1]; e++) {
      total += P.values[e];
      worst = Math.max(worst, Math.abs(P.values[e] / ref[i][P.indices[e]] - 1));
    }
  }
  assert.ok(Math.abs(total - 1) < 1e-12);
  // the bisection stops within 1e-5 of log(perplexity) in entropy (scikit-learn's tolerance)
  assert.ok(worst < 5e-4, `largest relative difference ${worst}`);
});

Deno.test("tsneAffinities() is symmetric and sorted with fewer neighbours than points", () => {
  const n = 60, d = 5;
  const P = tsneAffinities(randomData(n, d, 3), [n, d], { perplexity: 4 });
  const at = (i: number, j: number) => {
    for (let e = P.indptr[i]; e < P.indptr[i + 1]; e++) if (P.indices[e] === j) return P.values[e];
    return 0;
  };
  for (let i = 0; i < n; i++) {
    const row = Array.from(P.indices.subarray(P.indptr[i], P.indptr[i + 1]));
    assert.deepEqual(row, [...row].sort((a, b) => a - b));
    assert.ok(row.length >= 13 && !row.includes(i)); // its own 13 neighbours at least
    for (const j of row) assert.equal(at(i, j), at(j, i));
  }
});

Deno.test("tsneAffinities() rejects too few points, a too large perplexity and non-finite values", () => {
  assert.throws(
    () => tsneAffinities(new Float32Array(6), [3, 2]),
    (e) => e instanceof RangeError && /at least 4 points, got 3/.test(e.message),
  );
  assert.throws(
    () => tsneAffinities(randomData(50, 2, 4), [50, 2]),
    (e) => e instanceof RangeError && /perplexity 30 is too large for 50 points.*at most 16\.33/.test(e.message),
  );
  const bad = randomData(10, 2, 5);
  bad[7] = NaN;
  assert.throws(() => tsneAffinities(bad, [10, 2], { perplexity: 2 }), /non-finite value \(NaN\) at row 3, column 1/);
  assert.throws(
    () => tsneAffinities(new Float32Array(10), [4, 2], { perplexity: 1 }),
    /10 values but its shape \[4, 2\] needs 8/,
  );
  assert.throws(() => neighbourCount(100, 0), /perplexity must be a positive number, got 0/);
  assert.equal(neighbourCount(100, 30), 91);
});

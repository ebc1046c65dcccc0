import assert from "node:assert/strict";
import { klDivergence, knnAccuracy, tsne, tsneAffinities } from "../../lib/analysis/mod.ts";
import { Prng } from "../../lib/util/prng.ts";

/** c Gaussian clusters of m points in d dims, means 12 apart per axis: [c * m, d], labels. */
function clusters(c: number, m: number, d: number, seed: number) {
  const prng = new Prng(seed);
  const means = Array.from({ length: c }, () => Array.from({ length: d }, () => prng.normal(0, 6)));
  const x = new Float32Array(c * m * d);
  const labels: number[] = [];
  for (let i = 0; i < c * m; i++) {
    const k = i % c;
    labels.push(k);
    for (let t = 0; t < d; t++) x[i * d + t] = means[k][t] + prng.normal();
  }
  return { x, labels, shape: [c * m, d] as [number, number] };
}

Deno.test("tsne() keeps separable clusters separable (10-NN accuracy >= 0.95) with a KL that beats the start", async () => {
  const { x, labels, shape } = clusters(4, 40, 20, 1);
  const r = await tsne(x, shape, { perplexity: 15, iterations: 400 });
  assert.equal(r.embedding.length, 2 * shape[0]);
  assert.equal(r.iterations, 400);
  assert.ok(r.embedding.every(Number.isFinite));
  assert.ok(knnAccuracy(r.embedding, labels) >= 0.95, `kNN ${knnAccuracy(r.embedding, labels)}`);
  const P = tsneAffinities(x, shape, { perplexity: 15 });
  assert.ok(Math.abs(r.kl - klDivergence(r.embedding, P)) < 1e-9, "kl is the exact KL of the returned embedding");
  const start = await tsne(x, shape, { perplexity: 15, iterations: 1 });
  assert.ok(r.kl < start.kl - 0.5, `${r.kl} should be well below the initial ${start.kl}`);
  assert.ok(r.seconds > 0);
});

Deno.test("tsne() is deterministic for a seed and differs across seeds and inits", async () => {
  const { x, shape } = clusters(3, 30, 6, 2);
  const a = await tsne(x, shape, { perplexity: 8, iterations: 120, seed: 5 });
  const b = await tsne(x, shape, { perplexity: 8, iterations: 120, seed: 5 });
  assert.deepEqual(a.embedding, b.embedding);
  assert.equal(a.kl, b.kl);
  const r1 = await tsne(x, shape, { perplexity: 8, iterations: 120, seed: 5, init: "random" });
  const r2 = await tsne(x, shape, { perplexity: 8, iterations: 120, seed: 6, init: "random" });
  assert.notDeepEqual(r1.embedding, r2.embedding);
  assert.notDeepEqual(a.embedding, r1.embedding);
});

Deno.test("tsne() reports progress every 50 iterations and at the end, with a KL", async () => {
  const { x, shape } = clusters(2, 20, 4, 3);
  const seen: [number, number, number | undefined][] = [];
  await tsne(x, shape, { perplexity: 5, iterations: 120, onProgress: (i, t, kl) => seen.push([i, t, kl]) });
  assert.deepEqual(seen.map(([i]) => i), [0, 50, 100, 120]);
  assert.ok(seen.every(([, t]) => t === 120));
  assert.ok(seen.slice(1).every(([, , kl]) => typeof kl === "number" && kl > 0));
});

Deno.test("tsne() rejects bad inputs and options with RangeErrors that say what was expected", async () => {
  const { x, shape } = clusters(2, 10, 3, 4);
  const rejects = (p: Promise<unknown>, re: RegExp) =>
    assert.rejects(p, (e: Error) => e instanceof RangeError && re.test(e.message), re.source);
  await rejects(tsne(new Float32Array(6), [3, 2]), /at least 4 points, got 3/);
  await rejects(tsne(x, shape), /perplexity 30 is too large for 20 points/);
  await rejects(tsne(x, shape, { perplexity: -1 }), /perplexity must be a positive number/);
  await rejects(tsne(x, shape, { perplexity: 3, iterations: 0 }), /iterations must be a positive integer, got 0/);
  await rejects(tsne(x, shape, { perplexity: 3, theta: 2 }), /theta must be in \[0, 1\], got 2/);
  // deno-lint-ignore no-explicit-any
  await rejects(tsne(x, shape, { perplexity: 3, engine: "umap" as any }), /engine must be "fast" or "tsne-js"/);
  await rejects(tsne(x, [21, 3], { perplexity: 3 }), /60 values but its shape \[21, 3\] needs 63/);
});

Deno.test("tsne() with engine tsne-js runs the npm package, seeded, and reports the same exact KL", async () => {
  const { x, labels, shape } = clusters(2, 20, 5, 5);
  const progress: number[] = [];
  const a = await tsne(x, shape, {
    engine: "tsne-js",
    perplexity: 5,
    iterations: 150,
    onProgress: (i) => progress.push(i),
  });
  const b = await tsne(x, shape, { engine: "tsne-js", perplexity: 5, iterations: 150 });
  assert.deepEqual(a.embedding, b.embedding, "seeded: Math.random is not used");
  assert.equal(a.embedding.length, 2 * shape[0]);
  assert.ok(a.iterations > 100 && a.iterations <= 150, `${a.iterations}`);
  const P = tsneAffinities(x, shape, { perplexity: 5 });
  assert.ok(Math.abs(a.kl - klDivergence(a.embedding, P)) < 1e-9);
  // tsne-js's own recipe separates these clusters only partly (see tsne_js.ts); better than chance
  assert.ok(knnAccuracy(a.embedding, labels, 5) > 0.6, `${knnAccuracy(a.embedding, labels, 5)}`);
  assert.deepEqual(progress, [0, 50, 100, a.iterations]);
});

Deno.test("tsne() stays finite on constant data, duplicate rows and rank-1 data (which still spreads in 2-D)", async () => {
  const constant = await tsne(new Float32Array(40).fill(2), [10, 4], { perplexity: 2, iterations: 100 });
  assert.ok(constant.embedding.every(Number.isFinite) && Number.isFinite(constant.kl));
  const dups = new Float32Array(200).map((_, t) => Math.floor(t / 40)); // 5 groups of 20 identical rows
  const r = await tsne(dups, [100, 2], { perplexity: 5, iterations: 100 });
  assert.ok(r.embedding.every(Number.isFinite) && Number.isFinite(r.kl));
  const line = new Float32Array(40).map((_, t) => Math.floor(t / 2)); // rows (k, k): rank 1
  const l = await tsne(line, [20, 2], { perplexity: 3, iterations: 100 });
  const ys = Array.from({ length: 20 }, (_, i) => l.embedding[2 * i + 1]);
  assert.ok(Math.max(...ys) - Math.min(...ys) > 1e-3, "second coordinate is not stuck at 0");
});

import assert from "node:assert/strict";
import { QuadTree } from "../../lib/analysis/_bh_tree.ts";
import { pcaScores, symmetricEigen } from "../../lib/analysis/_pca.ts";
import { Prng } from "../../lib/util/prng.ts";

/** sum_j w_ij^2 (y_i - y_j) and Z = sum_{i != j} w_ij over all pairs. */
function bruteRepulsion(y: Float64Array, n: number) {
  const f = new Float64Array(2 * n);
  let z = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
      const w = 1 / (1 + dx * dx + dy * dy);
      z += w;
      f[2 * i] += w * w * dx;
      f[2 * i + 1] += w * w * dy;
    }
  }
  return { f, z };
}

Deno.test("QuadTree.repulsion() is exact at theta = 0 and close at theta = 0.5, duplicates included", () => {
  const prng = new Prng(9);
  const n = 300;
  const y = new Float64Array(2 * n).map(() => prng.normal(0, 5));
  for (let t = 0; t < 10; t++) y[2 * (100 + t)] = y[0], y[2 * (100 + t) + 1] = y[1]; // 11 points at one place
  const { f, z } = bruteRepulsion(y, n);
  const tree = new QuadTree(n);
  tree.build(y, n);
  const out = new Float64Array(2 * n);
  const z0 = tree.repulsion(y, n, 0, out);
  assert.ok(Math.abs(z0 - z) < 1e-9 * z);
  for (let t = 0; t < 2 * n; t++) assert.ok(Math.abs(out[t] - f[t]) < 1e-12 + 1e-9 * Math.abs(f[t]), `coordinate ${t}`);
  tree.build(y, n); // rebuilding into the same pools gives the same tree
  const z5 = tree.repulsion(y, n, 0.5, out);
  assert.ok(Math.abs(z5 - z) < 1e-2 * z, `Z ${z5} vs ${z}`);
  let err = 0, norm = 0;
  for (let t = 0; t < 2 * n; t++) err += (out[t] - f[t]) ** 2, norm += f[t] ** 2;
  assert.ok(Math.sqrt(err / norm) < 0.05, `relative force error ${Math.sqrt(err / norm)}`);
});

Deno.test("QuadTree.repulsion() handles all points at one place (no repulsion, Z = n (n - 1))", () => {
  const n = 5;
  const y = new Float64Array(2 * n).fill(3);
  const tree = new QuadTree(n);
  tree.build(y, n);
  const out = new Float64Array(2 * n);
  assert.equal(tree.repulsion(y, n, 0.5, out), n * (n - 1));
  assert.deepEqual(Array.from(out), new Array(2 * n).fill(0));
});

Deno.test("symmetricEigen() reconstructs a symmetric matrix", () => {
  const b = 5, prng = new Prng(2);
  const m = new Float64Array(b * b);
  for (let p = 0; p < b; p++) for (let q = p; q < b; q++) m[p * b + q] = m[q * b + p] = prng.normal();
  const { values, vectors } = symmetricEigen(m, b);
  for (let p = 0; p < b; p++) {
    for (let q = 0; q < b; q++) {
      let s = 0;
      for (let e = 0; e < b; e++) s += vectors[p * b + e] * values[e] * vectors[q * b + e];
      assert.ok(Math.abs(s - m[p * b + q]) < 1e-10);
    }
  }
});

Deno.test("pcaScores() finds the two leading directions of a stretched, rotated cloud", () => {
  const prng = new Prng(4);
  const n = 400, d = 6;
  const scales = [5, 3, 1, 0.5, 0.3, 0.1];
  const latent = new Float64Array(n * d).map((_, t) => prng.normal() * scales[t % d]);
  // a fixed rotation mixing axes 0 and 1 and 2 and 3, plus an offset
  const c = Math.cos(0.7), s = Math.sin(0.7);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const l = latent.subarray(i * d, (i + 1) * d);
    x.set(
      [c * l[0] - s * l[1] + 4, s * l[0] + c * l[1] - 2, c * l[2] - s * l[3], s * l[2] + c * l[3], l[4], l[5]],
      i * d,
    );
  }
  const scores = pcaScores(x, [n, d], { components: 2, prng: new Prng(1) });
  const corr = (a: number[], b: number[]) => {
    const ma = a.reduce((u, v) => u + v) / a.length, mb = b.reduce((u, v) => u + v) / b.length;
    let sab = 0, saa = 0, sbb = 0;
    for (let i = 0; i < a.length; i++) {
      sab += (a[i] - ma) * (b[i] - mb), saa += (a[i] - ma) ** 2, sbb += (b[i] - mb) ** 2;
    }
    return sab / Math.sqrt(saa * sbb);
  };
  const col = (k: number) => Array.from({ length: n }, (_, i) => scores[2 * i + k]);
  const truth = (k: number) => Array.from({ length: n }, (_, i) => latent[i * d + k]);
  assert.ok(Math.abs(corr(col(0), truth(0))) > 0.99);
  assert.ok(Math.abs(corr(col(1), truth(1))) > 0.99);
});

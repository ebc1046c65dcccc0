import assert from "node:assert/strict";
import {
  applySimilarity,
  estimateSimilarity,
  invertSimilarity,
  type Point,
  similarityScale,
} from "../../lib/faces/similarity.ts";
import { ARCFACE_112, RAF_DB_TEMPLATE, templateForSize } from "../../lib/faces/template.ts";
import { Prng } from "../../lib/util/prng.ts";

Deno.test("estimateSimilarity() recovers a known similarity exactly from five points", () => {
  const prng = new Prng(7);
  for (let trial = 0; trial < 20; trial++) {
    const angle = (prng.next() - 0.5) * 2 * Math.PI, scale = 0.05 + 3 * prng.next();
    const truth = {
      a: scale * Math.cos(angle),
      b: scale * Math.sin(angle),
      tx: 500 * prng.next(),
      ty: -200 * prng.next(),
    };
    const src: Point[] = Array.from({ length: 5 }, () => [1920 * prng.next(), 1280 * prng.next()]);
    const t = estimateSimilarity(src, src.map((p) => applySimilarity(truth, p)));
    for (const k of ["a", "b", "tx", "ty"] as const) {
      assert.ok(Math.abs(t[k] - truth[k]) < 1e-9 * Math.max(1, Math.abs(truth[k])), k);
    }
    const back = invertSimilarity(t);
    const [x, y] = applySimilarity(back, applySimilarity(t, src[0]));
    assert.ok(Math.abs(x - src[0][0]) < 1e-7 && Math.abs(y - src[0][1]) < 1e-7);
    assert.ok(Math.abs(similarityScale(t) - scale) < 1e-9);
  }
});

Deno.test("estimateSimilarity() is the least-squares fit: no small change of the parameters lowers the error", () => {
  const src: Point[] = [[10, 12], [40, 11], [26, 30], [14, 44], [37, 45]];
  const dst = RAF_DB_TEMPLATE as Point[];
  const t = estimateSimilarity(src, dst);
  const err = (s: typeof t) =>
    src.reduce(
      (e, p, i) => e + (applySimilarity(s, p)[0] - dst[i][0]) ** 2 + (applySimilarity(s, p)[1] - dst[i][1]) ** 2,
      0,
    );
  const e0 = err(t);
  for (const k of ["a", "b", "tx", "ty"] as const) {
    for (const d of [1e-4, -1e-4]) assert.ok(err({ ...t, [k]: t[k] + d }) >= e0);
  }
  // weights: the eyes alone fix a similarity exactly
  const eyes = estimateSimilarity(src, dst, { weights: [1, 1, 0, 0, 0] });
  for (const k of [0, 1]) {
    const q = applySimilarity(eyes, src[k]);
    assert.ok(Math.hypot(q[0] - dst[k][0], q[1] - dst[k][1]) < 1e-9);
  }
});

Deno.test("estimateSimilarity() refuses degenerate input with a RangeError", () => {
  assert.throws(() => estimateSimilarity([[1, 1], [1, 1]], [[0, 0], [1, 1]]), /coincide/);
  assert.throws(() => estimateSimilarity([[1, 1]], [[0, 0]]), /at least 2/);
  assert.throws(() => estimateSimilarity([[1, 1], [2, 2]], [[0, 0]]), /targets/);
  assert.throws(() => estimateSimilarity([[NaN, 1], [2, 2]], [[0, 0], [1, 1]]), /finite/);
});

Deno.test("RAF_DB_TEMPLATE is insightface's ArcFace template scaled to 100x100, eyes level and centred", () => {
  assert.equal(RAF_DB_TEMPLATE.length, 5);
  for (let k = 0; k < 5; k++) {
    assert.ok(Math.abs(RAF_DB_TEMPLATE[k][0] - (ARCFACE_112[k][0] + 0.5) * 100 / 112) < 1e-12);
  }
  const [l, r] = RAF_DB_TEMPLATE;
  assert.ok(Math.abs((l[0] + r[0]) / 2 - 50) < 0.5, "eyes centred");
  assert.ok(Math.abs(l[1] - r[1]) < 0.5, "eyes level");
  assert.deepEqual(templateForSize(200)[2], [RAF_DB_TEMPLATE[2][0] * 2, RAF_DB_TEMPLATE[2][1] * 2]);
});

import assert from "node:assert/strict";
import { CLASSES, NUM_CLASSES } from "../../lib/data/classes.ts";
import {
  CLASS_FREQUENCIES,
  classQuota,
  CONFUSABLE_PAIRS,
  drawAnnotatorBias,
  drawTrueDistribution,
  drawVotes,
  majorityVote,
} from "../../lib/data/synthfer/labels.ts";
import { drawSplitLabels } from "../../lib/data/synthfer/split.ts";
import { Prng } from "../../lib/util/prng.ts";

Deno.test("CLASS_FREQUENCIES sum to 1 and put happiness first, fear and disgust last", () => {
  const f = CLASSES.map((c) => CLASS_FREQUENCIES[c]);
  assert.ok(Math.abs(f.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.equal(Math.max(...f), CLASS_FREQUENCIES.happiness);
  const sorted = [...f].sort((a, b) => a - b);
  assert.deepEqual(new Set(sorted.slice(0, 2)), new Set([CLASS_FREQUENCIES.fear, CLASS_FREQUENCIES.disgust]));
});

Deno.test("classQuota() sums to n and gives every class at least one face", () => {
  for (const n of [7, 8, 13, 20, 100, 701, 2800]) {
    const q = classQuota(n);
    assert.equal(q.reduce((a, b) => a + b, 0), n);
    assert.ok(q.every((x) => x >= 1), `n ${n}: ${q}`);
  }
  assert.deepEqual(classQuota(100), [10, 5, 6, 33, 15, 7, 24]);
  assert.throws(() => classQuota(6), RangeError);
});

Deno.test("drawTrueDistribution() gives clear faces one dominant class and blends a confusable partner", () => {
  const prng = new Prng(0);
  const confusable = new Set(CONFUSABLE_PAIRS.flatMap(([a, b]) => [`${a}/${b}`, `${b}/${a}`]));
  for (let t = 0; t < 500; t++) {
    const primary = t % NUM_CLASSES;
    const clear = drawTrueDistribution(primary, prng, { blended: false, clearMass: [0.75, 0.95] });
    assert.ok(clear[primary] >= 0.75 && clear[primary] < 0.95);
    assert.ok(Math.abs(clear.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    const blend = drawTrueDistribution(primary, prng, { blended: true, clearMass: [0.75, 0.95] });
    const order = [...blend.keys()].sort((a, b) => blend[b] - blend[a]);
    assert.equal(order[0], primary, "the primary stays the largest share");
    assert.ok(blend[primary] < 0.7 && blend[order[1]] > 0.2);
    assert.ok(confusable.has(`${CLASSES[primary]}/${CLASSES[order[1]]}`), `${CLASSES[primary]} + ${CLASSES[order[1]]}`);
  }
});

Deno.test("drawVotes() casts K votes that follow the distribution", () => {
  const prng = new Prng(1);
  const unbiased = drawAnnotatorBias(1000, 0, prng);
  const p = [0.5, 0.3, 0.2, 0, 0, 0, 0];
  const v = drawVotes(p, unbiased, prng);
  assert.equal(v.reduce((a, b) => a + b, 0), 1000);
  assert.equal(v[3] + v[4] + v[5] + v[6], 0);
  assert.ok(Math.abs(v[0] - 500) < 60 && Math.abs(v[1] - 300) < 60);
});

Deno.test("majorityVote() picks the most-voted class and breaks ties with the generator", () => {
  assert.equal(majorityVote([0, 1, 5, 2, 0, 0, 2], new Prng(0)), 2);
  const winners = new Set<number>();
  for (let seed = 0; seed < 50; seed++) winners.add(majorityVote([4, 0, 0, 4, 0, 2, 0], new Prng(seed)));
  assert.deepEqual(winners, new Set([0, 3]));
});

Deno.test("drawSplitLabels() follows the class frequencies and agrees with the true distributions", () => {
  const prng = new Prng(2);
  const tilt = drawAnnotatorBias(10, 0.3, prng);
  const s = drawSplitLabels(2800, prng, { ambiguousFraction: 0.5, clearMass: [0.75, 0.95], annotatorTilt: tilt });
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  s.labels.forEach((l) => counts[l]++);
  // blends move some labels to their partners (mostly out of the big classes), so only roughly
  CLASSES.forEach((c, i) => {
    assert.ok(Math.abs(counts[i] / 2800 - CLASS_FREQUENCIES[c]) < 0.06, `${c}: ${counts[i]}`);
  });
  assert.equal(counts.indexOf(Math.max(...counts)), CLASSES.indexOf("happiness"));
  // the majority vote matches the true dominant class on almost every clear face
  let clear = 0, agree = 0;
  for (let i = 0; i < 2800; i++) {
    if (s.blended[i]) continue;
    clear++;
    const row = s.trueDistributions.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES);
    if (row.indexOf(Math.max(...row)) === s.labels[i]) agree++;
  }
  assert.ok(agree / clear > 0.93, `agreement ${agree / clear}`);
});

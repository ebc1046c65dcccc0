import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLASSES, NUM_CLASSES } from "../../lib/data/classes.ts";
import {
  DEFAULT_SYNTHFER_OPTIONS,
  type FaceSplit,
  generateSynthFer,
  loadSynthFer,
  resolveSynthFerOptions,
  type SynthFerOptions,
} from "../../lib/data/synthfer.ts";

const TINY: SynthFerOptions = { seed: 3, trainSize: 20, testSize: 14, imageSize: 32 };

function argmaxRow(a: ArrayLike<number>, row: number): number {
  let best = 0;
  for (let c = 1; c < NUM_CLASSES; c++) if (a[row * NUM_CLASSES + c] > a[row * NUM_CLASSES + best]) best = c;
  return best;
}

function splits(ds: { train: FaceSplit; test: FaceSplit }): [string, FaceSplit][] {
  return [["train", ds.train], ["test", ds.test]];
}

Deno.test("generateSynthFer() is deterministic for a seed", async () => {
  const a = await generateSynthFer(TINY);
  const b = await generateSynthFer({ ...TINY });
  for (const [name, s] of splits(a)) {
    const t = name === "train" ? b.train : b.test;
    assert.deepEqual(s.images, t.images, `${name} images differ`);
    assert.deepEqual(s.labels, t.labels);
    assert.deepEqual(s.trueDistributions, t.trueDistributions);
    assert.deepEqual(s.votes, t.votes);
    assert.deepEqual(s.params, t.params);
  }
});

Deno.test("generateSynthFer() draws different faces for different seeds", async () => {
  const a = await generateSynthFer(TINY);
  const b = await generateSynthFer({ ...TINY, seed: 4 });
  assert.notDeepEqual(a.train.images, b.train.images);
  assert.notDeepEqual(a.train.trueDistributions, b.train.trueDistributions);
});

Deno.test("generateSynthFer() returns arrays of the documented shapes", async () => {
  const ds = await generateSynthFer(TINY);
  assert.equal(ds.name, "synth");
  assert.deepEqual(ds.classes, CLASSES);
  assert.equal(ds.imageSize, 32);
  assert.deepEqual(ds.options, { ...DEFAULT_SYNTHFER_OPTIONS, ...TINY });
  for (const [name, s] of splits(ds)) {
    const n = name === "train" ? 20 : 14;
    assert.equal(s.count, n);
    assert.ok(s.images instanceof Uint8Array);
    assert.equal(s.images.length, n * 32 * 32 * 3); // [N, S, S, 3]
    assert.ok(s.labels instanceof Int32Array && s.labels.length === n);
    assert.ok(s.trueDistributions instanceof Float32Array && s.trueDistributions.length === n * NUM_CLASSES);
    assert.ok(s.votes instanceof Int32Array && s.votes.length === n * NUM_CLASSES);
    assert.equal(s.blended.length, n);
    assert.equal(s.faceSeeds.length, n);
    assert.equal(s.params.length, n);
    // every face is a picture, not a flat fill
    for (let i = 0; i < n; i++) {
      const px = s.images.subarray(i * 32 * 32 * 3, (i + 1) * 32 * 32 * 3);
      assert.ok(Math.max(...px) - Math.min(...px) > 60, `face ${i} of ${name} looks blank`);
    }
  }
});

Deno.test("generateSynthFer() gives true distributions that are non-negative and sum to 1", async () => {
  const ds = await generateSynthFer(TINY);
  for (const [, s] of splits(ds)) {
    for (let i = 0; i < s.count; i++) {
      const row = s.trueDistributions.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES);
      assert.ok(row.every((p) => p >= 0));
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    }
  }
});

Deno.test("generateSynthFer() labels are the majority vote and votes sum to K", async () => {
  for (const annotators of [10, 7, 1]) {
    const ds = await generateSynthFer({ ...TINY, annotators });
    for (const [, s] of splits(ds)) {
      for (let i = 0; i < s.count; i++) {
        const v = s.votes.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES);
        assert.equal(v.reduce((a, b) => a + b, 0), annotators);
        assert.ok(v.every((x) => x >= 0));
        assert.equal(v[s.labels[i]], Math.max(...v), `label ${s.labels[i]} is not a most-voted class of ${v}`);
      }
    }
  }
});

Deno.test("generateSynthFer() puts every class in both splits", async () => {
  for (const seed of [0, 1, 2, 3, 4]) {
    for (const annotators of [1, 10]) {
      const ds = await generateSynthFer({ seed, trainSize: 7, testSize: 9, imageSize: 16, annotators });
      for (const [name, s] of splits(ds)) {
        const present = new Set(s.labels);
        assert.equal(present.size, NUM_CLASSES, `seed ${seed}, K ${annotators}: ${name} has classes ${[...present]}`);
      }
    }
  }
});

Deno.test("generateSynthFer() draws about ambiguousFraction blended faces", async () => {
  for (const ambiguousFraction of [0, 0.3, 0.5, 0.8]) {
    const ds = await generateSynthFer({ seed: 1, trainSize: 60, testSize: 20, imageSize: 16, ambiguousFraction });
    for (const [, s] of splits(ds)) {
      let blended = 0, lowMax = 0;
      for (let i = 0; i < s.count; i++) {
        const max = Math.max(...s.trueDistributions.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES));
        blended += s.blended[i];
        if (max < 0.7) lowMax++;
        // clear faces have one dominant class, blends share it
        if (s.blended[i]) assert.ok(max < 0.7, `blend with max ${max}`);
        else assert.ok(max >= 0.75, `clear face with max ${max}`);
      }
      assert.equal(lowMax, blended);
      assert.equal(blended, Math.min(Math.round(ambiguousFraction * s.count), s.count - NUM_CLASSES));
    }
  }
});

Deno.test("generateSynthFer() keeps the test split when only trainSize changes", async () => {
  const a = await generateSynthFer({ ...TINY, trainSize: 10 });
  const b = await generateSynthFer({ ...TINY, trainSize: 12 });
  assert.deepEqual(a.test.images, b.test.images);
  assert.deepEqual(a.test.labels, b.test.labels);
});

Deno.test("generateSynthFer() renders at 32, 48, 64 and 100 pixels", async () => {
  for (const imageSize of [32, 48, 64, 100]) {
    const ds = await generateSynthFer({ trainSize: 7, testSize: 7, imageSize });
    assert.equal(ds.train.images.length, 7 * imageSize * imageSize * 3);
    assert.equal(ds.test.images.length, 7 * imageSize * imageSize * 3);
  }
});

Deno.test("generateSynthFer() with difficulty easy gives clear faces only", async () => {
  const ds = await generateSynthFer({ ...TINY, difficulty: "easy" });
  assert.equal(ds.options.ambiguousFraction, 0);
  for (const [, s] of splits(ds)) {
    assert.ok(s.blended.every((b) => b === 0));
    for (let i = 0; i < s.count; i++) {
      assert.ok(s.trueDistributions[i * NUM_CLASSES + argmaxRow(s.trueDistributions, i)] >= 0.88);
      assert.equal(s.params[i].identity.glasses, 0);
      assert.equal(s.params[i].scene.shapeCount, 0);
    }
  }
});

Deno.test("generateSynthFer() reports progress up to the total", async () => {
  const seen: [number, number][] = [];
  await generateSynthFer(TINY, (done, total) => seen.push([done, total]));
  assert.equal(seen.length, 34);
  assert.deepEqual(seen.at(-1), [34, 34]);
  assert.ok(seen.every(([d], i) => i === 0 || d > seen[i - 1][0]));
});

Deno.test("generateSynthFer() rejects bad options with RangeError or TypeError", async () => {
  const bad: [SynthFerOptions, ErrorConstructor][] = [
    [{ trainSize: 6 }, RangeError],
    [{ testSize: 2.5 }, RangeError],
    [{ imageSize: 8 }, RangeError],
    [{ imageSize: 1000 }, RangeError],
    [{ annotators: 0 }, RangeError],
    [{ ambiguousFraction: 1.5 }, RangeError],
    [{ ambiguousFraction: NaN }, RangeError],
    [{ seed: 0.5 }, RangeError],
    [{ annotatorBias: -1 }, RangeError],
    [{ difficulty: "hard" as "easy" }, RangeError],
    [{ trainSize: "20" as unknown as number }, TypeError],
    [{ trainsize: 20 } as SynthFerOptions, TypeError],
  ];
  for (const [options, kind] of bad) {
    await assert.rejects(() => generateSynthFer(options), kind, JSON.stringify(options));
    assert.throws(() => resolveSynthFerOptions(options), kind);
  }
});

Deno.test("loadSynthFer() caches on first use and reads back the same data set", async () => {
  const cacheDir = await mkdtemp(join(tmpdir(), "synthfer-test-"));
  try {
    const first = await loadSynthFer({ ...TINY, cacheDir });
    assert.equal(first.fromCache, false);
    assert.ok(first.cachePath.startsWith(cacheDir));
    const second = await loadSynthFer({ ...TINY, cacheDir });
    assert.equal(second.fromCache, true);
    assert.equal(second.cachePath, first.cachePath);
    const fresh = await generateSynthFer(TINY);
    for (const [name, s] of splits(second)) {
      const t = name === "train" ? fresh.train : fresh.test;
      assert.deepEqual(s.images, t.images);
      assert.deepEqual(s.labels, t.labels);
      assert.deepEqual(s.trueDistributions, t.trueDistributions);
      assert.deepEqual(s.votes, t.votes);
      assert.deepEqual(s.blended, t.blended);
      assert.deepEqual(s.params, t.params); // redrawn from the cached seeds
    }
    assert.deepEqual(second.options, fresh.options);
    // other options, another folder; no temporary folders left behind
    const other = await loadSynthFer({ ...TINY, seed: 9, cacheDir });
    assert.equal(other.fromCache, false);
    assert.notEqual(other.cachePath, first.cachePath);
    const entries = await readdir(cacheDir);
    assert.equal(entries.length, 2);
    assert.ok(entries.every((e) => !e.startsWith(".tmp-")));
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
});

Deno.test("loadSynthFer() regenerates a damaged cache instead of reading it", async () => {
  const cacheDir = await mkdtemp(join(tmpdir(), "synthfer-test-"));
  try {
    const first = await loadSynthFer({ ...TINY, cacheDir });
    await truncate(join(first.cachePath, "train.rgb"), 100); // as if cut short
    const second = await loadSynthFer({ ...TINY, cacheDir });
    assert.equal(second.fromCache, false);
    assert.deepEqual(second.train.images, first.train.images);
    const third = await loadSynthFer({ ...TINY, cacheDir });
    assert.equal(third.fromCache, true);
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
});

Deno.test("loadSynthFer() never reads the temporary folder of an interrupted generation", async () => {
  const cacheDir = await mkdtemp(join(tmpdir(), "synthfer-test-"));
  try {
    const first = await loadSynthFer({ ...TINY, cacheDir });
    const key = first.cachePath.slice(cacheDir.length + 1);
    // simulate a run killed before its rename: only the temporary folder is left
    await rm(first.cachePath, { recursive: true });
    await mkdir(join(cacheDir, `.tmp-${key}-interrupted`));
    await writeFile(join(cacheDir, `.tmp-${key}-interrupted`, "train.rgb"), new Uint8Array(10));
    const second = await loadSynthFer({ ...TINY, cacheDir });
    assert.equal(second.fromCache, false);
    assert.deepEqual(second.train.images, first.train.images);
    assert.equal((await loadSynthFer({ ...TINY, cacheDir })).fromCache, true);
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
});

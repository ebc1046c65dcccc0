/**
 * cachedRun: a configuration is trained once and reused; a partial run is resumed or redone;
 * a lock held by a live process is waited for, one of a dead process is taken over.
 * Tiny runs (1-2 epochs of 28 faces at 16x16, width 2) in a temporary cache root.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveConfig } from "../../lib/config.ts";
import { cachedRun, cacheKey, NOTEBOOK_PRESET } from "../../lib/run/cached_run.ts";
import { runTraining } from "../../lib/run/training_run.ts";
import { InterruptedError } from "../../lib/train/trainer.ts";

const tiny = (over: Record<string, unknown> = {}) =>
  resolveConfig({
    epochs: 1,
    width: 2,
    imageSize: 16,
    batchSize: 8,
    trackedSamples: 2,
    backend: "cpu",
    synth: { trainSize: 28, testSize: 7 },
    ...over,
  });

const epochsIn = (dir: string) => readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").length;
const leftovers = (root: string) => readdirSync(root).filter((f) => f.endsWith(".partial") || f.endsWith(".lock"));

Deno.test("cacheKey() is the mode and a hash of the configuration, blind to key order and `out`", () => {
  const a = tiny();
  const shuffled = Object.fromEntries(Object.entries(a).reverse()) as typeof a;
  assert.match(cacheKey(a), /^adadf-[0-9a-f]{12}$/);
  assert.equal(cacheKey(shuffled), cacheKey(a));
  assert.equal(cacheKey({ ...a, out: "/somewhere/else" }), cacheKey(a));
  assert.notEqual(cacheKey(tiny({ seed: 2 })), cacheKey(a));
  assert.notEqual(cacheKey({ ...a, synth: { ...a.synth, trainSize: 35 } }), cacheKey(a));
  assert.match(cacheKey(tiny({ mode: "baseline" })), /^baseline-/);
});

Deno.test("NOTEBOOK_PRESET is a valid SynthFER configuration with tracked samples", () => {
  assert.equal(NOTEBOOK_PRESET.dataset, "synth");
  assert.equal(NOTEBOOK_PRESET.mode, "adadf");
  assert.ok(NOTEBOOK_PRESET.trackedSamples >= 2);
  assert.ok(NOTEBOOK_PRESET.beta < NOTEBOOK_PRESET.epochs, "the KL term must be fully in by the last epoch");
  assert.ok(NOTEBOOK_PRESET.synth.ambiguousFraction > 0, "Fig. 5 and 6 need ambiguous faces");
});

Deno.test("cachedRun() trains on first use and returns the same finished folder afterwards", async () => {
  const root = await Deno.makeTempDir({ prefix: "adadf-cache-" });
  const cfg = tiny();
  const logs: string[] = [];
  const first = await cachedRun(cfg, {
    cacheRoot: root,
    onEvent: (e) => e.type === "log" && logs.push(e.message),
  });
  assert.equal(first.reused, false);
  assert.equal(first.dir, join(root, cacheKey(cfg)));
  assert.ok(existsSync(join(first.dir, "summary.json")));
  assert.equal(JSON.parse(readFileSync(join(first.dir, "summary.json"), "utf8")).epochsCompleted, 1);
  assert.ok(logs.some((l) => l.startsWith("cache: training")), logs.join("\n"));
  assert.deepEqual(leftovers(root), []);
  const again = await cachedRun(cfg, { cacheRoot: root });
  assert.deepEqual(again, { dir: first.dir, reused: true });
  // another configuration gets its own folder
  const other = await cachedRun(tiny({ mode: "baseline" }), { cacheRoot: root });
  assert.notEqual(other.dir, first.dir);
  assert.equal(other.reused, false);
  await Deno.remove(root, { recursive: true });
});

Deno.test("cachedRun() resumes a .partial run that a killed process left with a checkpoint", async () => {
  const root = await Deno.makeTempDir({ prefix: "adadf-cache-" });
  const cfg = tiny({ epochs: 2 });
  const partial = join(root, `${cacheKey(cfg)}.partial`);
  let epochsDone = 0;
  await assert.rejects(
    runTraining(cfg, partial, {
      onEvent: (e) => e.type === "epoch" && epochsDone++,
      shouldStop: () => epochsDone >= 1,
    }),
    InterruptedError,
  );
  assert.equal(epochsIn(partial), 1);
  const logs: string[] = [];
  const r = await cachedRun(cfg, { cacheRoot: root, onEvent: (e) => e.type === "log" && logs.push(e.message) });
  assert.equal(r.reused, false);
  assert.ok(logs.some((l) => l.startsWith("cache: resuming")), logs.join("\n"));
  assert.ok(!logs.some((l) => l.startsWith("cache: training")), "a resumable run must not be redone");
  assert.equal(epochsIn(r.dir), 2);
  assert.deepEqual(leftovers(root), []);
  await Deno.remove(root, { recursive: true });
});

Deno.test("cachedRun() redoes a .partial folder without a checkpoint and an incomplete final folder", async () => {
  const root = await Deno.makeTempDir({ prefix: "adadf-cache-" });
  const cfg = tiny();
  const key = cacheKey(cfg);
  mkdirSync(join(root, `${key}.partial`));
  writeFileSync(join(root, `${key}.partial`, "junk.txt"), "left by a process killed before its first epoch");
  const r = await cachedRun(cfg, { cacheRoot: root });
  assert.equal(r.reused, false);
  assert.ok(!existsSync(join(r.dir, "junk.txt")));
  assert.deepEqual(leftovers(root), []);
  // a final folder whose summary lacks epochs (e.g. edited by hand) is not trusted
  const summaryPath = join(r.dir, "summary.json");
  writeFileSync(summaryPath, JSON.stringify({ epochsCompleted: 0 }));
  const redone = await cachedRun(cfg, { cacheRoot: root });
  assert.equal(redone.reused, false);
  assert.equal(JSON.parse(readFileSync(summaryPath, "utf8")).epochsCompleted, 1);
  await Deno.remove(root, { recursive: true });
});

Deno.test("cachedRun() waits for a live lock, takes over a dead one, and times out on a stuck one", async () => {
  const root = await Deno.makeTempDir({ prefix: "adadf-cache-" });
  const cfg = tiny();
  const lock = join(root, `${cacheKey(cfg)}.lock`);
  // a live lock (this very process) that nobody releases: the wait times out
  writeFileSync(lock, JSON.stringify({ pid: Deno.pid, host: (await import("node:os")).hostname(), started: "now" }));
  await assert.rejects(cachedRun(cfg, { cacheRoot: root, waitTimeoutMs: 1200 }), /waited 1 s/);
  // the same lock, gone stale: taken over and the run trained
  const r = await cachedRun(cfg, { cacheRoot: root, staleLockMs: 0 });
  assert.equal(r.reused, false);
  assert.deepEqual(leftovers(root), []);
  // a fresh lock of a process that has exited (Linux: no /proc/<pid>) is taken over at once
  if (existsSync("/proc/self")) {
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    const cfg2 = tiny({ seed: 3 });
    const lock2 = join(root, `${cacheKey(cfg2)}.lock`);
    writeFileSync(lock2, JSON.stringify({ pid: gone.pid, host: (await import("node:os")).hostname(), started: "now" }));
    const logs: string[] = [];
    const r2 = await cachedRun(cfg2, {
      cacheRoot: root,
      waitTimeoutMs: 5000,
      onEvent: (e) => e.type === "log" && logs.push(e.message),
    });
    assert.equal(r2.reused, false);
    assert.ok(logs.some((l) => l.includes("taking over")), logs.join("\n"));
  } else console.warn("SKIPPED: the dead-process lock check needs Linux /proc");
  await Deno.remove(root, { recursive: true });
});

Deno.test("cachedRun() called twice at once trains once; the second call waits and reuses", async () => {
  const root = await Deno.makeTempDir({ prefix: "adadf-cache-" });
  const cfg = tiny();
  const [a, b] = await Promise.all([cachedRun(cfg, { cacheRoot: root }), cachedRun(cfg, { cacheRoot: root })]);
  assert.equal(a.dir, b.dir);
  assert.deepEqual([a.reused, b.reused].sort(), [false, true]);
  assert.deepEqual(leftovers(root), []);
  await Deno.remove(root, { recursive: true });
});

Deno.test("cachedRun() rejects an invalid configuration before touching the cache", async () => {
  const root = await Deno.makeTempDir({ prefix: "adadf-cache-" });
  await assert.rejects(cachedRun({ ...tiny(), epochs: 0 }, { cacheRoot: root }), /epochs must be an integer/);
  assert.deepEqual(readdirSync(root), []);
  await Deno.remove(root, { recursive: true });
});

Deno.test("cachedRunWithProgress() shows a step bar and one line per epoch, then says whether it trained or re-used", async () => {
  const { cachedRunWithProgress } = await import("../../lib/run/cached_run.ts");
  const root = await Deno.makeTempDir({ prefix: "adadf-progress-" });
  try {
    const shown: string[] = [];
    const sink = { show: (t: string) => void shown.push(t) };
    const cfg = tiny({ seed: 7 });
    const dir = await cachedRunWithProgress(cfg, { cacheRoot: root, sink });
    assert.ok(existsSync(join(dir, "summary.json")));
    const final = shown.at(-1)!.split("\n");
    assert.equal(final.filter((l) => /^epoch +\d+: loss /.test(l)).length, cfg.epochs);
    assert.match(final.at(-1)!, /^adadf: trained into /);
    shown.length = 0;
    assert.equal(await cachedRunWithProgress(cfg, { cacheRoot: root, sink }), dir);
    assert.match(shown.at(-1)!, /^adadf: re-using the cached run /);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { resolveConfig } from "../../lib/config.ts";
import {
  experimentResults,
  meanStd,
  mergeLayers,
  planExperiment,
  QUICK_LAYER,
  resultsChart,
  resultsMarkdown,
  type RunSummaryLike,
} from "../../lib/experiment/mod.ts";

Deno.test("planExperiment('ablation') is Table 2's rows (baseline, y + d_class, y + d_label, Ada-DF) x seeds 1..K", () => {
  const plan = planExperiment("ablation", { seeds: 3 });
  assert.deepEqual(plan.rows.map((r) => r.layer.mode), ["baseline", "class", "label", "adadf"]);
  assert.equal(plan.runs.length, 12);
  assert.deepEqual(plan.runs.slice(0, 3).map((r) => [r.id, r.seed]), [["baseline-s1", 1], ["baseline-s2", 2], [
    "baseline-s3",
    3,
  ]]);
  for (const r of plan.runs) assert.equal(r.layer.seed, r.seed);
});

Deno.test("planExperiment('sensitivity') sweeps w_min, t and beta one at a time around the data set's defaults", () => {
  const plan = planExperiment("sensitivity", { seeds: 1 });
  const d = resolveConfig({});
  assert.equal(plan.rows[0].id, "default");
  // SynthFER's defaults (w_min 0.2, t 0.5, beta 10): w_min 0.2 and t 0.5 are the default row itself
  assert.equal(d.minWeight, 0.2);
  assert.equal(d.threshold, 0.5);
  assert.ok(!plan.rows.some((r) => r.id === "min-weight-0.2" || r.id === "threshold-0.5"));
  assert.equal(plan.rows.length, 1 + 4 + 4 + 5);
  for (const r of plan.rows.slice(1)) {
    assert.equal(Object.keys(r.layer).length, 1, `${r.id} changes one hyper-parameter`);
    const c = resolveConfig(r.layer);
    const changed = (["minWeight", "threshold", "beta"] as const).filter((k) => c[k] !== d[k]);
    assert.equal(changed.length, 1, r.id);
  }
  // on RAF-DB's preset (t 0.7, beta 3) the sweeps centre there instead
  const raf = planExperiment("sensitivity", { seeds: 1, base: { dataset: "raf-db", dataPath: "/x" } });
  assert.match(raf.rows[0].label, /t 0\.7, beta 3/);
  assert.ok(!raf.rows.some((r) => r.id === "threshold-0.7" || r.id === "beta-3"));
  assert.ok(raf.runs.every((r) => r.layer.dataset === "raf-db"));
});

Deno.test("planExperiment('noise') pairs baseline and Ada-DF at 0, 10, 20 and 30 % noise; --quick merges its small layer", () => {
  const plan = planExperiment("noise", { seeds: 2, quick: true });
  assert.deepEqual(plan.rows.map((r) => r.id), [
    "baseline-noise0",
    "adadf-noise0",
    "baseline-noise10",
    "adadf-noise10",
    "baseline-noise20",
    "adadf-noise20",
    "baseline-noise30",
    "adadf-noise30",
  ]);
  const run = plan.runs.find((r) => r.id === "adadf-noise20-s2")!;
  assert.deepEqual(run.layer.synth, QUICK_LAYER.synth);
  assert.equal(run.layer.noise, 0.2);
  assert.equal(run.layer.imageSize, 32);
  assert.throws(() => planExperiment("noise", { seeds: 0 }), /seeds must be an integer in \[1, 100\]/);
  assert.throws(() => planExperiment("noise", { base: { epochs: 0 } }), /epochs must be an integer >= 1/);
});

Deno.test("mergeLayers() lets later layers win and merges synth and augment key by key", () => {
  const m = mergeLayers({ epochs: 2, synth: { trainSize: 100, testSize: 50 } }, { epochs: 3, synth: { testSize: 70 } });
  assert.deepEqual(m, { epochs: 3, synth: { trainSize: 100, testSize: 70 } });
  assert.deepEqual(mergeLayers({}, {}), {});
});

Deno.test("experimentResults() gives per row the mean and sample std over the finished seeds; markdown and chart agree", () => {
  const plan = planExperiment("ablation", { seeds: 2 });
  const s = (acc: number): RunSummaryLike => ({
    testAccuracy: acc,
    bestTestAccuracy: acc + 0.01,
    testAccuracyTrue: acc + 0.02,
    wallSeconds: 10,
  });
  const summaries = new Map([["baseline-s1", s(0.5)], ["baseline-s2", s(0.6)], ["adadf-s1", s(0.7)]]);
  const r = experimentResults(plan, summaries);
  assert.equal(r.finished, 3);
  assert.equal(r.planned, 8);
  assert.equal(r.wallSeconds, 30);
  const base = r.rows.find((x) => x.id === "baseline")!;
  assert.ok(Math.abs(base.measures.testAccuracy!.mean - 0.55) < 1e-12);
  assert.ok(Math.abs(base.measures.testAccuracy!.std - meanStd([0.5, 0.6]).std) < 1e-12);
  assert.equal(base.measures.bestTestAccuracyTrue, undefined, "a measure the summaries lack is left out");
  assert.deepEqual(r.rows.find((x) => x.id === "class")!.seeds, []);
  const md = resultsMarkdown(r);
  assert.match(md, /3 of 8 runs finished/);
  assert.match(md, /\| baseline \(y only: plain ResNet, CE\) \| 1, 2 \| 55\.0 ± 7\.1 \|/);
  assert.match(md, /\| y \+ d_class \| none yet \| – \|/);
  const chart = resultsChart(r) as { data: { values: { row: string; mean: number }[] } };
  assert.deepEqual(chart.data.values.map((v) => Math.round(v.mean)), [55, 70]);
});

Deno.test("lockExperiment() refuses a folder another live pool holds, takes over a stale lock, releases", async () => {
  const { lockExperiment, ExperimentBusyError } = await import("../../lib/experiment/runner.ts");
  const out = await Deno.makeTempDir({ prefix: "adadf-lock-" });
  const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    Deno.writeTextFileSync(`${out}/.experiment.lock`, String(sleeper.pid));
    assert.throws(
      () => lockExperiment(out),
      (e: Error) => e instanceof ExperimentBusyError && /pid \d+/.test(e.message),
    );
    sleeper.kill("SIGKILL");
    await sleeper.status;
    const release = lockExperiment(out); // the holder is gone: stale, taken over
    assert.equal(Deno.readTextFileSync(`${out}/.experiment.lock`), String(Deno.pid));
    release();
    assert.ok(!(await Deno.stat(`${out}/.experiment.lock`).then(() => true, () => false)));
  } finally {
    try {
      sleeper.kill("SIGKILL");
    } catch { /* already gone */ }
    await Deno.remove(out, { recursive: true });
  }
});

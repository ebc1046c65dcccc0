/**
 * Publishes finished experiments into `docs/results/experiments/`: for each experiment folder
 * (runs/experiments/NAME by default) its plan, results (json, md, vega-lite, png), and one line
 * per run with its summary and its last epoch's measured distributions (`runs.jsonl`); the whole
 * `distributions.jsonl` of the runs named by --distributions (for notebook 06's two figures); and
 * `timing.json` with the pools' wall-clock times given by --wall NAME=SECONDS (what
 * `deno task experiment` printed at its end) beside the sum of the runs' own times.
 *
 *   deno run -A tools/experiments/publish.ts ablation noise sensitivity \
 *     --wall ablation=905 --wall noise=1203 --wall sensitivity=3000 \
 *     --distributions ablation/adadf-s1 --distributions noise/adadf-noise20-s1
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { collectSummaries, experimentResults, readPlan, resultsMarkdown } from "../../lib/experiment/mod.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    from: { type: "string", default: join(ROOT, "runs", "experiments") },
    to: { type: "string", default: join(ROOT, "docs", "results", "experiments") },
    wall: { type: "string", multiple: true, default: [] },
    distributions: { type: "string", multiple: true, default: [] },
  },
});

const lastLine = (path: string) => {
  const lines = readFileSync(path, "utf8").trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
};
const means = (o: Record<string, Record<string, { mean: number }>>) =>
  Object.fromEntries(
    Object.entries(o).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([g, s]) => [g, s.mean]))]),
  );

const timing: Record<string, unknown> = {
  machine: `${navigator.hardwareConcurrency} cores, ${
    (Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/) ?? [, "unknown CPU"])[1]
  }`,
  published: new Date().toISOString(),
  commit: new TextDecoder().decode(
    new Deno.Command("git", { args: ["rev-parse", "HEAD"], cwd: ROOT, stdout: "piped" }).outputSync().stdout,
  ).trim(),
  experiments: {} as Record<string, unknown>,
};
const walls = new Map(values.wall.map((w) => w.split("=") as [string, string]));
for (const name of positionals) {
  const src = join(values.from, name), dst = join(values.to, name);
  mkdirSync(dst, { recursive: true });
  const plan = readPlan(src);
  const summaries = collectSummaries(plan, src);
  const results = experimentResults(plan, summaries);
  if (results.finished !== results.planned) throw new Error(`${name}: ${results.finished} of ${results.planned} runs`);
  for (const f of ["plan.json", "results.json", "results.vl.json", "results.png"]) {
    copyFileSync(join(src, f), join(dst, f));
  }
  writeFileSync(join(dst, "results.md"), resultsMarkdown(results)); // recomputed: must equal the folder's own
  const lines: string[] = [];
  let trained = 0, shared = 0;
  for (const run of plan.runs) {
    const dir = join(src, "runs", run.id);
    const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
    const from = existsSync(join(dir, "shared.json"))
      ? JSON.parse(readFileSync(join(dir, "shared.json"), "utf8")).from
      : null;
    if (from === null) trained += summary.wallSeconds;
    else shared += summary.wallSeconds;
    const d = existsSync(join(dir, "distributions.jsonl")) ? lastLine(join(dir, "distributions.jsonl")) : null;
    lines.push(JSON.stringify({
      id: run.id,
      row: run.row,
      seed: run.seed,
      sharedFrom: from,
      summary,
      lastEpochDistributions: d && { epoch: d.epoch, js: means(d.js), l1: means(d.l1), auc: d.auc },
    }));
  }
  writeFileSync(join(dst, "runs.jsonl"), lines.join("\n") + "\n");
  (timing.experiments as Record<string, unknown>)[name] = {
    runs: plan.runs.length,
    poolWallSeconds: walls.has(name) ? Number(walls.get(name)) : null,
    trainedRunSeconds: Math.round(trained),
    copiedRunSeconds: Math.round(shared),
  };
}
mkdirSync(join(values.to, "distributions"), { recursive: true });
for (const spec of values.distributions) {
  const [exp, run] = spec.split("/");
  // a folder per run, so that lib/run's readDistributions(dir) reads it as it reads a run folder
  mkdirSync(join(values.to, "distributions", `${exp}-${run}`), { recursive: true });
  copyFileSync(
    join(values.from, exp, "runs", run, "distributions.jsonl"),
    join(values.to, "distributions", `${exp}-${run}`, "distributions.jsonl"),
  );
}
const timingPath = join(values.to, "timing.json");
const old = existsSync(timingPath) ? JSON.parse(readFileSync(timingPath, "utf8")) : { experiments: {} };
timing.experiments = { ...old.experiments, ...(timing.experiments as object) };
writeFileSync(timingPath, JSON.stringify(timing, null, 1) + "\n");
console.log(`published ${positionals.join(", ")} to ${values.to}`);

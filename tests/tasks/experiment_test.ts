/**
 * deno task experiment: a --quick ablation with one seed runs four ordinary runs, a second
 * call reuses them, an interrupted run is resumed or retrained, --emit slurm writes a job
 * array whose task runs one plain `deno task train` (run here with SLURM_ARRAY_TASK_ID set),
 * and --collect summarises what has finished.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { planExperiment } from "../../lib/experiment/plan.ts";
import { shareFinishedRuns, writePlan } from "../../lib/experiment/runner.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

async function experiment(args: string[], env: Record<string, string> = {}) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "tasks/experiment.ts"), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env,
  }).output();
  return { code: r.code, stdout: new TextDecoder().decode(r.stdout), stderr: new TextDecoder().decode(r.stderr) };
}

Deno.test("deno task experiment ablation --quick runs, reuses finished runs, continues an interrupted one, collects, shares", async () => {
  const parent = await Deno.makeTempDir({ prefix: "adadf-exp-" });
  const out = join(parent, "ablation");
  try {
    let r = await experiment(["ablation", "--quick", "--seeds", "1", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(readFileSync(join(out, "plan.json"), "utf8"));
    assert.deepEqual(plan.runs.map((x: { id: string }) => x.id), ["baseline-s1", "class-s1", "label-s1", "adadf-s1"]);
    for (const id of ["baseline-s1", "class-s1", "label-s1", "adadf-s1"]) {
      // each run is an ordinary run folder, trained from its config file
      const cfg = JSON.parse(readFileSync(join(out, "runs", id, "config.json"), "utf8"));
      assert.equal(cfg.mode, id.replace("-s1", ""));
      assert.equal(cfg.seed, 1);
      assert.ok(existsSync(join(out, "runs", id, "summary.json")));
    }
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    assert.equal(results.finished, 4);
    assert.equal(results.rows.length, 4);
    assert.ok(
      results.rows.every((x: { measures: { testAccuracy?: { mean: number } } }) =>
        x.measures.testAccuracy!.mean >= 0 && x.measures.testAccuracy!.mean <= 1
      ),
    );
    assert.match(readFileSync(join(out, "results.md"), "utf8"), /\| Ada-DF \(adaptive fusion\) \| 1 \|/);
    assert.ok(existsSync(join(out, "results.vl.json")) && existsSync(join(out, "results.png")));
    const before = JSON.parse(readFileSync(join(out, "runs", "class-s1", "summary.json"), "utf8"));

    // interrupted: one run lost its summary (but kept its checkpoints), another was never started
    rmSync(join(out, "runs", "label-s1", "summary.json"));
    rmSync(join(out, "runs", "adadf-s1"), { recursive: true });
    r = await experiment(["ablation", "--quick", "--seeds", "1", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /baseline-s1: finished earlier, reused/);
    assert.match(r.stderr, /class-s1: finished earlier, reused/);
    assert.match(r.stderr, /label-s1: resuming/);
    assert.match(r.stderr, /adadf-s1: training/);
    assert.deepEqual(JSON.parse(readFileSync(join(out, "runs", "class-s1", "summary.json"), "utf8")), before);
    assert.ok(existsSync(join(out, "runs", "adadf-s1", "summary.json")));

    // another plan in the same folder is refused
    r = await experiment(["noise", "--quick", "--seeds", "1", "--out", out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*plan\.json holds another plan \(ablation, 4 runs/);

    // --collect reads what is there
    r = await experiment(["ablation", "--collect", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /4 of 4 runs finished/);

    // a sibling experiment copies the runs it shares with this one instead of training them:
    // the noise table's 0 % rows are the ablation's baseline and Ada-DF rows
    const noise = join(parent, "noise");
    const plan2 = planExperiment("noise", { quick: true, seeds: 1 });
    writePlan(plan2, noise);
    const shared = shareFinishedRuns(plan2, noise);
    assert.deepEqual([...shared.keys()].sort(), ["adadf-noise0-s1", "baseline-noise0-s1"]);
    assert.equal(shared.get("adadf-noise0-s1"), "../ablation/runs/adadf-s1");
    for (const [id, src] of [["adadf-noise0-s1", "adadf-s1"], ["baseline-noise0-s1", "baseline-s1"]]) {
      assert.deepEqual(
        readFileSync(join(noise, "runs", id, "summary.json")),
        readFileSync(join(out, "runs", src, "summary.json")),
      );
      assert.equal(JSON.parse(readFileSync(join(noise, "runs", id, "shared.json"), "utf8")).run, src);
    }
    assert.ok(!existsSync(join(noise, "runs", "adadf-noise10-s1")), "a run with noise is not the ablation's");
    assert.equal(shareFinishedRuns(plan2, noise).size, 0, "copied once; then it is this folder's own");
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("deno task experiment --emit slurm writes a job array; one array task trains one run with a plain deno task train", async () => {
  const out = await Deno.makeTempDir({ prefix: "adadf-slurm-" });
  try {
    let r = await experiment(["noise", "--quick", "--seeds", "2", "--emit", "slurm", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const script = readFileSync(join(out, "slurm.sh"), "utf8");
    assert.match(script, /#SBATCH --array=0-15/);
    assert.match(script, /exec "\$DENO" task train --config "\$OUT\/configs\/\$ID\.json" --out "\$RUN"/);
    assert.ok(!existsSync(join(out, "runs", "baseline-noise0-s1", "summary.json")), "nothing runs here");
    // array task 3 = the fourth run of the plan: adadf-noise0-s2
    const task = async () =>
      await new Deno.Command("bash", {
        args: [join(out, "slurm.sh")],
        env: { SLURM_ARRAY_TASK_ID: "3", DENO: Deno.execPath() },
        stdout: "piped",
        stderr: "piped",
      }).output();
    let t = await task();
    assert.equal(t.code, 0, new TextDecoder().decode(t.stderr));
    const summary = JSON.parse(readFileSync(join(out, "runs", "adadf-noise0-s2", "summary.json"), "utf8"));
    assert.equal(summary.mode, "adadf");
    assert.equal(summary.seed, 2);
    t = await task(); // a finished task exits at once
    assert.match(new TextDecoder().decode(t.stdout), /adadf-noise0-s2 is finished/);
    r = await experiment(["noise", "--collect", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 of 16 runs finished/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("deno task experiment: bad usage is one error: line and exit 2", async () => {
  for (
    const [args, pattern] of [
      [[], /name an experiment: ablation, sensitivity, noise/],
      [["tables"], /unknown experiment 'tables'/],
      [["ablation", "--seeds", "0"], /--seeds expects an integer >= 1, got '0'/],
      [["ablation", "--emit", "pbs"], /--emit expects slurm, got 'pbs'/],
      [["ablation", "--dataset", "raf-db"], /needs --data-path DIR/],
      [["ablation", "--collect", "--out", "/nonexistent/x"], /--collect: \/nonexistent\/x holds no experiment/],
    ] as [string[], RegExp][]
  ) {
    const r = await experiment(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^error: /);
    assert.match(lines[0], pattern);
  }
});

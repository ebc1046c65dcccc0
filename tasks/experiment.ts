/** `deno task experiment`: the paper's Tables 1, 2 and 4 as plans of ordinary runs. See --help. */
import { join, resolve } from "node:path";
import { numberFlag, parseFlags, runTask, UsageError } from "./_cli.ts";
import { ConfigError } from "../lib/config.ts";
import { flagOptions, flagsToLayer, helpText, pickFlags } from "../lib/config/flags.ts";
import { EXPERIMENT_TABLE, type ExperimentName, EXPERIMENTS, planExperiment } from "../lib/experiment/plan.ts";

/** The data set flags a plan's runs share (the same as train's), and the experiment's own. */
export const EXPERIMENT_FLAGS = pickFlags([
  "dataset",
  "data-path",
  "cache",
  "affectnet-classes",
  "backend",
  "quick",
  "seeds",
  "jobs",
  "emit",
  "collect",
  "out",
  "help",
], {
  quick: {
    kind: "switch",
    help: "a small configuration (SynthFER 280 + 140 faces at 32x32, width 4, 4 epochs): the whole\n" +
      "experiment in a few minutes on 2 cores, for CI and a classroom; not the method's effect",
  },
  seeds: { kind: "integer", value: "K", help: "seeds 1..K of every row (default 3)" },
  jobs: {
    kind: "integer",
    value: "N",
    help: "runs at once on this machine (default 1); each gets its share of the cores",
  },
  emit: {
    kind: "string",
    value: "slurm",
    help: "write DIR/slurm.sh, a Slurm job array (one array task per run, each a plain\n" +
      "'deno task train --config ...'), and run nothing here",
  },
  collect: { kind: "switch", help: "summarise the finished runs only (results.json, .md, .vl.json)" },
  out: {
    kind: "string",
    value: "DIR",
    path: undefined, // the experiment's folder, not the runs' (each run's is DIR/runs/RUN)
    help: "the experiment folder (default runs/experiments/NAME[-quick])",
  },
});

const HELP = helpText({
  title: "Reproduce one of the paper's tables as a plan of ordinary training runs.",
  usage: "deno task experiment ablation|sensitivity|noise [flags]",
  flags: EXPERIMENT_FLAGS,
  notes: [
    ...EXPERIMENTS.map((e) =>
      `  ${e.padEnd(12)} ${EXPERIMENT_TABLE[e]}: ${
        {
          ablation: "baseline (plain ResNet, CE), y + d_class, y + d_label, Ada-DF",
          sensitivity: "w_min 0..0.4, t 0.4..0.8, beta 1..9, one at a time around the defaults",
          noise: "symmetric label noise 0/10/20/30 %, baseline vs Ada-DF",
        }[e]
      }`
    ),
    "",
    "Each run is an ordinary run folder under DIR/runs; a finished run is reused and an",
    "interrupted one resumed, so running the same command again continues the experiment.",
    "A run that an experiment folder beside DIR has finished with the same configuration and",
    "seed (the default Ada-DF run is in all three tables) is copied from there, not retrained.",
  ].join("\n"),
});

async function main(args: string[]) {
  const parsed = parseFlags(args, flagOptions(EXPERIMENT_FLAGS));
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) return console.log(HELP);
  const [name, ...rest] = parsed.positionals;
  if (name === undefined) throw new UsageError(`name an experiment: ${EXPERIMENTS.join(", ")} (see --help)`);
  if (!(EXPERIMENTS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown experiment '${name}'; expected one of ${EXPERIMENTS.join(", ")}`);
  }
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}' (see --help)`);
  if (v.emit !== undefined && v.emit !== "slurm") throw new UsageError(`--emit expects slurm, got '${v.emit}'`);
  if (v.emit !== undefined && v.collect) throw new UsageError("give --emit slurm or --collect, not both");
  const num = (flag: string) => {
    const n = numberFlag(flag, v[flag] as string | undefined, true); // the flag table's integer reader
    if (n !== undefined && n < 1) throw new UsageError(`--${flag} expects an integer >= 1, got '${v[flag]}'`);
    return n;
  };
  const seeds = num("seeds");
  const jobs = num("jobs") ?? 1;
  const quick = v.quick === true;
  let plan;
  try {
    const base = flagsToLayer(EXPERIMENT_FLAGS, v);
    plan = planExperiment(name as ExperimentName, { seeds, quick, base });
  } catch (e) {
    if (e instanceof ConfigError || e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  const out = resolve((v.out as string | undefined) ?? join("runs", "experiments", `${name}${quick ? "-quick" : ""}`));

  // the implementation is imported lazily, so --help and usage errors are instant
  const runner = await import("../lib/experiment/runner.ts");
  const results = await import("../lib/experiment/results.ts");
  const { writeFileAtomic } = await import("../lib/util/files.ts");
  if (!v.collect) runner.writePlan(plan, out);
  else {
    try {
      plan = runner.readPlan(out);
    } catch (e) {
      throw new UsageError(`--collect: ${out} holds no experiment (${(e as Error).message.split("\n")[0]})`);
    }
    if (plan.experiment !== name || !Array.isArray(plan.runs) || !Array.isArray(plan.rows)) {
      throw new UsageError(`--collect: ${out} holds the experiment '${String(plan.experiment)}', not '${name}'`);
    }
  }

  if (v.emit === "slurm") {
    const path = join(out, "slurm.sh");
    writeFileAtomic(path, runner.slurmScript(plan, out));
    await Deno.chmod(path, 0o755);
    console.log(
      `wrote ${path}: ${plan.runs.length} array tasks (${plan.rows.length} rows x ${plan.seeds.length} seeds)\n` +
        `submit: sbatch ${path}\nthen:   deno task experiment ${name} --collect --out ${out}`,
    );
    return;
  }

  if (!v.collect) {
    const total = plan.runs.length;
    let finished = 0;
    let stopping = false;
    const onSignal = () => {
      if (stopping) Deno.exit(130);
      stopping = true;
      console.error("stopping: the running runs stop after their current step (the same command resumes them)");
    };
    Deno.addSignalListener("SIGINT", onSignal);
    const t0 = performance.now();
    console.error(
      `${name}: ${total} runs (${plan.rows.length} rows x ${plan.seeds.length} seeds) in ${out}, ${jobs} at a time`,
    );
    const failed = await runner.runLocal(plan, out, {
      jobs,
      shouldStop: () => stopping,
      onEvent: (e) => {
        if (e.type === "reused") {
          finished++;
          console.error(`[${finished}/${total}] ${e.run.id}: finished earlier, reused`);
        } else if (e.type === "shared") {
          finished++;
          console.error(`[${finished}/${total}] ${e.run.id}: the same run finished in ${e.from}; copied`);
        } else if (e.type === "start") {
          console.error(`      ${e.run.id}: ${e.resume ? "resuming" : "training"} (${e.running} running)`);
        } else if (e.type === "done") {
          finished++;
          console.error(
            `[${finished}/${total}] ${e.run.id}: test ${(100 * e.summary.testAccuracy).toFixed(1)} % ` +
              `(${e.seconds.toFixed(0)} s)`,
          );
        } else if (e.type === "interrupted") {
          console.error(`      ${e.run.id}: interrupted; it resumes from its checkpoint next time`);
        } else {
          console.error(`      ${e.run.id}: failed (exit ${e.code}); see ${e.log}`);
        }
      },
    });
    Deno.removeSignalListener("SIGINT", onSignal);
    console.error(`${((performance.now() - t0) / 1000).toFixed(0)} s`);
    if (stopping) {
      await writeResults();
      console.error(`interrupted: run the same command again to continue`);
      Deno.exit(130);
    }
    if (failed.length) {
      await writeResults();
      throw new Error(`${failed.length} run(s) failed: ${failed.join(", ")} (their logs are in ${join(out, "logs")})`);
    }
  }
  await writeResults();

  async function writeResults() {
    const r = results.experimentResults(plan!, runner.collectSummaries(plan!, out));
    const md = results.resultsMarkdown(r);
    const spec = results.resultsChart(r);
    writeFileAtomic(join(out, "results.json"), JSON.stringify(r, null, 1) + "\n");
    writeFileAtomic(join(out, "results.md"), md);
    writeFileAtomic(join(out, "results.vl.json"), JSON.stringify(spec, null, 1) + "\n");
    if (r.finished > 0) {
      const { renderFigure } = await import("../lib/viz/render.ts");
      const fig = await renderFigure(spec);
      writeFileAtomic(join(out, "results.svg"), fig.svg);
      writeFileAtomic(join(out, "results.png"), fig.png);
    }
    console.log(md);
    console.log(`results: ${join(out, "results.json")}, results.md, results.vl.json`);
  }
}

if (import.meta.main) await runTask(main);

/**
 * `deno task compare`: Ada-DF against `--mode baseline` (or any modes) over several seeds on
 * the same data and epochs; prints mean and standard deviation of the final test accuracy
 * (and against the true distributions' argmax) and the time per run. Each run is a
 * `deno task train` subprocess writing its own run folder.
 */
import { join } from "node:path";
import { numberFlag, parseFlags, runTask, UsageError } from "./_cli.ts";
import { MODES } from "../lib/config.ts";
import { parseTrainArgs } from "./train.ts";

const HELP = `Compare modes over seeds (README's Ada-DF vs baseline table).

Usage: deno task compare [--seeds 1,2,3] [--modes adadf,baseline] [--parallel N] [--out DIR] [-- train flags...]

  --seeds LIST     training seeds (default 1,2,3); the data set is the same for all
  --modes LIST     modes to compare, of ${MODES.join(", ")} (default adadf,baseline)
  --parallel N     runs at once (default 1; the wasm backend uses one core per run,
                   but parallel runs slow each other, so times are only comparable at 1)
  --out DIR        folder for the runs and compare.json (default runs/compare-<time>)
  Flags after -- go to every 'deno task train' run (e.g. -- --epochs 20); they are
  checked first, as train checks them (deno task train --help).`;

interface RunResult {
  mode: string;
  seed: number;
  testAccuracy: number;
  testAccuracyTrue?: number;
  bestTestAccuracy: number;
  wallSeconds: number;
}

function meanStd(xs: number[]) {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1) : 0;
  return { mean: m, std: Math.sqrt(v) };
}

async function main(args: string[]) {
  const dd = args.indexOf("--");
  const own = dd >= 0 ? args.slice(0, dd) : args;
  const trainFlags = dd >= 0 ? args.slice(dd + 1) : [];
  const { values, positionals } = parseFlags(own, {
    seeds: { type: "string" },
    modes: { type: "string" },
    parallel: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return console.log(HELP);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (train flags go after --)`);
  const seeds = (values.seeds ?? "1,2,3").split(",").map((s) => numberFlag("seeds", s, true)!);
  const modes = (values.modes ?? "adadf,baseline").split(",");
  for (const m of modes) {
    if (!(MODES as readonly string[]).includes(m)) throw new UsageError(`--modes: unknown mode '${m}'`);
  }
  const parallel = numberFlag("parallel", values.parallel ?? "1", true)!;
  if (parallel < 1) throw new UsageError(`--parallel must be >= 1, got ${parallel}`);
  const out = values.out ?? join("runs", `compare-${new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19)}`);
  const jobs = modes.flatMap((mode) => seeds.map((seed) => ({ mode, seed })));
  // every run's flags resolved as train resolves them, so that a bad one is one error: line now
  for (const { mode, seed } of jobs) {
    parseTrainArgs(["--mode", mode, "--seed", String(seed), "--out", join(out, `${mode}-s${seed}`), ...trainFlags]);
  }
  const results: RunResult[] = [];
  const train = new URL("./train.ts", import.meta.url).pathname;
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { mode, seed } = jobs[next++];
      const dir = join(out, `${mode}-s${seed}`);
      console.error(`running ${mode} seed ${seed} -> ${dir}`);
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--v8-flags=--expose-gc",
          train,
          "--quiet",
          "--mode",
          mode,
          "--seed",
          String(seed),
          "--out",
          dir,
          ...trainFlags,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      if (!r.success) throw new Error(`deno task train --mode ${mode} --seed ${seed} failed (exit ${r.code})`);
      const s = JSON.parse(await Deno.readTextFile(join(dir, "summary.json")));
      results.push({ mode, seed, ...s });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const table = modes.map((mode) => {
    const rs = results.filter((r) => r.mode === mode);
    return {
      mode,
      runs: rs.length,
      testAccuracy: meanStd(rs.map((r) => r.testAccuracy)),
      testAccuracyTrue: rs.every((r) => r.testAccuracyTrue !== undefined)
        ? meanStd(rs.map((r) => r.testAccuracyTrue!))
        : undefined,
      bestTestAccuracy: meanStd(rs.map((r) => r.bestTestAccuracy)),
      wallSeconds: meanStd(rs.map((r) => r.wallSeconds)),
    };
  });
  await Deno.writeTextFile(
    join(out, "compare.json"),
    JSON.stringify({ seeds, trainFlags, table, results }, null, 2) + "\n",
  );
  const pct = (x: { mean: number; std: number } | undefined) =>
    x ? `${(100 * x.mean).toFixed(1)} ± ${(100 * x.std).toFixed(1)}` : "-";
  console.log(`| mode | test accuracy % (last epoch) | vs true argmax % | best epoch's % | seconds per run |`);
  console.log(`| --- | --- | --- | --- | --- |`);
  for (const t of table) {
    console.log(
      `| ${t.mode} | ${pct(t.testAccuracy)} | ${pct(t.testAccuracyTrue)} | ${pct(t.bestTestAccuracy)} | ${
        t.wallSeconds.mean.toFixed(0)
      } ± ${t.wallSeconds.std.toFixed(0)} |`,
    );
  }
  console.log(
    `(${seeds.length} seeds: ${seeds.join(", ")}; mean ± sample standard deviation; ${join(out, "compare.json")})`,
  );
}

if (import.meta.main) await runTask(main);

/**
 * Running an experiment: the plan file, one ordinary run folder per run, a local pool of
 * `deno task train` processes, the Slurm job-array script for a cluster, and collecting
 * whatever has finished. An experiment folder holds:
 *
 *   plan.json             the experiment, its rows and runs
 *   configs/<run>.json    each run's configuration layer (`deno task train --config`)
 *   runs/<run>/           each run's ordinary run folder
 *   logs/<run>.log        each local run's output
 *   slurm.sh              with `--emit slurm`: one array task per run
 *   results.json, results.md, results.vl.json (+ .svg, .png)   from `--collect` and after a local run
 *
 * A run whose folder has `summary.json` is finished and reused; one with a checkpoint is
 * resumed (`deno task train --resume`); anything else starts afresh. So an interrupted
 * experiment continues where it stopped, locally or on a cluster. A run that a sibling
 * experiment (another folder beside this one, e.g. `runs/experiments/ablation` beside
 * `runs/experiments/noise`) has already finished with the same configuration and seed is
 * copied from there rather than trained again (its folder then holds `shared.json`).
 * @module
 */
import {
  closeSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadLatestCheckpoint } from "../run/checkpoint.ts";
import { readJsonFileSync, writeFileAtomic } from "../util/files.ts";
import { resolveConfig } from "../config.ts";
import type { ExperimentPlan, PlannedRun } from "./plan.ts";
import type { RunSummaryLike } from "./results.ts";

/** The repository's root (where deno.json and tasks/ are). */
export const REPO_ROOT: string = fileURLToPath(new URL("../..", import.meta.url));

/** The repository's experiment folder for `name` (`<repo>/runs/experiments/<name>`): where notebooks keep theirs. */
export function experimentDir(name: string): string {
  return join(REPO_ROOT, "runs", "experiments", name);
}

/** The paths of one run inside an experiment folder. */
export function runPaths(out: string, run: PlannedRun): { config: string; dir: string; log: string } {
  return {
    config: join(out, "configs", `${run.id}.json`),
    dir: join(out, "runs", run.id),
    log: join(out, "logs", `${run.id}.log`),
  };
}

/** A plan file that does not match the plan asked for; the message says what differs. */
export class PlanMismatchError extends RangeError {
  override name = "PlanMismatchError";
}

/**
 * Writes `plan.json` and every run's config into `out` (created). An existing `plan.json`
 * must describe the same runs with the same configurations (an experiment continues in its
 * own folder); otherwise a `PlanMismatchError` says which run differs.
 */
export function writePlan(plan: ExperimentPlan, out: string): void {
  const planPath = join(out, "plan.json");
  if (existsSync(planPath)) {
    const old = readJsonFileSync(planPath, { what: "plan file" }) as Partial<ExperimentPlan>;
    const key = (p: Partial<ExperimentPlan>) =>
      JSON.stringify({ experiment: p.experiment, runs: (p.runs ?? []).map((r) => [r.id, r.layer]) });
    if (key(old) !== key(plan)) {
      const oldRuns = new Map((old.runs ?? []).map((r) => [r.id, JSON.stringify(r.layer)]));
      const diff = plan.runs.find((r) => oldRuns.get(r.id) !== JSON.stringify(r.layer));
      throw new PlanMismatchError(
        `${planPath} holds another plan (${old.experiment}, ${old.runs?.length ?? 0} runs` +
          `${diff ? `; run ${diff.id} differs` : ""}): continue it with the same flags, or give another --out`,
      );
    }
  }
  for (const sub of ["configs", "runs", "logs"]) mkdirSync(join(out, sub), { recursive: true });
  writeFileAtomic(planPath, JSON.stringify(plan, null, 1) + "\n");
  for (const run of plan.runs) {
    writeFileAtomic(runPaths(out, run).config, JSON.stringify(run.layer, null, 1) + "\n");
  }
}

/** Reads an experiment folder's plan. */
export function readPlan(out: string): ExperimentPlan {
  return readJsonFileSync(join(out, "plan.json"), { what: "plan file" }) as ExperimentPlan;
}

/** Where a run stands: finished (has summary.json), resumable (has a checkpoint), or not started. */
export function runStatus(out: string, run: PlannedRun): "done" | "resume" | "new" {
  const { dir } = runPaths(out, run);
  if (existsSync(join(dir, "summary.json"))) return "done";
  // resumable only from a checkpoint that verifies (a folder whose checkpoints are all broken starts afresh)
  if (existsSync(join(dir, "checkpoints")) && loadLatestCheckpoint(dir).checkpoint !== undefined) return "resume";
  return "new";
}

/** The `deno task train` arguments of a run: a resume, or a fresh start from its config. */
export function trainArgs(out: string, run: PlannedRun): string[] {
  const { config, dir } = runPaths(out, run);
  return runStatus(out, run) === "resume" ? ["--resume", dir] : ["--config", config, "--out", dir];
}

/** The summaries of the finished runs, by run id. */
export function collectSummaries(plan: ExperimentPlan, out: string): Map<string, RunSummaryLike> {
  const found = new Map<string, RunSummaryLike>();
  for (const run of plan.runs) {
    const path = join(runPaths(out, run).dir, "summary.json");
    if (existsSync(path)) found.set(run.id, readJsonFileSync(path, { what: "summary" }) as RunSummaryLike);
  }
  return found;
}

/** What the local pool reports. */
export type PoolEvent =
  | { type: "start"; run: PlannedRun; resume: boolean; running: number }
  | { type: "done"; run: PlannedRun; seconds: number; summary: RunSummaryLike }
  | { type: "failed"; run: PlannedRun; code: number; log: string }
  /** stopped by Ctrl-C (it reaches the runs too): it resumes from its checkpoint next time */
  | { type: "interrupted"; run: PlannedRun }
  | { type: "reused"; run: PlannedRun }
  /** finished earlier by a sibling experiment with the same configuration: copied from `from` */
  | { type: "shared"; run: PlannedRun; from: string };

/** Options of {@linkcode runLocal}. */
export interface LocalOptions {
  /** runs at once (default 1); each gets its share of the cores (XNNPACK and OpenBLAS threads) */
  jobs?: number;
  onEvent?: (e: PoolEvent) => void;
  /** checked before each start: true stops starting new runs (running ones finish) */
  shouldStop?: () => boolean;
}

/**
 * Runs every unfinished run of the plan, `jobs` at a time, each a `deno task train` process
 * writing its run folder and its log. Returns the ids of the runs that failed.
 */
export async function runLocal(plan: ExperimentPlan, out: string, options: LocalOptions = {}): Promise<string[]> {
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new RangeError(`jobs must be an integer >= 1, got ${jobs}`);
  const release = lockExperiment(out);
  try {
    return await runPool(plan, out, jobs, options);
  } finally {
    release();
  }
}

/** Another local pool already runs the experiment in this folder (its pid is alive). */
export class ExperimentBusyError extends RangeError {
  override name = "ExperimentBusyError";
}

/**
 * Takes the experiment folder's lock (`.experiment.lock`, created exclusively, holding the
 * pid): two local pools on one folder would both start a new run and delete each other's
 * folders. A lock whose process is gone is taken over. Returns the release function.
 */
export function lockExperiment(out: string): () => void {
  const path = join(out, ".experiment.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(Deno.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw e;
      const pid = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== Deno.pid && processAlive(pid)) {
        throw new ExperimentBusyError(`${out} is being run by another deno task experiment (pid ${pid})`);
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new ExperimentBusyError(`${out}: could not take the experiment's lock`);
}

function processAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT"); // signal 0 is not offered; SIGCONT is harmless to a running process
    return true;
  } catch {
    return false;
  }
}

async function runPool(plan: ExperimentPlan, out: string, jobs: number, options: LocalOptions): Promise<string[]> {
  const cores = navigator.hardwareConcurrency || 1;
  const threads = String(Math.max(1, Math.floor(cores / jobs)));
  const queue: PlannedRun[] = [];
  const shared = shareFinishedRuns(plan, out);
  for (const run of plan.runs) {
    const from = shared.get(run.id);
    if (from !== undefined) options.onEvent?.({ type: "shared", run, from });
    else if (runStatus(out, run) === "done") options.onEvent?.({ type: "reused", run });
    else queue.push(run);
  }
  const failed: string[] = [];
  let running = 0;
  const one = async (run: PlannedRun) => {
    const paths = runPaths(out, run);
    let log: Deno.FsFile | undefined;
    let started = false;
    try {
      const status = runStatus(out, run);
      // a folder without a usable checkpoint (it died before its first epoch): start afresh
      if (status === "new" && existsSync(paths.dir)) rmSync(paths.dir, { recursive: true, force: true });
      const args = trainArgs(out, run);
      running++;
      started = true;
      options.onEvent?.({ type: "start", run, resume: status === "resume", running });
      const t0 = performance.now();
      log = await Deno.open(paths.log, { write: true, create: true, append: true });
      await log.write(new TextEncoder().encode(`--- ${new Date().toISOString()} deno task train ${args.join(" ")}\n`));
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--v8-flags=--expose-gc", join(REPO_ROOT, "tasks", "train.ts"), ...args, "--quiet"],
        cwd: REPO_ROOT,
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
        env: jobs > 1 ? { ADADF_WASM_THREADS: threads, OPENBLAS_NUM_THREADS: threads } : {},
      }).spawn();
      const sink = log;
      const pipes = [child.stdout, child.stderr].map((s) =>
        s.pipeTo(new WritableStream({ write: (chunk) => writeAll(sink, chunk) }), { preventClose: true })
      );
      const { code } = await child.status;
      await Promise.all(pipes);
      const summary = join(paths.dir, "summary.json");
      if (code === 0 && existsSync(summary)) {
        options.onEvent?.({
          type: "done",
          run,
          seconds: (performance.now() - t0) / 1000,
          summary: readJsonFileSync(summary, { what: "summary" }) as RunSummaryLike,
        });
      } else if (code === 130 && options.shouldStop?.()) {
        options.onEvent?.({ type: "interrupted", run });
      } else {
        failed.push(run.id);
        options.onEvent?.({ type: "failed", run, code, log: paths.log });
      }
    } catch (e) {
      // a run that cannot even start (its log, its folder) fails alone; the others go on
      failed.push(run.id);
      options.onEvent?.({
        type: "failed",
        run,
        code: -1,
        log: `${paths.log} (${(e as Error).message.split("\n")[0]})`,
      });
    } finally {
      log?.close();
      if (started) running--;
    }
  };
  const workers = Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    while (queue.length > 0 && !options.shouldStop?.()) await one(queue.shift()!);
  });
  await Promise.all(workers);
  return failed;
}

/** A run's whole configuration as a comparable string (the layer resolved over the defaults). */
function configKey(layer: PlannedRun["layer"]): string | undefined {
  try {
    return JSON.stringify(resolveConfig(layer));
  } catch {
    return undefined; // a sibling's plan from another version of the toolkit: not comparable
  }
}

/**
 * Copies into `out` every run of the plan that is not started here but that a sibling
 * experiment folder (a folder beside `out` holding a `plan.json`) has finished with the same
 * resolved configuration, seed included: the default Ada-DF run of the ablation is the
 * sensitivity sweep's default row and the noise table's 0 % row. The copy gets `shared.json`
 * (where it came from). Returns the copied runs' ids and their sources.
 */
export function shareFinishedRuns(plan: ExperimentPlan, out: string): Map<string, string> {
  const copied = new Map<string, string>();
  const parent = dirname(resolve(out));
  const wanted = new Map<string, PlannedRun>();
  for (const run of plan.runs) {
    const { dir } = runPaths(out, run);
    if (existsSync(dir)) continue; // started or finished here: this folder's own
    const key = configKey(run.layer);
    if (key !== undefined) wanted.set(key, run);
  }
  if (wanted.size === 0 || !existsSync(parent)) return copied;
  for (const name of readdirSync(parent).sort()) {
    const sibling = join(parent, name);
    if (sibling === resolve(out) || !existsSync(join(sibling, "plan.json"))) continue;
    let other: ExperimentPlan;
    try {
      other = readPlan(sibling);
    } catch {
      continue; // a broken plan elsewhere is that experiment's concern
    }
    for (const run of Array.isArray(other.runs) ? other.runs : []) {
      const key = configKey(run.layer);
      const mine = key === undefined ? undefined : wanted.get(key);
      const src = runPaths(sibling, run).dir;
      if (mine === undefined || !existsSync(join(src, "summary.json"))) continue;
      const dst = runPaths(out, mine).dir;
      const tmp = join(dirname(dst), `.${basename(dst)}.copying-${Deno.pid}`);
      rmSync(tmp, { recursive: true, force: true });
      copyTree(src, tmp);
      writeFileAtomic(
        join(tmp, "shared.json"),
        JSON.stringify({ from: relative(resolve(out), src), run: run.id, copied: new Date().toISOString() }, null, 1) +
          "\n",
      );
      renameSync(tmp, dst); // whole or not at all
      copied.set(mine.id, relative(resolve(out), src));
      wanted.delete(key!);
    }
  }
  return copied;
}

/** Copies a run folder: its directories and regular files (nothing else is followed). */
function copyTree(src: string, dst: string): void {
  mkdirSync(dst, { recursive: true });
  for (const name of readdirSync(src)) {
    const from = join(src, name);
    const st = lstatSync(from);
    if (st.isDirectory()) copyTree(from, join(dst, name));
    else if (st.isFile()) copyFileSync(from, join(dst, name));
  }
}

/**
 * A Slurm job-array script: array task i trains run i of the plan with a plain
 * `deno task train --config ...` (or resumes it, or exits when it is finished). Submit it
 * with `sbatch slurm.sh`; collect with `deno task experiment NAME --collect --out DIR`.
 * `DENO` overrides the deno command (default `deno`).
 */
export function slurmScript(plan: ExperimentPlan, out: string, options: { cpusPerTask?: number } = {}): string {
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const abs = resolve(out);
  const ids = plan.runs.map((r) => r.id);
  return [
    "#!/usr/bin/env bash",
    `#SBATCH --job-name=adadf-${plan.experiment}`,
    `#SBATCH --array=0-${ids.length - 1}`,
    `#SBATCH --cpus-per-task=${options.cpusPerTask ?? 2}`,
    `#SBATCH --output="${join(abs, "logs", "slurm-%A_%a.log")}"`,
    `# ${plan.experiment}: ${ids.length} runs (${plan.rows.length} rows x ${plan.seeds.length} seeds); the plan is`,
    `# ${join(abs, "plan.json")}. Collect: deno task experiment ${plan.experiment} --collect --out ${abs}`,
    "set -euo pipefail",
    `OUT=${q(abs)}`,
    `cd ${q(REPO_ROOT)}`,
    `IDS=(${ids.map(q).join(" ")})`,
    `ID="\${IDS[\${SLURM_ARRAY_TASK_ID:?set by Slurm: the array task index}]}"`,
    `DENO="\${DENO:-deno}"`,
    `export ADADF_WASM_THREADS="\${SLURM_CPUS_PER_TASK:-${options.cpusPerTask ?? 2}}"`,
    `export OPENBLAS_NUM_THREADS="\${ADADF_WASM_THREADS}"`,
    `RUN="$OUT/runs/$ID"`,
    `if [ -f "$RUN/summary.json" ]; then echo "$ID is finished"; exit 0; fi`,
    `if ls "$RUN"/checkpoints/*.safetensors >/dev/null 2>&1; then exec "$DENO" task train --resume "$RUN" --quiet; fi`,
    `rm -rf "$RUN"`,
    `exec "$DENO" task train --config "$OUT/configs/$ID.json" --out "$RUN" --quiet`,
    "",
  ].join("\n");
}

/** Writes every byte of `chunk` (a single write may take only part of it). */
async function writeAll(file: Deno.FsFile, chunk: Uint8Array): Promise<void> {
  for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
}

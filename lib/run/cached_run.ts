/**
 * Training runs created once and shared: the notebooks (and anything else that only needs
 * *a* finished run of a configuration) ask {@linkcode cachedRun} for a run folder; the first
 * caller trains it, later callers get the same folder back at once.
 *
 * Layout under the cache root (default `<repo>/runs/cache`):
 *   <mode>-<hash12>/          a finished run (has summary.json with all epochs)
 *   <mode>-<hash12>.partial/  a run being trained, or one a killed process left behind
 *   <mode>-<hash12>.lock      held while a process trains; holds its pid, host and start time
 *
 * The hash is SHA-256 of the configuration as JSON with sorted keys (`out` left out) and
 * {@linkcode CACHE_FORMAT}. A finished run is renamed from `.partial` to its final name in
 * one step, so a reader never sees a half-written run under the final name.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NOTEBOOK_LAYER, resolveConfig, type TrainConfig, validateConfig } from "../config.ts";
import { resumeTraining, type RunOptions, runTraining } from "./training_run.ts";

/** Bump when the run folder format or the training changes so much that old cached runs must not be reused. */
export const CACHE_FORMAT = 1;

/** The default cache folder, `<repo>/runs/cache`, resolved from this file (not from the working directory). */
export const DEFAULT_CACHE_ROOT: string = fileURLToPath(new URL("../../runs/cache/", import.meta.url));

/** The notebooks' configuration layer; its values live with the other presets in lib/config/presets.ts. */
export { NOTEBOOK_LAYER };

/** {@linkcode NOTEBOOK_LAYER} resolved over the defaults and SynthFER's preset. */
export const NOTEBOOK_PRESET: TrainConfig = resolveConfig(NOTEBOOK_LAYER);

/** Options of {@linkcode cachedRun}. */
export interface CachedRunOptions {
  /** where runs are cached (default {@linkcode DEFAULT_CACHE_ROOT}, `<repo>/runs/cache`) */
  cacheRoot?: string;
  /** training progress, as `runTraining` reports it; plus `log` lines about the cache */
  onEvent?: RunOptions["onEvent"];
  /** how long to wait for another process that trains the same configuration (default 1 hour) */
  waitTimeoutMs?: number;
  /** a lock not touched for this long is taken over (default 10 minutes; a training touches it every step) */
  staleLockMs?: number;
}

/** The result of {@linkcode cachedRun}: the run folder and whether it already existed. */
export interface CachedRun {
  /** absolute path of the finished run folder */
  dir: string;
  /** true: the folder was there (or another process finished it while we waited); false: this call trained it */
  reused: boolean;
}

function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/**
 * The cache key of a configuration: `<mode>-<first 12 hex digits of SHA-256>` of the
 * configuration as sorted-key JSON without `out`, together with {@linkcode CACHE_FORMAT}.
 */
export function cacheKey(cfg: TrainConfig): string {
  const { out: _out, ...rest } = cfg;
  const hash = createHash("sha256").update(sortedJson({ format: CACHE_FORMAT, config: rest })).digest("hex");
  return `${cfg.mode}-${hash.slice(0, 12)}`;
}

/** True when `dir` holds a finished run of `epochs` epochs. */
function isComplete(dir: string, epochs: number): boolean {
  try {
    const s = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
    return s.epochsCompleted === epochs;
  } catch {
    return false;
  }
}

interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

/** Whether the process that wrote a lock is gone (same host, Linux /proc) or the lock went stale. */
function lockIsDead(path: string, staleMs: number): boolean {
  let info: LockInfo;
  let mtime: number;
  try {
    info = JSON.parse(readFileSync(path, "utf8"));
    mtime = statSync(path).mtimeMs;
  } catch {
    return !existsSync(path) ? true : false; // a lock being written: not dead yet
  }
  if (Date.now() - mtime > staleMs) return true;
  if (info.host === hostname() && existsSync("/proc/self") && !existsSync(`/proc/${info.pid}`)) return true;
  return false;
}

/** Creates the lock file exclusively; false when another process holds it. */
function tryLock(path: string): boolean {
  try {
    const f = Deno.openSync(path, { write: true, createNew: true });
    const info: LockInfo = { pid: Deno.pid, host: hostname(), started: new Date().toISOString() };
    f.writeSync(new TextEncoder().encode(JSON.stringify(info) + "\n"));
    f.close();
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw e;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A finished run folder of `cfg`, trained on first use and reused afterwards.
 *
 * - A finished run (`summary.json` with `epochsCompleted == cfg.epochs`) is returned as is.
 * - A `.partial` folder left by a killed process is resumed from its newest checkpoint
 *   (`resumeTraining`); when it has no usable checkpoint it is removed and the run redone.
 * - While another process trains the same configuration (its `.lock` exists and is alive),
 *   this call waits for it and returns its folder with `reused: true`.
 *
 * @param cfg a resolved configuration (`resolveConfig(...)`, e.g. {@linkcode NOTEBOOK_PRESET})
 * @throws {RangeError} (a `ConfigError`) when cfg is not a valid configuration
 * @throws {Error} when waiting for another process runs past `waitTimeoutMs`
 */
export async function cachedRun(cfg: TrainConfig, options: CachedRunOptions = {}): Promise<CachedRun> {
  validateConfig(cfg);
  const root = resolve(options.cacheRoot ?? DEFAULT_CACHE_ROOT);
  const key = cacheKey(cfg);
  const dir = join(root, key);
  const partial = `${dir}.partial`;
  const lock = `${dir}.lock`;
  const log = (message: string) => options.onEvent?.({ type: "log", message });
  const waitTimeout = options.waitTimeoutMs ?? 3_600_000;
  const staleMs = options.staleLockMs ?? 600_000;

  if (isComplete(dir, cfg.epochs)) {
    log(`cache: reusing ${dir}`);
    return { dir, reused: true };
  }
  mkdirSync(root, { recursive: true });
  const t0 = Date.now();
  let waited = false;
  while (!tryLock(lock)) {
    if (isComplete(dir, cfg.epochs)) return { dir, reused: true };
    if (lockIsDead(lock, staleMs)) {
      log(`cache: taking over the lock ${lock} of a process that is gone`);
      rmSync(lock, { force: true });
      continue;
    }
    if (!waited) log(`cache: another process is training ${key}; waiting for it`);
    waited = true;
    if (Date.now() - t0 > waitTimeout) {
      throw new Error(`cache: waited ${Math.round(waitTimeout / 1000)} s for ${lock} to be released; is it stale?`);
    }
    await sleep(1000);
  }
  try {
    if (isComplete(dir, cfg.epochs)) return { dir, reused: true }; // finished while we took the lock
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true }); // incomplete under the final name: redo
    let lastTouch = 0;
    const onEvent: RunOptions["onEvent"] = (e) => {
      const now = Date.now();
      if (now - lastTouch > 5000) {
        lastTouch = now;
        try {
          utimesSync(lock, now / 1000, now / 1000);
        } catch { /* the lock was taken over; training goes on */ }
      }
      options.onEvent?.(e);
    };
    let resumed = isComplete(partial, cfg.epochs); // killed between its last write and the rename
    if (existsSync(partial) && !resumed) {
      try {
        log(`cache: resuming the interrupted run ${partial}`);
        await resumeTraining(partial, { onEvent });
        resumed = true;
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        log(`cache: cannot resume (${e.message}); starting over`);
      }
    }
    if (!resumed) {
      rmSync(partial, { recursive: true, force: true });
      log(`cache: training ${key} into ${dir}`);
      await runTraining(cfg, partial, { onEvent });
    }
    if (!isComplete(partial, cfg.epochs)) {
      throw new Error(`cache: the run in ${partial} finished without ${cfg.epochs} epochs in summary.json`);
    }
    renameSync(partial, dir);
    return { dir, reused: false };
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Where {@linkcode cachedRunWithProgress} shows its progress: a notebook display it updates, or text lines. */
export interface ProgressSink {
  /** shows `text`, replacing what this sink showed before */
  show(text: string): void;
}

/**
 * The progress sink of a notebook (one output that updates in place, Deno's Jupyter kernel),
 * or, outside a notebook, lines on stderr (epochs only).
 */
export function notebookProgress(): ProgressSink {
  const jupyter = (Deno as unknown as {
    jupyter?: { display(b: Record<string, string>, o: { raw: boolean; display_id: string; update: boolean }): void };
  }).jupyter;
  if (jupyter === undefined) {
    let printed = 0;
    return {
      show: (text) => {
        const lines = text.split("\n");
        for (const l of lines.slice(printed, -1)) console.error(l);
        printed = Math.max(printed, lines.length - 1);
      },
    };
  }
  const id = `progress-${crypto.randomUUID()}`;
  let shown = false;
  return {
    show: (text) => {
      jupyter.display({ "text/plain": text }, { raw: true, display_id: id, update: shown });
      shown = true;
    },
  };
}

/**
 * `cachedRun` with a progress display: a bar for the current epoch's steps and one line per
 * finished epoch (loss, train and test accuracy, a1 and a2), updated in place in a notebook at
 * most once a second. Returns the run folder. What notebooks 01-05 call.
 */
export async function cachedRunWithProgress(
  cfg: TrainConfig,
  options: CachedRunOptions & { sink?: ProgressSink } = {},
): Promise<string> {
  const sink = options.sink ?? notebookProgress();
  const epochs: string[] = [];
  let step = "";
  let last = 0;
  const render = (force = false) => {
    if (!force && performance.now() - last < 1000) return;
    last = performance.now();
    sink.show([...epochs, step].filter((l) => l).join("\n"));
  };
  const { dir, reused } = await cachedRun(cfg, {
    ...options,
    onEvent: (e) => {
      options.onEvent?.(e);
      if (e.type === "step") {
        const done = ((e.epoch - 1) * e.steps + e.step) / (cfg.epochs * e.steps);
        const bar = "#".repeat(Math.round(24 * done)).padEnd(24, ".");
        step = `[${bar}] ${cfg.mode} epoch ${e.epoch}/${cfg.epochs} step ${e.step}/${e.steps} loss ${
          e.loss.toFixed(3)
        }`;
        render();
      } else if (e.type === "epoch") {
        const m = e.metrics;
        epochs.push(
          `epoch ${String(m.epoch).padStart(2)}: loss ${m.loss.toFixed(3)}  train ${
            (100 * m.trainAccuracy).toFixed(1)
          } %` +
            `  test ${(100 * m.testAccuracy).toFixed(1)} %  (a1 ${m.a1.toFixed(2)}, a2 ${m.a2.toFixed(2)})`,
        );
        render(true);
      }
    },
  });
  step = reused ? `${cfg.mode}: re-using the cached run ${dir}` : `${cfg.mode}: trained into ${dir}`;
  render(true);
  return dir;
}

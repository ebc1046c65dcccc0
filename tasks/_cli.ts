/** Shared pieces of the command-line shells: strict flag parsing and one-line errors. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { flagValue } from "../lib/config/flags.ts";

/** Bad usage or bad input: printed as one `error:` line, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Prints `error: ...` and exits: 2 for usage and input errors (UsageError, RangeError and its
 * subclasses ConfigError, DatasetError, WeightsError, and BackendUnavailableError), 1 for a
 * failure while running (any other error, a TypeError from a programming mistake included).
 */
export function exitWithError(e: unknown): never {
  const err = e as Error;
  const usage = err instanceof UsageError || err instanceof RangeError ||
    err?.name === "BackendUnavailableError" || err?.name === "ConfigError";
  const msg = (err?.message ?? String(e)).split("\n")[0];
  console.error(`error: ${msg}`);
  if (Deno.env.get("ADADF_DEBUG")) console.error(err?.stack);
  Deno.exit(usage ? 2 : 1);
}

/**
 * Runs a task's `main` as the process: exit 0 when it returns (which also ends the wasm
 * backend's XNNPACK threads), `exitWithError` when it throws.
 */
export async function runTask(main: (args: string[]) => Promise<unknown>): Promise<never> {
  try {
    await main(Deno.args);
  } catch (e) {
    exitWithError(e);
  }
  Deno.exit(0);
}

/** Where eval and predict load a model from (checked flags); see lib/infer/trained_model.ts. */
export interface ModelSourceFlags {
  run?: string;
  weights?: string;
  which: "last" | "best";
  checkpointClasses: "raf-db" | "affectnet" | "sfew";
}

/**
 * Checks the model-source flags eval and predict share: exactly one of --run and --weights,
 * --which only with --run, --checkpoint-classes (default `defaultClasses`).
 */
export function modelSourceFlags(
  v: Record<string, string | boolean | undefined>,
  defaultClasses: ModelSourceFlags["checkpointClasses"],
): ModelSourceFlags {
  if ((v.run === undefined) === (v.weights === undefined)) {
    throw new UsageError("give exactly one of --run DIR and --weights FILE (see --help)");
  }
  const which = (v.which as string | undefined) ?? "last";
  if (which !== "last" && which !== "best") throw new UsageError(`--which expects last or best, got '${which}'`);
  if (v.which !== undefined && v.run === undefined) {
    throw new UsageError("--which picks a run's weights; use it with --run");
  }
  const classes = (v["checkpoint-classes"] as string | undefined) ?? defaultClasses;
  if (classes !== "raf-db" && classes !== "affectnet" && classes !== "sfew") {
    throw new UsageError(`--checkpoint-classes expects raf-db, affectnet or sfew, got '${classes}'`);
  }
  return {
    run: v.run as string | undefined,
    weights: v.weights as string | undefined,
    which,
    checkpointClasses: classes,
  };
}

/** node:util parseArgs with strict checking; unknown flags become a UsageError naming the flag. */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (e) {
    const m = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(m);
    if (unknown) throw new UsageError(`unknown flag ${unknown[1]}; run with --help to see the flags`);
    throw new UsageError(m.split("\n")[0].replace(/\. To specify.*$/, ""));
  }
}

/** A number flag: the whole string must be a finite number (read as the flag table reads it). */
export function numberFlag(name: string, value: string | undefined, integer = false): number | undefined {
  return asUsage(() => flagValue({ name, kind: integer ? "integer" : "number" }, value) as number | undefined);
}

/** A true/false flag. */
export function boolFlag(name: string, value: string | undefined): boolean | undefined {
  return asUsage(() => flagValue({ name, kind: "boolean" }, value) as boolean | undefined);
}

function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A terminal progress bar on stderr, updated in place on a TTY and once per phase otherwise. */
export class ProgressBar {
  #tty = Deno.stderr.isTerminal();
  #last = 0;
  update(text: string, fraction: number, force = false) {
    const now = performance.now();
    if (!force && now - this.#last < 100) return;
    this.#last = now;
    const width = 24;
    const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
    const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${text}`;
    if (this.#tty) Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K${line}`));
  }
  done(text: string) {
    if (this.#tty) Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K`));
    console.error(text);
  }
}

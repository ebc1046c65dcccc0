/**
 * A run folder's `config.json`, typed both ways: the resolved configuration the run trains
 * with plus what the run found out when it started ({@linkcode RunRecordedFields}: backend,
 * classes, decode size, folder). Writing and reading share one list of those fields, so
 * reading gives back exactly the configuration that was written.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeSize, resolveConfig, stemFrozen, type TrainConfig } from "../config.ts";
import { writeFileAtomic } from "../util/files.ts";

/** What `config.json` records besides the configuration. */
export interface RunRecordedFields {
  /** the run folder, absolute */
  out: string;
  /** the backend the run trained on, and why it was chosen */
  resolvedBackend: string;
  backendReason: string;
  /** whether the stem was frozen (`stemFrozen(cfg)`) */
  stemFrozen: boolean;
  /** class names in label order */
  classes: readonly string[];
  /** side of the decoded faces (`decodeSize(cfg)`) */
  decodeSize: number;
}

/** `config.json`: the configuration and the recorded fields (`out` is the folder written into). */
export type RunConfigJson = Omit<TrainConfig, "out"> & RunRecordedFields;

/** Every recorded field, once: what a reader takes off before resolving the configuration. */
const RECORDED: { [K in keyof RunRecordedFields]: true } = {
  out: true,
  resolvedBackend: true,
  backendReason: true,
  stemFrozen: true,
  classes: true,
  decodeSize: true,
};

/** The `config.json` object of a run of `cfg` into `out` on `backend`, with its data set's `classes`. */
export function runConfigJson(
  cfg: TrainConfig,
  run: { out: string; backend: { backend: string; reason: string }; classes: readonly string[] },
): RunConfigJson {
  return {
    ...cfg,
    out: run.out,
    resolvedBackend: run.backend.backend,
    backendReason: run.backend.reason,
    stemFrozen: stemFrozen(cfg),
    classes: run.classes,
    decodeSize: decodeSize(cfg),
  };
}

/** Writes `config.json` into `dir` (atomically). */
export function writeRunConfig(dir: string, json: RunConfigJson): void {
  writeFileAtomic(join(dir, "config.json"), JSON.stringify(json, null, 2) + "\n");
}

/** A run folder's config.json as written (the configuration plus the recorded fields); RangeError naming the file. */
export function readRunConfigJson(dir: string): Record<string, unknown> {
  const path = join(dir, "config.json");
  if (!existsSync(path)) throw new RangeError(`${dir} is not a run folder: it has no config.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new RangeError(`${path} is not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new RangeError(`${path} must hold a JSON object (the run's configuration)`);
  }
  return raw as Record<string, unknown>;
}

/**
 * The configuration in a run's config.json object (see {@linkcode readRunConfigJson}): the
 * recorded fields taken off, the rest resolved and validated as any configuration layer (an
 * unknown key is a ConfigError).
 */
export function runConfigFromJson(raw: Record<string, unknown>): TrainConfig {
  const layer = Object.fromEntries(Object.entries(raw).filter(([k]) => !Object.hasOwn(RECORDED, k)));
  return resolveConfig(layer);
}

/** The configuration a run folder was started with (its config.json, less the recorded fields). */
export function readRunConfig(dir: string): TrainConfig {
  return runConfigFromJson(readRunConfigJson(dir));
}

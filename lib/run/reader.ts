/**
 * Typed readers of a run folder's files (as `./writer.ts` writes them), for the figures,
 * notebooks and tasks. Each reader checks the shape of what it reads and throws a
 * {@linkcode RunFolderError} naming the file (and line) on a missing or corrupt file. The
 * record types are `./records.ts`'s.
 *
 * @module
 */
import type { DistributionRecord } from "../analysis/distribution_measures.ts";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { decodeNpy } from "../util/files.ts";
import type {
  AttentionRecord,
  ClassDistributionRecord,
  FeaturesFile,
  MetricsRecord,
  TrackedRecord,
} from "./records.ts";

/** A run folder file is missing, unreadable, or not what `./writer.ts` writes. */
export class RunFolderError extends Error {
  override name = "RunFolderError";
}

/** Everything the figures read from a run folder; the optional files are undefined when absent. */
export interface RunFolder {
  dir: string;
  config: Record<string, unknown>;
  metrics: MetricsRecord[];
  classDistributions?: ClassDistributionRecord[];
  attention?: AttentionRecord[];
  tracked?: TrackedRecord[];
  /** the measured distributions of every epoch (runs on data with true distributions) */
  distributions?: DistributionRecord[];
  features?: FeaturesFile;
  summary?: Record<string, unknown>;
}

function readText(dir: string, name: string): string {
  const path = join(dir, name);
  if (!existsSync(path)) throw new RunFolderError(`${path} is missing; is ${dir} a run folder of deno task train?`);
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new RunFolderError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Reads a JSON object file of a run folder. */
export function readJsonFile(dir: string, name: string): Record<string, unknown> {
  const text = readText(dir, name);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RunFolderError(`${join(dir, name)} is not valid JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new RunFolderError(`${join(dir, name)} must hold a JSON object`);
  }
  return v as Record<string, unknown>;
}

const isNum = (x: unknown) => typeof x === "number" && Number.isFinite(x);
const isNumOrNull = (x: unknown) => x === null || isNum(x);
const isNumArray = (x: unknown, n?: number, nulls = false) =>
  Array.isArray(x) && (n === undefined || x.length === n) && x.every(nulls ? isNumOrNull : isNum);

/**
 * Reads a JSON-lines file, checking each record with `check` (which returns an error
 * text or undefined). Blank lines are skipped; an empty file is an error.
 */
export function readJsonlFile<T>(
  dir: string,
  name: string,
  check: (r: Record<string, unknown>) => string | undefined,
): T[] {
  const path = join(dir, name);
  const out: T[] = [];
  readText(dir, name).split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new RunFolderError(`${path} line ${i + 1} is not valid JSON: ${(e as Error).message}`);
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      throw new RunFolderError(`${path} line ${i + 1} must be a JSON object`);
    }
    const r = v as Record<string, unknown>;
    const problem = !isNum(r.epoch) ? "no numeric epoch" : check(r);
    if (problem) throw new RunFolderError(`${path} line ${i + 1}: ${problem}`);
    out.push(r as T);
  });
  if (out.length === 0) throw new RunFolderError(`${path} holds no records`);
  return out;
}

/** Reads `metrics.jsonl`: one record per epoch. */
export function readMetrics(dir: string): MetricsRecord[] {
  return readJsonlFile<MetricsRecord>(dir, "metrics.jsonl", (r) => {
    if (!isNum(r.lr)) return "lr must be a number";
    for (const k of ["loss", "trainAccuracy", "testAccuracy"]) if (!isNumOrNull(r[k])) return `${k} must be a number`;
    return undefined;
  });
}

/** Reads `class_distributions.jsonl`: the CxC class distributions per epoch (from epoch 0). */
export function readClassDistributions(dir: string): ClassDistributionRecord[] {
  return readJsonlFile<ClassDistributionRecord>(dir, "class_distributions.jsonl", (r) => {
    const rows = r.rows as unknown[];
    if (!Array.isArray(rows) || rows.length === 0) return "rows must be a non-empty [C, C] array";
    const c = rows.length;
    if (!rows.every((row) => isNumArray(row, c))) return `rows must be ${c}x${c} numbers`;
    for (const k of ["mined", "replaced"]) {
      const a = r[k];
      if (!Array.isArray(a) || a.length !== c || !a.every((x) => typeof x === "boolean")) {
        return `${k} must be ${c} booleans`;
      }
    }
    if (!isNumArray(r.diagonal, c, true)) return `diagonal must be ${c} numbers or nulls`;
    if (!isNumArray(r.counts, c)) return `counts must be ${c} numbers`;
    return undefined;
  });
}

/** Reads `attention.jsonl`: per-class mean, max and min of the attention weights per epoch. */
export function readAttention(dir: string): AttentionRecord[] {
  return readJsonlFile<AttentionRecord>(dir, "attention.jsonl", (r) => {
    const c = Array.isArray(r.mean) ? r.mean.length : -1;
    for (const k of ["mean", "max", "min"]) if (!isNumArray(r[k], c, true) || c < 1) return `${k} must be [C] numbers`;
    return undefined;
  });
}

/** Reads `distributions.jsonl`: per epoch, every training sample's targets measured against its truth. */
export function readDistributions(dir: string): DistributionRecord[] {
  return readJsonlFile<DistributionRecord>(dir, "distributions.jsonl", (r) => {
    for (const k of ["js", "l1", "auc", "roc"]) {
      if (r[k] === null || typeof r[k] !== "object") return `${k} must be an object`;
    }
    for (const m of ["js", "l1"]) {
      const byTarget = r[m] as Record<string, Record<string, unknown> | null>;
      for (const t of ["label", "class", "fused", "onehot"]) {
        const g = byTarget[t];
        if (g === null || typeof g !== "object") return `${m}.${t} must be an object`;
        for (const part of ["all", "clear", "blended"]) {
          const x = g[part] as Record<string, unknown> | null;
          if (x === null || typeof x !== "object" || !(x.mean === null || isNum(x.mean))) {
            return `${m}.${t}.${part} must be {n, mean, q1, median, q3}`;
          }
        }
      }
    }
    const auc = r.auc as Record<string, unknown>;
    const roc = r.roc as Record<string, unknown>;
    for (const k of ["flipped", "blended"]) {
      if (!(auc[k] === null || isNum(auc[k]))) return `auc.${k} must be a number or null`;
      if (!Array.isArray(roc[k])) return `roc.${k} must be an array of {fpr, tpr}`;
    }
    return undefined;
  });
}

/** Reads `tracked.jsonl`: the tracked training samples' distributions per epoch. */
export function readTracked(dir: string): TrackedRecord[] {
  return readJsonlFile<TrackedRecord>(dir, "tracked.jsonl", (r) => {
    if (!Array.isArray(r.samples)) return "samples must be an array";
    for (const [j, s] of (r.samples as Record<string, unknown>[]).entries()) {
      if (s === null || typeof s !== "object") return `samples[${j}] must be an object`;
      if (!isNum(s.index) || !isNum(s.label)) return `samples[${j}] needs numeric index and label`;
      const c = Array.isArray(s.labelDistribution) ? s.labelDistribution.length : -1;
      for (const k of ["labelDistribution", "classDistribution", "fused"]) {
        if (c < 1 || !isNumArray(s[k], c)) return `samples[${j}].${k} must be [C] numbers`;
      }
      if (s.trueDistribution != null && !isNumArray(s.trueDistribution, c)) {
        return `samples[${j}].trueDistribution must be [C] numbers`;
      }
      if (!isNum(s.w)) return `samples[${j}].w must be a number`;
    }
    return undefined;
  });
}

/** Reads `features.json` and `features.npy` (float32 [N, D]) and checks that they agree. */
export function readFeatures(dir: string): FeaturesFile {
  const meta = readJsonFile(dir, "features.json");
  const npyPath = join(dir, "features.npy");
  if (!existsSync(npyPath)) throw new RunFolderError(`${npyPath} is missing`);
  let npy: { data: Float32Array; shape: number[] };
  try {
    npy = decodeNpy(readFileSync(npyPath));
  } catch (e) {
    throw new RunFolderError(`${npyPath} is not a float32 .npy file: ${(e as Error).message}`);
  }
  if (npy.shape.length !== 2) throw new RunFolderError(`${npyPath} must be 2-D [N, D], got [${npy.shape}]`);
  const [n, d] = npy.shape;
  const labels = meta.labels;
  if (!isNumArray(labels, n)) {
    throw new RunFolderError(`${join(dir, "features.json")}: labels must be ${n} numbers (features.npy has ${n} rows)`);
  }
  for (const k of ["predictions", "attention", "attentionAux", "attentionTarget"]) {
    if (meta[k] !== undefined && !isNumArray(meta[k], n, true)) {
      throw new RunFolderError(`${join(dir, "features.json")}: ${k} must be ${n} numbers`);
    }
  }
  return {
    epoch: isNum(meta.epoch) ? meta.epoch as number : NaN,
    branch: typeof meta.branch === "string" ? meta.branch : "target",
    data: npy.data,
    shape: [n, d],
    classes: Array.isArray(meta.classes) ? meta.classes as string[] : [],
    labels: labels as number[],
    predictions: meta.predictions as number[] | undefined,
    attention: meta.attention as number[] | undefined,
    attentionAux: meta.attentionAux as number[] | undefined,
    attentionTarget: meta.attentionTarget as number[] | undefined,
  };
}

/**
 * Reads a whole run folder. `config.json` and `metrics.jsonl` are required; the other
 * files are read when present (undefined otherwise) and must be valid when present.
 */
export function readRunFolder(dir: string): RunFolder {
  if (!existsSync(dir)) throw new RunFolderError(`run folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new RunFolderError(`${dir} is not a folder`);
  const has = (name: string) => existsSync(join(dir, name));
  return {
    dir,
    config: readJsonFile(dir, "config.json"),
    metrics: readMetrics(dir),
    classDistributions: has("class_distributions.jsonl") ? readClassDistributions(dir) : undefined,
    attention: has("attention.jsonl") ? readAttention(dir) : undefined,
    tracked: has("tracked.jsonl") ? readTracked(dir) : undefined,
    distributions: has("distributions.jsonl") ? readDistributions(dir) : undefined,
    features: has("features.json") || has("features.npy") ? readFeatures(dir) : undefined,
    summary: has("summary.json") ? readJsonFile(dir, "summary.json") : undefined,
  };
}

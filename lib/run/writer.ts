/**
 * Writing a run folder: claiming it, and every file a training run leaves there, each
 * written atomically (temp file + rename) so that a reader never sees half a file. The
 * records are ./records.ts's; ./reader.ts reads them back.
 *
 * Run folder (README "Run folder"):
 *   config.json, metrics.jsonl, class_distributions.jsonl, attention.jsonl,
 *   tracked.jsonl, features.npy + features.json, weights_last.safetensors,
 *   weights_best.safetensors, summary.json, checkpoints/ (./checkpoint.ts);
 *   noisy_labels.json (with --noise or --noise-file), skipped_images.json (real data sets:
 *   images that could not be decoded).
 *
 * @module
 */
import type { DistributionRecord } from "../analysis/distribution_measures.ts";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { AdaDfNet } from "../model/adadf_net.ts";
import { encodeSafetensors } from "../model/safetensors.ts";
import type { SkippedImage } from "../data/dataset.ts";
import { encodeNpy, finiteOrNull, writeFileAtomic } from "../util/files.ts";
import { type RunConfigJson, writeRunConfig } from "./config_json.ts";
import type {
  AttentionRecord,
  ClassDistributionRecord,
  EpochMetrics,
  FeaturesJson,
  RunSummary,
  TrackedEpochRecord,
} from "./records.ts";

/**
 * Claims a new run folder exclusively: a marker file created with O_EXCL decides between two
 * runs that both found the folder new or empty; the loser fails (a given --out) or takes the
 * next free suffix (`unique`: a generated name). Returns the folder claimed.
 */
export function claimRunFolder(dir: string, unique: boolean): string {
  for (let k = 1; k <= 1000; k++) {
    const candidate = k === 1 ? dir : `${dir}-${k}`;
    try {
      mkdirSync(candidate, { recursive: true });
      const fd = openSync(join(candidate, ".run-claim"), "wx"); // fails if another run holds the folder
      closeSync(fd);
      if (readdirSync(candidate).length === 1) return candidate;
      rmSync(join(candidate, ".run-claim"));
      if (!unique) throw new RangeError(`run folder ${candidate} is not empty; choose a new --out`);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "EEXIST" && unique) continue;
      if (code === "EEXIST") {
        throw new RangeError(
          `run folder ${candidate} was claimed by another run started at the same time; choose a new --out`,
        );
      }
      if (e instanceof RangeError) throw e;
      throw new Error(`cannot write into the run folder ${candidate}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  throw new RangeError(`no free run folder next to ${dir} (tried 1000 suffixes)`);
}

/** An existing run folder we continue (--resume): it must be writable. */
export function writableFolder(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, ".write-test"), "ok");
    rmSync(join(dir, ".write-test"));
    return dir;
  } catch (e) {
    throw new Error(`cannot write into the run folder ${dir}: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** The JSON-lines files, one record per epoch (class_distributions also epoch 0). */
const JSONL = ["metrics", "class_distributions", "attention", "tracked", "distributions"] as const;
type JsonlName = typeof JSONL[number];

/** The labels `--noise` or `--noise-file` changed (`noisy_labels.json`). */
export interface NoisyLabels {
  rate: number;
  file?: string;
  /** training-split indices */
  flipped: number[];
  /** their labels before and after */
  from: number[];
  to: number[];
  /** their sample ids (real data sets) */
  ids?: string[];
}

/** Writes the files of one run folder; `resumeAfter`: continue a folder, keeping the records of epochs up to it. */
export class RunWriter {
  readonly #lines: Record<JsonlName, string[]> = {
    metrics: [],
    class_distributions: [],
    attention: [],
    tracked: [],
    distributions: [],
  };

  constructor(readonly dir: string, options: { resumeAfter?: number } = {}) {
    if (options.resumeAfter === undefined) return;
    // keep what the completed epochs wrote; drop lines of an epoch that was interrupted
    for (const name of JSONL) {
      const path = join(dir, `${name}.jsonl`);
      if (!existsSync(path)) continue;
      this.#lines[name] = readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "")
        .filter((l) => JSON.parse(l).epoch <= options.resumeAfter!);
    }
  }

  #write(name: string, data: string | Uint8Array): void {
    writeFileAtomic(join(this.dir, name), data);
  }

  #append(name: JsonlName, record: unknown): void {
    this.#lines[name].push(JSON.stringify(record, finiteOrNull));
    this.#write(`${name}.jsonl`, this.#lines[name].join("\n") + "\n");
  }

  /** The files a new run starts with: config.json, noisy_labels.json (label noise), skipped_images.json (real data). */
  writeStart(config: RunConfigJson, data: { noisy?: NoisyLabels; skipped?: SkippedImage[] }): void {
    writeRunConfig(this.dir, config);
    if (data.noisy) this.#write("noisy_labels.json", JSON.stringify(data.noisy) + "\n");
    if (data.skipped) this.#write("skipped_images.json", JSON.stringify(data.skipped, null, 1) + "\n");
  }

  /** A class_distributions.jsonl line (the epoch-0 record; later epochs come with {@linkcode appendEpoch}). */
  appendClassDistributions(record: ClassDistributionRecord): void {
    this.#append("class_distributions", record);
  }

  /** One finished epoch's lines of metrics, class_distributions, attention and tracked. */
  appendEpoch(r: {
    metrics: EpochMetrics;
    classDistributions: ClassDistributionRecord;
    attention: AttentionRecord;
    tracked: TrackedEpochRecord;
    /** where the true distributions are known: the measured distributions of every training sample */
    distributions?: DistributionRecord;
  }): void {
    this.#append("metrics", r.metrics);
    this.#append("class_distributions", r.classDistributions);
    this.#append("attention", r.attention);
    this.#append("tracked", r.tracked);
    if (r.distributions) this.#append("distributions", r.distributions);
  }

  /** features.npy (float32 [N, D]) and its description features.json. */
  writeFeatures(features: Float32Array, meta: FeaturesJson): void {
    this.#write("features.npy", encodeNpy(features, meta.shape));
    this.#write("features.json", JSON.stringify(meta) + "\n");
  }

  /** The model's weights as `name` (safetensors with the toolkit's metadata: epoch, architecture, input size). */
  async writeWeights(
    name: string,
    net: AdaDfNet,
    meta: { epoch: number; backbone: string; width: number; attentionOn: string; imageSize: number },
  ): Promise<void> {
    const bytes = encodeSafetensors(await net.toArrays(), {
      format: "ada-df-ts",
      layout: "tfjs (conv [KH,KW,Cin,Cout], linear [in,out])",
      epoch: String(meta.epoch),
      config: JSON.stringify({
        backbone: meta.backbone,
        width: meta.width,
        numClasses: net.config.numClasses,
        attentionOn: meta.attentionOn,
        variant: net.config.variant,
        imageSize: meta.imageSize,
      }),
    });
    this.#write(name, bytes);
  }

  writeSummary(summary: RunSummary): void {
    this.#write("summary.json", JSON.stringify(summary, null, 2) + "\n");
  }
}

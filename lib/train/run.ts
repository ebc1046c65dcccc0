/**
 * A whole training run, as `deno task train` and the notebooks start it: choose the
 * backend, load the data, build the model, train, and write the run folder (every
 * file written atomically, so a reader never sees half a file).
 *
 * Run folder (README "Run folder"):
 *   config.json, metrics.jsonl, class_distributions.jsonl, attention.jsonl,
 *   tracked.jsonl, features.npy + features.json, weights_last.safetensors,
 *   weights_best.safetensors, summary.json.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { type BackendChoice, initBackend } from "../backend/backend.ts";
import { resolveConfig, stemFrozen, type TrainConfig } from "../config.ts";
import { CLASSES } from "../data/classes.ts";
import { loadSynthFer } from "../data/synthfer.ts";
import { flipLabels } from "../data/label_noise.ts";
import type { ImageSplit } from "../data/batches.ts";
import { AdaDfNet } from "../model/adadf_net.ts";
import { encodeSafetensors } from "../model/safetensors.ts";
import { encodeNpy, finiteOrNull, writeFileAtomic } from "../util/files.ts";
import { Prng } from "../util/prng.ts";
import { initialClassDistributions } from "../method/class_distributions.ts";
import * as tf from "@tensorflow/tfjs";
import {
  argmax,
  type EpochMetrics,
  type EpochResult,
  type EpochSnapshot,
  type ResumePoint,
  trainAdaDf,
  type TrainEvent,
} from "./trainer.ts";
import {
  type LoadedCheckpoint,
  loadLatestCheckpoint,
  restoreOptimizer,
  saveCheckpoint,
  type TrainState,
} from "./checkpoint.ts";

export interface RunSummary {
  testAccuracy: number;
  bestTestAccuracy: number;
  bestEpoch: number;
  testAccuracyTrue?: number;
  bestTestAccuracyTrue?: number;
  epochsCompleted: number;
  wallSeconds: number;
  backend: string;
  backendReason: string;
  skippedImages: number;
  architecture: string;
  parameterCount: number;
  inputSize: number;
  narrowed: boolean;
  mode: string;
  seed: number;
}

/** The default run folder: runs/<dataset>-<mode>-<timestamp>. */
export function defaultRunDir(cfg: TrainConfig): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  return join("runs", `${cfg.dataset}-${cfg.mode}-s${cfg.seed}-${stamp}`);
}

/** The data a run trains on, in memory. `flipped`: indices of training labels changed by `--noise`. */
export interface RunData {
  train: ImageSplit;
  test: ImageSplit;
  flipped: number[];
  numClasses: number;
  imageSize: number;
}

/** Loads the configured data set into memory (SynthFER today). */
export async function loadData(cfg: TrainConfig, log: (m: string) => void = () => {}): Promise<RunData> {
  const ds = await loadSynthFer({
    seed: cfg.synth.seed,
    trainSize: cfg.synth.trainSize,
    testSize: cfg.synth.testSize,
    imageSize: cfg.imageSize,
    annotators: cfg.synth.annotators,
    ambiguousFraction: cfg.synth.ambiguousFraction,
    difficulty: cfg.synth.difficulty,
  }, (done, total) => {
    if (done === total || done % Math.max(1, Math.round(total / 10)) === 0) {
      log(`generating SynthFER: ${done}/${total} faces`);
    }
  });
  log(`SynthFER ${ds.fromCache ? "loaded from cache" : "generated and cached"} at ${ds.cachePath}`);
  let train: ImageSplit = ds.train;
  let flipped: number[] = [];
  if (cfg.noise > 0) {
    const r = flipLabels(ds.train.labels, cfg.noise, CLASSES.length, new Prng(cfg.seed + 7919));
    train = { ...ds.train, labels: r.labels };
    flipped = Array.from(r.flipped);
  }
  return { train, test: ds.test as ImageSplit, flipped, numClasses: CLASSES.length, imageSize: cfg.imageSize };
}

function architectureName(cfg: TrainConfig): string {
  const depth = cfg.backbone === "resnet18" ? "ResNet-18" : "ResNet-50";
  return cfg.width === 64
    ? `${depth} dual-branch Ada-DF`
    : `${depth} dual-branch Ada-DF, narrowed to width ${cfg.width} (torchvision: 64)`;
}

export interface RunOptions {
  /** progress and log lines (the CLI prints them; a notebook may show them in place) */
  onEvent?: (e: TrainEvent | { type: "log"; message: string } | { type: "epoch"; metrics: EpochMetrics }) => void;
  /** checked after every step: true stops the run after that step (Ctrl-C); resume redoes the epoch */
  shouldStop?: () => boolean;
  /** for tests: poison the target classifier with NaN at the start of this epoch */
  faultNanAtEpoch?: number;
}

/**
 * Runs a whole training and writes the run folder `out` (created; must be empty or new).
 * Returns the summary that is also written to `summary.json`.
 */
export async function runTraining(cfg: TrainConfig, out: string, options: RunOptions = {}): Promise<RunSummary> {
  const dir = resolve(out);
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new RangeError(`run folder ${dir} exists and is not a folder; choose a new --out`);
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new RangeError(`run folder ${dir} is not empty; choose a new --out, or continue it with --resume ${out}`);
  }
  return await execute(cfg, dir, undefined, options);
}

/** The configuration a run folder was started with (its config.json, less the recorded extras). */
export function readRunConfig(dir: string): TrainConfig {
  const path = join(dir, "config.json");
  if (!existsSync(path)) throw new RangeError(`${dir} is not a run folder: it has no config.json`);
  const raw = JSON.parse(readFileSync(path, "utf8"));
  for (const k of ["out", "resolvedBackend", "backendReason", "stemFrozen", "classes"]) delete raw[k];
  return resolveConfig(raw);
}

/**
 * Continues the run in `dir` from its newest checkpoint that verifies (a corrupt or
 * truncated newest one is reported and skipped). With the same backend, the metrics equal
 * those of an uninterrupted run (exactly on single-threaded wasm and cpu).
 */
export async function resumeTraining(dir: string, options: RunOptions = {}): Promise<RunSummary> {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new RangeError(`--resume: ${abs} is not a folder`);
  const cfg = readRunConfig(abs);
  const { checkpoint, warnings } = loadLatestCheckpoint(abs);
  for (const w of warnings) options.onEvent?.({ type: "log", message: `warning: ${w}` });
  if (checkpoint === undefined) {
    throw new RangeError(
      `--resume: ${abs} has no complete epoch to resume from (no valid checkpoints/epoch-*.safetensors)`,
    );
  }
  if (checkpoint.state.epoch >= cfg.epochs && existsSync(join(abs, "summary.json"))) {
    throw new RangeError(`--resume: the run in ${abs} is already complete (${cfg.epochs} epochs)`);
  }
  return await execute(cfg, abs, checkpoint, options);
}

async function execute(
  cfg: TrainConfig,
  dir: string,
  checkpoint: LoadedCheckpoint | undefined,
  options: RunOptions,
): Promise<RunSummary> {
  const emit = options.onEvent ?? (() => {});
  const log = (message: string) => emit({ type: "log", message });
  const t0 = performance.now();
  const choice: BackendChoice = await initBackend(cfg.backend);
  log(`backend: ${choice.backend} (${choice.reason})`);
  const data = await loadData(cfg, log);
  // only now that backend and data are good: no empty run folder is left behind by bad input
  try {
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, ".write-test"), "ok");
    rmSync(join(dir, ".write-test"));
  } catch (e) {
    throw new Error(`cannot write into the run folder ${dir}: ${(e as Error).message.split("\n")[0]}`);
  }
  const net = new AdaDfNet({
    backbone: cfg.backbone,
    width: cfg.width,
    numClasses: data.numClasses,
    attentionOn: cfg.attentionOn,
  }, {
    seed: cfg.seed,
  });
  const architecture = architectureName(cfg);
  log(
    `model: ${architecture}, ${
      net.parameterCount().toLocaleString("en")
    } parameters, input ${cfg.imageSize}x${cfg.imageSize}, stem ${stemFrozen(cfg) ? "frozen" : "trained"}`,
  );
  if (checkpoint) log(`resuming after epoch ${checkpoint.state.epoch} from ${checkpoint.path}`);

  const write = (name: string, text: string) => writeFileAtomic(join(dir, name), text);
  if (!checkpoint) {
    write(
      "config.json",
      JSON.stringify(
        {
          ...cfg,
          out: dir,
          resolvedBackend: choice.backend,
          backendReason: choice.reason,
          stemFrozen: stemFrozen(cfg),
          classes: CLASSES,
        },
        null,
        2,
      ) + "\n",
    );
    if (data.flipped.length > 0) {
      write("noisy_labels.json", JSON.stringify({ rate: cfg.noise, flipped: data.flipped }) + "\n");
    }
  }

  const lines: Record<string, string[]> = { metrics: [], class_distributions: [], attention: [], tracked: [] };
  const appendJsonl = (name: keyof typeof lines, obj: unknown) => {
    lines[name].push(JSON.stringify(obj, finiteOrNull));
    write(`${name}.jsonl`, lines[name].join("\n") + "\n");
  };
  if (checkpoint) {
    // keep what the completed epochs wrote; drop lines of an epoch that was interrupted
    for (const name of Object.keys(lines) as (keyof typeof lines)[]) {
      const path = join(dir, `${name}.jsonl`);
      if (!existsSync(path)) continue;
      lines[name] = readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "")
        .filter((l) => JSON.parse(l).epoch <= checkpoint.state.epoch);
    }
  } else {
    // epoch 0: the threshold rows every class starts from
    const init = initialClassDistributions(data.numClasses, cfg.threshold);
    appendJsonl("class_distributions", {
      epoch: 0,
      rows: init,
      mined: init.map(() => false),
      replaced: init.map(() => true),
      diagonal: init.map(() => NaN),
      counts: init.map(() => 0),
    });
  }

  const saveWeights = async (name: string, epoch: number) => {
    const arrays = await net.toArrays();
    const bytes = encodeSafetensors(arrays, {
      format: "ada-df-ts",
      layout: "tfjs (conv [KH,KW,Cin,Cout], linear [in,out])",
      epoch: String(epoch),
      config: JSON.stringify({
        backbone: cfg.backbone,
        width: cfg.width,
        numClasses: data.numClasses,
        attentionOn: cfg.attentionOn,
        imageSize: cfg.imageSize,
      }),
    });
    writeFileAtomic(join(dir, name), bytes);
  };

  let best: TrainState["best"] = checkpoint?.state.best ?? { acc: -1, epoch: 0 };
  let last: EpochMetrics | undefined = checkpoint?.state.history.at(-1);
  const earlierSeconds = checkpoint?.state.wallSeconds ?? 0;
  const onEpoch = async (r: EpochResult) => {
    last = r.metrics;
    appendJsonl("metrics", r.metrics);
    appendJsonl("class_distributions", r.classDistributions);
    appendJsonl("attention", r.attention);
    appendJsonl("tracked", r.tracked);
    const n = data.test.labels.length;
    writeFileAtomic(join(dir, "features.npy"), encodeNpy(r.test.features, [n, r.test.featureDim]));
    write(
      "features.json",
      JSON.stringify({
        epoch: r.metrics.epoch,
        branch: "target",
        shape: [n, r.test.featureDim],
        classes: CLASSES,
        labels: Array.from(data.test.labels),
        predictions: Array.from({ length: n }, (_, i) => argmax(r.test.logits, i * data.numClasses, data.numClasses)),
        attention: Array.from(r.test.attention),
      }) + "\n",
    );
    await saveWeights("weights_last.safetensors", r.metrics.epoch);
    if (r.metrics.testAccuracy > best.acc) {
      best = { acc: r.metrics.testAccuracy, epoch: r.metrics.epoch, accTrue: r.metrics.testAccuracyTrue };
      await saveWeights("weights_best.safetensors", r.metrics.epoch);
    }
    emit({ type: "epoch", metrics: r.metrics });
  };

  try {
    const onCheckpoint = async (snap: EpochSnapshot, _net: AdaDfNet, optimizer: tf.Optimizer) => {
      await saveCheckpoint(dir, net, optimizer, {
        ...snap,
        best,
        wallSeconds: earlierSeconds + (performance.now() - t0) / 1000,
      });
      if (options.faultNanAtEpoch === snap.epoch + 1) {
        const w = net.params.get("branch_2.fc.weight")!;
        w.assign(tf.fill(w.shape, NaN));
      }
    };
    const resume: ResumePoint | undefined = checkpoint && {
      snapshot: checkpoint.state,
      restore: async (n, optimizer) => {
        n.loadArrays(checkpoint.model);
        await restoreOptimizer(optimizer, checkpoint);
      },
    };
    await trainAdaDf(net, data, cfg, { onEvent: emit, onEpoch, onCheckpoint, shouldStop: options.shouldStop }, resume);
    const summary: RunSummary = {
      testAccuracy: last!.testAccuracy,
      bestTestAccuracy: best.acc,
      bestEpoch: best.epoch,
      ...(last!.testAccuracyTrue !== undefined
        ? { testAccuracyTrue: last!.testAccuracyTrue, bestTestAccuracyTrue: best.accTrue }
        : {}),
      epochsCompleted: last!.epoch,
      wallSeconds: earlierSeconds + (performance.now() - t0) / 1000,
      backend: choice.backend,
      backendReason: choice.reason,
      skippedImages: 0,
      architecture,
      parameterCount: net.parameterCount(),
      inputSize: cfg.imageSize,
      narrowed: cfg.width !== 64,
      mode: cfg.mode,
      seed: cfg.seed,
    };
    write("summary.json", JSON.stringify(summary, null, 2) + "\n");
    return summary;
  } finally {
    net.dispose();
  }
}

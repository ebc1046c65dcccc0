/**
 * A whole training run, as `deno task train` and the notebooks start it: choose the
 * backend, load the data, build the model, train, and write the run folder (every
 * file written atomically, so a reader never sees half a file).
 *
 * Run folder (README "Run folder"):
 *   config.json, metrics.jsonl, class_distributions.jsonl, attention.jsonl,
 *   tracked.jsonl, features.npy + features.json, weights_last.safetensors,
 *   weights_best.safetensors, summary.json; noisy_labels.json (with --noise or
 *   --noise-file), skipped_images.json (real data sets: images that could not be decoded).
 *
 * Bad input (a data set that cannot be read, a bad weights file) throws before the run
 * folder is created, so none is left behind.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { type BackendChoice, initBackend } from "../backend/backend.ts";
import { decodeSize, modelVariant, resolveConfig, stemFrozen, type TrainConfig } from "../config.ts";
import { CLASSES } from "../data/classes.ts";
import { loadSynthFer } from "../data/synthfer.ts";
import { applyNoiseFile, flipLabels, parseNoiseFile } from "../data/label_noise.ts";
import { loadFerDataset, type SkippedImage } from "../data/dataset.ts";
import { loadPretrainedInto } from "../model/weights_import.ts";
import { readWeightsFile } from "../model/torch_file.ts";
import type { ImageSplit } from "../data/batches.ts";
import { AdaDfNet } from "../model/adadf_net.ts";
import { encodeSafetensors } from "../model/safetensors.ts";
import { encodeNpy, finiteOrNull, writeFileAtomic } from "../util/files.ts";
import { Prng } from "../util/prng.ts";
import { initialClassDistributions } from "../method/class_distributions.ts";
import * as tf from "@tensorflow/tfjs";
import {
  argmax,
  assertOneTrainingBatch,
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

/**
 * The data a run trains on. `flipped`: indices of training labels changed by `--noise` or
 * `--noise-file` (with `flippedFrom`, their labels before). `imageSize` is the side of the
 * stored faces (`decodeSize(cfg)`: with TenCrop larger than the input). `close()` releases
 * the image stores (disk caches).
 */
export interface RunData {
  train: ImageSplit;
  test: ImageSplit;
  flipped: number[];
  /** the original labels of the flipped samples, same order as `flipped` */
  flippedFrom: number[];
  numClasses: number;
  imageSize: number;
  /** class names, in label order (CLASSES; AffectNet-8 adds contempt) */
  classes: readonly string[];
  /** sample ids of the training split (real data sets: the names noise files use) */
  trainIds?: string[];
  /** images listed by the data set that could not be used */
  skipped: SkippedImage[];
  close: () => void;
}

/** Progress of loading: `phase` "generate" (SynthFER) or loadFerDataset's "index", "check", "decode". */
export type LoadProgress = (done: number, total: number, phase: string) => void;

/**
 * Loads the configured data set: SynthFER (generated and cached) or a real one from
 * `cfg.dataPath` (lib/data/dataset.ts), then applies `--noise` or `--noise-file` to the
 * training labels. Throws a RangeError (DatasetError) with a one-line message for bad input.
 */
export async function loadData(
  cfg: TrainConfig,
  log: (m: string) => void = () => {},
  onProgress?: LoadProgress,
  options: { testOnly?: boolean } = {},
): Promise<RunData> {
  if (cfg.dataset !== "synth") return await loadRealData(cfg, log, { onProgress, testOnly: options.testOnly });
  const ds = await loadSynthFer({
    seed: cfg.synth.seed,
    trainSize: cfg.synth.trainSize,
    testSize: cfg.synth.testSize,
    imageSize: cfg.imageSize,
    annotators: cfg.synth.annotators,
    ambiguousFraction: cfg.synth.ambiguousFraction,
    difficulty: cfg.synth.difficulty,
  }, (done, total) => {
    if (onProgress) onProgress(done, total, "generate");
    else if (done === total || done % Math.max(1, Math.round(total / 10)) === 0) {
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
  return {
    train,
    test: ds.test as ImageSplit,
    flipped,
    flippedFrom: flipped.map((i) => ds.train.labels[i]),
    numClasses: CLASSES.length,
    imageSize: cfg.imageSize,
    classes: CLASSES,
    skipped: [],
    close: () => {},
  };
}

async function loadRealData(
  cfg: TrainConfig,
  log: (m: string) => void,
  options: { onProgress?: LoadProgress; testOnly?: boolean },
): Promise<RunData> {
  const { onProgress } = options;
  // read and check the noise file before decoding anything
  const noiseEntries = cfg.noiseFile === null ? undefined : parseNoiseFile(readNoiseFile(cfg.noiseFile), cfg.noiseFile);
  const size = decodeSize(cfg);
  const ds = await loadFerDataset({
    dataset: cfg.dataset as Exclude<TrainConfig["dataset"], "synth">,
    dataPath: cfg.dataPath!,
    imageSize: size,
    cache: cfg.cache,
    affectnetClasses: cfg.affectnetClasses,
    splits: options.testOnly ? ["test"] : undefined,
    onProgress,
  });
  const close = () => {
    ds.train.images.close();
    ds.test.images.close();
  };
  try {
    const numClasses = ds.classes.length;
    log(
      `${cfg.dataset}: ${
        options.testOnly ? "" : `${ds.train.labels.length} training and `
      }${ds.test.labels.length} test faces at ${size}x${size}` +
        ` (${ds.cache.kind}${ds.cache.kind === "disk" ? (ds.cache.reused ? ", cache reused" : ", cache built") : ""})` +
        (ds.skipped.length > 0 ? `; ${ds.skipped.length} images skipped (skipped_images.json)` : ""),
    );
    for (const note of ds.index.notes ?? []) log(`${cfg.dataset}: ${note}`);
    const crowd = (s: { crowd?: Float32Array }) => numClasses === 7 ? s.crowd : undefined;
    let labels = ds.train.labels;
    let flipped: number[] = [];
    if (cfg.noise > 0) {
      const r = flipLabels(labels, cfg.noise, numClasses, new Prng(cfg.seed + 7919));
      labels = r.labels;
      flipped = Array.from(r.flipped);
    } else if (noiseEntries !== undefined) {
      const r = applyNoiseFile({ ids: ds.train.ids, labels }, noiseEntries, {
        skipped: ds.skipped.filter((k) => k.split === "train").map((k) => k.id),
        numClasses,
      });
      labels = r.labels;
      flipped = Array.from(r.flipped);
      log(`${cfg.noiseFile}: ${flipped.length} of ${labels.length} training labels changed`);
    }
    const train: ImageSplit = { images: ds.train.images, labels, trueDistributions: crowd(ds.train) };
    const test: ImageSplit = { images: ds.test.images, labels: ds.test.labels, trueDistributions: crowd(ds.test) };
    return {
      train,
      test,
      flipped,
      flippedFrom: flipped.map((i) => ds.train.labels[i]),
      numClasses,
      imageSize: size,
      classes: ds.classes,
      trainIds: ds.train.ids,
      skipped: ds.skipped,
      close,
    };
  } catch (e) {
    close();
    throw e;
  }
}

function readNoiseFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new RangeError(`--noise-file ${path} cannot be read: ${(e as Error).message.split("\n")[0]}`);
  }
}

function architectureName(cfg: TrainConfig): string {
  const depth = cfg.backbone === "resnet18" ? "ResNet-18" : "ResNet-50";
  const kind = cfg.mode === "baseline" ? `plain ${depth} (the baseline)` : `${depth} dual-branch Ada-DF`;
  return cfg.width === 64 ? kind : `${kind}, narrowed to width ${cfg.width} (torchvision: 64)`;
}

/** Everything `runTraining` reports: the loop's events, log lines, finished epochs, loading progress. */
export type RunEvent =
  | TrainEvent
  | { type: "log"; message: string }
  | { type: "epoch"; metrics: EpochMetrics }
  | { type: "load"; done: number; total: number; phase: string }
  /** the run folder was claimed (with `uniqueFolder`, possibly under a suffixed name) */
  | { type: "folder"; dir: string };

export interface RunOptions {
  /** progress and log lines (the CLI prints them; a notebook may show them in place) */
  onEvent?: (e: RunEvent) => void;
  /** checked after every step: true stops the run after that step (Ctrl-C); resume redoes the epoch */
  shouldStop?: () => boolean;
  /** for tests: poison the target classifier with NaN at the start of this epoch */
  faultNanAtEpoch?: number;
  /**
   * `out` is a generated name (runs/<dataset>-<mode>-s<seed>-<time>): when another run claimed
   * it first, take `out-2`, `out-3`, ... instead of failing (two runs started in the same second)
   */
  uniqueFolder?: boolean;
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
function writableFolder(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, ".write-test"), "ok");
    rmSync(join(dir, ".write-test"));
    return dir;
  } catch (e) {
    throw new Error(`cannot write into the run folder ${dir}: ${(e as Error).message.split("\n")[0]}`);
  }
}

/**
 * The first key (dotted) whose value differs between two configurations, `out` aside (a run
 * folder may be moved): what a resume refuses.
 */
export function configDifference(
  then: TrainConfig,
  now: TrainConfig,
): { key: string; then: unknown; now: unknown } | undefined {
  const walk = (a: unknown, b: unknown, key: string): { key: string; then: unknown; now: unknown } | undefined => {
    const objects = a !== null && b !== null && typeof a === "object" && typeof b === "object" &&
      !Array.isArray(a) && !Array.isArray(b);
    if (!objects) return JSON.stringify(a) === JSON.stringify(b) ? undefined : { key, then: a, now: b };
    const keys = [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
    for (const k of keys) {
      if (key === "" && k === "out") continue;
      const d = walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], key ? `${key}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  };
  return walk(then, now, "");
}

/** The configuration a run folder was started with (its config.json, less the recorded extras). */
export function readRunConfig(dir: string): TrainConfig {
  return runConfigFromJson(readRunConfigJson(dir));
}

/** The configuration in a run's config.json object (see `readRunConfigJson`), less the recorded extras. */
export function runConfigFromJson(raw: Record<string, unknown>): TrainConfig {
  const layer = { ...raw };
  for (const k of ["out", "resolvedBackend", "backendReason", "stemFrozen", "classes", "decodeSize"]) delete layer[k];
  return resolveConfig(layer);
}

/** A run folder's config.json as written (the configuration plus the recorded extras); RangeError naming the file. */
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
  const saved = checkpoint.state.config;
  if (saved === undefined) {
    options.onEvent?.({
      type: "log",
      message:
        `warning: ${checkpoint.path} predates the checkpoints' own copy of the configuration; config.json is trusted`,
    });
  } else {
    const diff = configDifference(saved, cfg);
    if (diff !== undefined) {
      throw new RangeError(
        `--resume: ${join(abs, "config.json")} says ${diff.key} = ${
          JSON.stringify(diff.now)
        }, but the run was trained ` +
          `with ${
            JSON.stringify(diff.then)
          } (${checkpoint.path}); restore it, or start a new run for a new configuration`,
      );
    }
  }
  if (checkpoint.state.epoch > cfg.epochs) {
    throw new RangeError(
      `--resume: ${checkpoint.path} is at epoch ${checkpoint.state.epoch}, past the run's ${cfg.epochs}`,
    );
  }
  if (checkpoint.state.epoch >= cfg.epochs && existsSync(join(abs, "summary.json"))) {
    throw new RangeError(`--resume: the run in ${abs} is already complete (${cfg.epochs} epochs)`);
  }
  return await execute(cfg, abs, checkpoint, options);
}

async function execute(
  cfg: TrainConfig,
  folder: string,
  checkpoint: LoadedCheckpoint | undefined,
  options: RunOptions,
): Promise<RunSummary> {
  let dir = folder;
  const emit = options.onEvent ?? (() => {});
  const log = (message: string) => emit({ type: "log", message });
  const t0 = performance.now();
  const choice: BackendChoice = await initBackend(cfg.backend);
  // a weights file that cannot be read fails before the data set is decoded
  const weightsFile = cfg.pretrained !== null && !checkpoint ? await readWeightsFile(cfg.pretrained) : undefined;
  const data = await loadData(cfg, log, (done, total, phase) => emit({ type: "load", done, total, phase }));
  let net: AdaDfNet | undefined;
  try {
    net = new AdaDfNet({
      backbone: cfg.backbone,
      width: cfg.width,
      numClasses: data.numClasses,
      attentionOn: cfg.attentionOn,
      variant: modelVariant(cfg.mode),
    }, {
      seed: cfg.seed,
    });
    if (weightsFile !== undefined) {
      // Class distributions an official checkpoint carries are not used: train.py starts every
      // training from the threshold rows and re-mines after each epoch.
      const r = await loadPretrainedInto(net, weightsFile, { onNotice: log });
      log(
        `pretrained: ${cfg.pretrained} (${r.kind === "resnet" ? "ResNet" : r.kind === "adadf" ? "Ada-DF" : "toolkit"}` +
          ` weights, ${r.loaded.length} tensors loaded${r.skipped.length ? `, skipped ${r.skipped.join(", ")}` : ""})`,
      );
    }
    assertOneTrainingBatch(data.train.labels, cfg);
    // only now that backend, data and weights are good: no empty run folder is left behind by bad input
    dir = checkpoint ? writableFolder(dir) : claimRunFolder(dir, options.uniqueFolder ?? false);
    emit({ type: "folder", dir });
  } catch (e) {
    net?.dispose();
    data.close();
    throw e;
  }
  return await executeLoaded(cfg, dir, checkpoint, { net, data, choice, t0, emit, options });
}

async function executeLoaded(
  cfg: TrainConfig,
  dir: string,
  checkpoint: LoadedCheckpoint | undefined,
  ctx: {
    net: AdaDfNet;
    data: RunData;
    choice: BackendChoice;
    t0: number;
    emit: (e: RunEvent) => void;
    options: RunOptions;
  },
): Promise<RunSummary> {
  const { net, data, choice, t0, emit, options } = ctx;
  const log = (message: string) => emit({ type: "log", message });
  const architecture = architectureName(cfg);
  log(`backend: ${choice.backend} (${choice.reason})`);
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
          classes: data.classes,
          decodeSize: data.imageSize,
        },
        null,
        2,
      ) + "\n",
    );
    if (cfg.noise > 0 || cfg.noiseFile !== null) {
      // flipped: training-split indices; from/to: labels before and after; ids: their names (real data)
      write(
        "noisy_labels.json",
        JSON.stringify({
          rate: cfg.noise,
          ...(cfg.noiseFile !== null ? { file: cfg.noiseFile } : {}),
          flipped: data.flipped,
          from: data.flippedFrom,
          to: data.flipped.map((i) => data.train.labels[i]),
          ...(data.trainIds ? { ids: data.flipped.map((i) => data.trainIds![i]) } : {}),
        }) + "\n",
      );
    }
    if (data.skipped.length > 0 || cfg.dataset !== "synth") {
      write("skipped_images.json", JSON.stringify(data.skipped, null, 1) + "\n");
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
        variant: net.config.variant,
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
        classes: data.classes,
        labels: Array.from(data.test.labels),
        predictions: Array.from({ length: n }, (_, i) => argmax(r.test.logits, i * data.numClasses, data.numClasses)),
        // the official forward's third output (w_aux + w_tar) / 2 and each branch's own; a plain network has none
        ...(net.config.variant === "plain" ? {} : {
          attention: Array.from(r.test.attention),
          attentionAux: Array.from(r.test.attentionAux),
          attentionTarget: Array.from(r.test.attentionTarget),
        }),
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
        config: cfg,
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
      skippedImages: data.skipped.length,
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
    data.close();
  }
}

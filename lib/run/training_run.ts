/**
 * A whole training run, as `deno task train` and the notebooks start it: choose the
 * backend, load the data, build the model, train (lib/train), and write the run folder
 * (./writer.ts; the files are listed there). `resumeTraining` continues one from its newest
 * checkpoint (./checkpoint.ts).
 *
 * Bad input (a data set that cannot be read, a bad weights file) throws before the run
 * folder is created, so none is left behind.
 *
 * @module
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { type BackendChoice, initBackend } from "../backend/backend.ts";
import { dataConfig, modelVariant, stemFrozen, type TrainConfig } from "../config.ts";
import { loadData, type RunData } from "../data/load.ts";
import { loadPretrainedInto } from "../model/weights_import.ts";
import { readWeightsFile } from "../model/torch_file.ts";
import { AdaDfNet } from "../model/adadf_net.ts";
import { argmax } from "../infer/evaluate.ts";
import {
  assertOneTrainingBatch,
  type EpochResult,
  type ResumePoint,
  trainAdaDf,
  type TrainEvent,
} from "../train/trainer.ts";
import {
  type LoadedCheckpoint,
  loadLatestCheckpoint,
  restoreOptimizer,
  saveCheckpoint,
  type TrainState,
} from "./checkpoint.ts";
import { readRunConfig, runConfigJson } from "./config_json.ts";
import type { EpochMetrics, RunSummary } from "./records.ts";
import { claimRunFolder, RunWriter, writableFolder } from "./writer.ts";

export type { RunSummary };

/** The default run folder: runs/<dataset>-<mode>-<timestamp>. */
export function defaultRunDir(cfg: TrainConfig): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  return join("runs", `${cfg.dataset}-${cfg.mode}-s${cfg.seed}-${stamp}`);
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
  // a generated name takes a suffix when taken (claimRunFolder); a given --out must be new or empty
  if (!options.uniqueFolder && existsSync(dir) && readdirSync(dir).length > 0) {
    throw new RangeError(`run folder ${dir} is not empty; choose a new --out, or continue it with --resume ${out}`);
  }
  return await execute(cfg, dir, undefined, options);
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

/** Sets up a run (backend, weights file, data, model) and claims its folder, then trains into it. */
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
  const data = await loadData(dataConfig(cfg), {
    log,
    onProgress: (done, total, phase) => emit({ type: "load", done, total, phase }),
  });
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
      kernels: choice.layerKernels,
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
  return await trainInto(new RunWriter(dir, { resumeAfter: checkpoint?.state.epoch }), cfg, {
    net,
    data,
    choice,
    checkpoint,
    t0,
    emit,
    options,
  });
}

/** What {@linkcode trainInto} trains with: the loaded model and data, and the run's context. */
interface LoadedRun {
  net: AdaDfNet;
  data: RunData;
  choice: BackendChoice;
  checkpoint: LoadedCheckpoint | undefined;
  /** when the run (this session) started, performance.now() */
  t0: number;
  emit: (e: RunEvent) => void;
  options: RunOptions;
}

/** Trains the loaded run into its folder: start files, one record set per epoch, checkpoints, summary. */
async function trainInto(writer: RunWriter, cfg: TrainConfig, run: LoadedRun): Promise<RunSummary> {
  const { net, data, checkpoint } = run;
  const architecture = architectureName(cfg);
  logStart(cfg, run, architecture);
  if (!checkpoint) writeStartFiles(writer, cfg, run);
  let best: TrainState["best"] = checkpoint?.state.best ?? { acc: -1, epoch: 0 };
  let last: EpochMetrics | undefined = checkpoint?.state.history.at(-1);
  const earlierSeconds = checkpoint?.state.wallSeconds ?? 0;
  const wallSeconds = () => earlierSeconds + (performance.now() - run.t0) / 1000;
  const weightsMeta = (epoch: number) => ({ ...cfg, epoch });
  try {
    await trainAdaDf(net, { ...data, flipped: new Set(data.flipped) }, cfg, {
      onEvent: run.emit,
      onStart: (initial) => writer.appendClassDistributions(initial),
      onEpoch: async (r) => {
        last = r.metrics;
        writeEpoch(writer, r, run);
        await writer.writeWeights("weights_last.safetensors", net, weightsMeta(r.metrics.epoch));
        if (r.metrics.testAccuracy > best.acc) {
          best = { acc: r.metrics.testAccuracy, epoch: r.metrics.epoch, accTrue: r.metrics.testAccuracyTrue };
          await writer.writeWeights("weights_best.safetensors", net, weightsMeta(r.metrics.epoch));
        }
        run.emit({ type: "epoch", metrics: r.metrics });
      },
      onCheckpoint: async (snap, _net, optimizer) => {
        await saveCheckpoint(writer.dir, net, optimizer, { ...snap, config: cfg, best, wallSeconds: wallSeconds() });
        if (run.options.faultNanAtEpoch === snap.epoch + 1) poisonTargetClassifier(net);
      },
      shouldStop: run.options.shouldStop,
    }, checkpoint && resumePoint(checkpoint));
    const summary: RunSummary = {
      testAccuracy: last!.testAccuracy,
      bestTestAccuracy: best.acc,
      bestEpoch: best.epoch,
      ...(last!.testAccuracyTrue !== undefined
        ? { testAccuracyTrue: last!.testAccuracyTrue, bestTestAccuracyTrue: best.accTrue }
        : {}),
      epochsCompleted: last!.epoch,
      wallSeconds: wallSeconds(),
      backend: run.choice.backend,
      backendReason: run.choice.reason,
      skippedImages: data.skipped.length,
      architecture,
      parameterCount: net.parameterCount(),
      inputSize: cfg.imageSize,
      narrowed: cfg.width !== 64,
      mode: cfg.mode,
      seed: cfg.seed,
    };
    writer.writeSummary(summary);
    return summary;
  } finally {
    net.dispose();
    data.close();
  }
}

/** The log lines a run starts with: backend, model, where it resumes. */
function logStart(cfg: TrainConfig, run: LoadedRun, architecture: string): void {
  const log = (message: string) => run.emit({ type: "log", message });
  log(`backend: ${run.choice.backend} (${run.choice.reason})`);
  log(
    `model: ${architecture}, ${
      run.net.parameterCount().toLocaleString("en")
    } parameters, input ${cfg.imageSize}x${cfg.imageSize}, stem ${stemFrozen(cfg) ? "frozen" : "trained"}`,
  );
  if (run.checkpoint) log(`resuming after epoch ${run.checkpoint.state.epoch} from ${run.checkpoint.path}`);
}

/** config.json, and noisy_labels.json (label noise) and skipped_images.json (real data sets). */
function writeStartFiles(writer: RunWriter, cfg: TrainConfig, { data, choice }: LoadedRun): void {
  const noisy = cfg.noise > 0 || cfg.noiseFile !== null;
  writer.writeStart(runConfigJson(cfg, { out: writer.dir, backend: choice, classes: data.classes }), {
    noisy: noisy
      ? {
        rate: cfg.noise,
        ...(cfg.noiseFile !== null ? { file: cfg.noiseFile } : {}),
        flipped: data.flipped,
        from: data.flippedFrom,
        to: data.flipped.map((i) => data.train.labels[i]),
        ...(data.trainIds ? { ids: data.flipped.map((i) => data.trainIds![i]) } : {}),
      }
      : undefined,
    skipped: data.skipped.length > 0 || cfg.dataset !== "synth" ? data.skipped : undefined,
  });
}

/** One epoch's records and the test set's features (the newest epoch's). */
function writeEpoch(writer: RunWriter, r: EpochResult, { net, data }: LoadedRun): void {
  writer.appendEpoch(r);
  const n = data.test.labels.length;
  const c = data.numClasses;
  writer.writeFeatures(r.test.features, {
    epoch: r.metrics.epoch,
    branch: "target",
    shape: [n, r.test.featureDim],
    classes: data.classes,
    labels: Array.from(data.test.labels),
    predictions: Array.from({ length: n }, (_, i) => argmax(r.test.logits, i * c, c)),
    // the official forward's third output (w_aux + w_tar) / 2 and each branch's own; a plain network has none
    ...(net.config.variant === "plain" ? {} : {
      attention: Array.from(r.test.attention),
      attentionAux: Array.from(r.test.attentionAux),
      attentionTarget: Array.from(r.test.attentionTarget),
    }),
  });
}

/** Where the loop continues from a checkpoint: its state, its weights and Adam's moments. */
function resumePoint(checkpoint: LoadedCheckpoint): ResumePoint {
  return {
    snapshot: checkpoint.state,
    restore: async (net, optimizer) => {
      net.loadArrays(checkpoint.model);
      await restoreOptimizer(optimizer, checkpoint);
    },
  };
}

/** For tests (`faultNanAtEpoch`): the target classifier's weights become NaN. */
function poisonTargetClassifier(net: AdaDfNet): void {
  const w = net.params.get("branch_2.fc.weight")!;
  w.assign(tf.fill(w.shape, NaN));
}

/**
 * Epoch checkpoints: everything a run needs to continue exactly where it stopped
 * (weights with BatchNorm statistics, Adam's moments and step count, the class
 * distributions, the generators' states, the metrics so far) in one safetensors file per
 * epoch, `checkpoints/epoch-NNNN.safetensors`, written atomically (temp file + rename) with a
 * SHA-256 checksum in its metadata. Loading verifies the checksum and falls back to the
 * previous checkpoint when the newest is corrupt or truncated. The last two are kept.
 */
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { AdaDfNet } from "../model/adadf_net.ts";
import { decodeSafetensors, encodeSafetensors, type NamedArray } from "../model/safetensors.ts";
import { finiteOrNull, readRegularFileSync, writeFileAtomic } from "../util/files.ts";
import type { TrainConfig } from "../config.ts";
import type { EpochMetrics } from "./records.ts";

/** The training state at the end of an epoch, besides the tensors. */
export interface TrainState {
  /** the last completed epoch */
  epoch: number;
  /** class distributions the next epoch fuses with, [C][C] */
  classRows: number[][];
  /** Prng states of the shuffling and augmentation generators */
  prng: { shuffle: number[]; augment: number[] };
  history: EpochMetrics[];
  best: { acc: number; epoch: number; accTrue?: number };
  /** wall-clock seconds of the run so far, over all its sessions */
  wallSeconds: number;
  /** Adam's step count */
  optimizerIterations: number;
  /** Adam's running beta1^t and beta2^t as float32 values (TF.js recomputes them with pow on restore, which differs
   * from the running product in the last bit; restoring them makes a resumed run bit-identical) */
  optimizerAccBeta?: [number, number];
  /** Adam's moment tensors in the order of the optimizer's variables */
  optimizerNames: string[];
  /**
   * The configuration the run trains with, as resolved when it started: a resume compares it
   * with the folder's config.json and refuses a difference (absent in older checkpoints)
   */
  config?: TrainConfig;
}

export const CHECKPOINT_DIR = "checkpoints";
const KEEP = 2;

function checkpointName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, "0")}.safetensors`;
}

/** The SHA-256 a checkpoint carries: of its state JSON, then each tensor's name and bytes in name order. */
export function checkpointDigest(tensors: Record<string, NamedArray>, state: string): string {
  const h = createHash("sha256");
  h.update(state);
  for (const name of Object.keys(tensors).sort()) {
    const d = tensors[name].data;
    h.update(name);
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest("hex");
}

/** Writes the checkpoint of `state.epoch` atomically and deletes all but the newest two. */
export async function saveCheckpoint(
  runDir: string,
  net: AdaDfNet,
  optimizer: tf.Optimizer,
  state: Omit<TrainState, "optimizerIterations" | "optimizerNames">,
): Promise<string> {
  const dir = join(runDir, CHECKPOINT_DIR);
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, NamedArray> = {};
  for (const [k, v] of Object.entries(await net.toArrays())) tensors[`model/${k}`] = v;
  const weights = await optimizer.getWeights();
  const [iter, ...moments] = weights;
  const optimizerIterations = (await iter.tensor.data())[0];
  const optimizerNames: string[] = [];
  for (const w of moments) {
    optimizerNames.push(w.name);
    tensors[`optimizer/${w.name}`] = { shape: w.tensor.shape, data: (await w.tensor.data()) as Float32Array };
  }
  const acc = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  const optimizerAccBeta: [number, number] | undefined = acc.accBeta1 && acc.accBeta2
    ? [(await acc.accBeta1.data())[0], (await acc.accBeta2.data())[0]]
    : undefined;
  const full: TrainState = { ...state, optimizerIterations, optimizerNames, optimizerAccBeta };
  const stateJson = JSON.stringify(full, finiteOrNull);
  const bytes = encodeSafetensors(tensors, { state: stateJson, sha256: checkpointDigest(tensors, stateJson) });
  const path = join(dir, checkpointName(state.epoch));
  writeFileAtomic(path, bytes);
  const all = listCheckpoints(runDir);
  for (const old of all.slice(KEEP)) rmSync(join(dir, old), { force: true });
  return path;
}

/** Checkpoint file names, newest first. */
export function listCheckpoints(runDir: string): string[] {
  const dir = join(runDir, CHECKPOINT_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /^epoch-\d{4}\.safetensors$/.test(f)).sort().reverse();
}

/** A checkpoint read back and verified. */
export interface LoadedCheckpoint {
  path: string;
  state: TrainState;
  model: Record<string, NamedArray>;
  optimizer: NamedArray[];
}

/**
 * What is inconsistent in a checkpoint's state, or undefined: its epoch must be the one its
 * file is named after and the length of its history, whose epochs run 1..epoch. (The checksum
 * catches corruption; these catch a hand-edited state whose checksum was recomputed.)
 */
function stateProblem(state: TrainState, path: string): string | undefined {
  if (state === null || typeof state !== "object") return "has no training state";
  const e = state.epoch;
  if (!Number.isInteger(e) || e < 1) return `says epoch ${JSON.stringify(e)}; expected an integer >= 1`;
  const named = /epoch-(\d+)\.safetensors$/.exec(path);
  if (named && Number(named[1]) !== e) return `says epoch ${e} but is named after epoch ${Number(named[1])}`;
  if (!Array.isArray(state.history) || state.history.length !== e) {
    return `says epoch ${e} but records ${
      Array.isArray(state.history) ? state.history.length : "no"
    } epochs of metrics`;
  }
  const k = state.history.findIndex((m, i) => m?.epoch !== i + 1);
  if (k >= 0) return `has metrics of epoch ${state.history[k]?.epoch} in place ${k + 1}`;
  if (!Array.isArray(state.optimizerNames)) return "has no optimizer state names";
  return undefined;
}

/** Reads and verifies one checkpoint file; throws a RangeError saying what is wrong. */
export function readCheckpoint(path: string): LoadedCheckpoint {
  let decoded;
  try {
    decoded = decodeSafetensors(readRegularFileSync(path, { what: "checkpoint" }));
  } catch (e) {
    throw new RangeError(`checkpoint ${path} is unreadable: ${(e as Error).message}`);
  }
  const { tensors, metadata } = decoded;
  if (typeof metadata.state !== "string" || typeof metadata.sha256 !== "string") {
    throw new RangeError(`checkpoint ${path} has no state or checksum in its metadata`);
  }
  if (checkpointDigest(tensors, metadata.state) !== metadata.sha256) {
    throw new RangeError(`checkpoint ${path} is corrupt: its SHA-256 checksum does not match`);
  }
  const state = JSON.parse(metadata.state) as TrainState;
  const problem = stateProblem(state, path);
  if (problem) throw new RangeError(`checkpoint ${path} ${problem}`);
  const model: Record<string, NamedArray> = {};
  for (const [k, v] of Object.entries(tensors)) if (k.startsWith("model/")) model[k.slice(6)] = v;
  const optimizer = state.optimizerNames.map((n) => {
    const t = tensors[`optimizer/${n}`];
    if (t === undefined) throw new RangeError(`checkpoint ${path} lacks optimizer tensor '${n}'`);
    return t;
  });
  return { path, state, model, optimizer };
}

/**
 * The newest checkpoint that verifies; `warnings` says which newer ones were skipped and why.
 * Undefined when the run has none that verifies.
 */
export function loadLatestCheckpoint(runDir: string): { checkpoint?: LoadedCheckpoint; warnings: string[] } {
  const warnings: string[] = [];
  for (const name of listCheckpoints(runDir)) {
    try {
      return { checkpoint: readCheckpoint(join(runDir, CHECKPOINT_DIR, name)), warnings };
    } catch (e) {
      warnings.push(`${(e as Error).message}; falling back to the previous checkpoint`);
    }
  }
  return { warnings };
}

/** Restores Adam's step count and moments (the optimizer must be fresh). */
export async function restoreOptimizer(optimizer: tf.Optimizer, ck: LoadedCheckpoint): Promise<void> {
  const weights: { name: string; tensor: tf.Tensor }[] = [{
    name: "iter",
    tensor: tf.scalar(ck.state.optimizerIterations, "int32"),
  }];
  ck.optimizer.forEach((t, i) =>
    weights.push({ name: ck.state.optimizerNames[i], tensor: tf.tensor(t.data, t.shape) })
  );
  await optimizer.setWeights(weights);
  tf.dispose(weights.map((w) => w.tensor));
  const acc = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  if (ck.state.optimizerAccBeta && acc.accBeta1 && acc.accBeta2) {
    acc.accBeta1.assign(tf.scalar(ck.state.optimizerAccBeta[0]));
    acc.accBeta2.assign(tf.scalar(ck.state.optimizerAccBeta[1]));
  }
}

/**
 * Finding and loading a trained model for `deno task eval` and `deno task predict`: a run
 * folder (`--run DIR`: its config.json says how it was trained, `weights_last` or
 * `weights_best.safetensors` holds it) or a weights file (`--weights FILE`: a run folder's
 * weights, a toolkit export, or an official Ada-DF checkpoint `.pth.tar`).
 * @module
 */
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TrainConfig } from "../config.ts";
import { CLASSES } from "../data/classes.ts";
import * as tf from "@tensorflow/tfjs";
import type { AdaDfNet } from "../model/adadf_net.ts";
import { AFFECTNET8_CLASSES, AFFECTNET_TO_CLASSES } from "../data/readers/affectnet.ts";
import { SFEW_FOLDERS } from "../data/readers/sfew.ts";
import { classOfFolderName } from "../data/readers/folder.ts";
import { netFromWeightsFile, type WeightsKind } from "../model/weights_import.ts";
import { readRunConfigJson, runConfigFromJson } from "../run/config_json.ts";

/** Input size the official code trains RAF-DB and AffectNet at (an official checkpoint's default). */
export const OFFICIAL_IMAGE_SIZE = 224;

/** A loaded model and what is known about how it was trained. */
export interface TrainedModel {
  net: AdaDfNet;
  /** the weights file read */
  weightsPath: string;
  kind: WeightsKind;
  /** the run's configuration (with `--run`) */
  runConfig?: TrainConfig;
  /** the model's input size where the run or the file records it */
  imageSize?: number;
  /** class names in output order */
  classes: readonly string[];
}

/** Where to load from: exactly one of `run` and `weights`; `which` picks a run's weights (default "last"). */
export interface TrainedModelSource {
  run?: string;
  weights?: string;
  which?: "best" | "last";
  /**
   * The data set an official Ada-DF checkpoint was trained on, which fixes its output order: the
   * official code keeps each data set's own ids (RAF-DB's is the toolkit's order; AffectNet's is
   * neutral, happy, sad, surprise, fear, disgust, anger(, contempt); SFEW's its alphabetical
   * folders). Default "raf-db". Ignored for the toolkit's own files.
   */
  checkpointClasses?: CheckpointClassOrder;
}

export const CHECKPOINT_CLASS_ORDERS = ["raf-db", "affectnet", "sfew"] as const;
export type CheckpointClassOrder = typeof CHECKPOINT_CLASS_ORDERS[number];

/** For an official checkpoint's output k, the `CLASSES` index it stands for (8 outputs: AffectNet's contempt stays 7). */
export function checkpointClassMap(order: CheckpointClassOrder, numClasses: number): number[] {
  const identity = Array.from({ length: numClasses }, (_, k) => k);
  if (order === "raf-db") return identity;
  if (order === "affectnet") return AFFECTNET_TO_CLASSES.slice(0, numClasses) as number[];
  return SFEW_FOLDERS.map((f) => classOfFolderName(f)!);
}

/**
 * Reorders both branches' classifier outputs so that output `map[k]` is the checkpoint's
 * output k: fc weight [in, C] columns and bias [C]. The attention heads are class-free.
 */
export function reorderClassOutputs(net: AdaDfNet, map: readonly number[]): void {
  const inverse = new Array<number>(map.length);
  map.forEach((to, from) => (inverse[to] = from));
  if (inverse.some((v) => v === undefined) || new Set(map).size !== map.length) {
    throw new RangeError(`class map [${map.join(", ")}] is not a permutation of 0..${map.length - 1}`);
  }
  for (const prefix of ["branch_1.fc", "branch_2.fc"]) {
    for (const [name, axis] of [[`${prefix}.weight`, 1], [`${prefix}.bias`, 0]] as const) {
      const v = net.params.get(name);
      if (v === undefined) throw new RangeError(`model parameter '${name}' is missing`);
      tf.tidy(() => v.assign(tf.gather(v, inverse, axis)));
    }
  }
}

/** The metadata of a safetensors file's header ({} for another format or a bad header); reads only the header. */
export function safetensorsMetadata(path: string): Record<string, string> {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const head = new Uint8Array(8);
    if (readSync(fd, head, 0, 8, 0) !== 8) return {};
    const len = Number(new DataView(head.buffer).getBigUint64(0, true));
    if (!(len > 1 && len < 100 * 2 ** 20)) return {};
    const json = new Uint8Array(len);
    if (readSync(fd, json, 0, len, 8) !== len) return {};
    const header = JSON.parse(new TextDecoder().decode(json));
    return header?.__metadata__ ?? {};
  } catch {
    return {};
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The input size a weights file records: the toolkit's metadata `config.imageSize` or an export's sidecar. */
function recordedImageSize(path: string, sidecar?: Record<string, unknown>): number | undefined {
  const md = safetensorsMetadata(path);
  for (const text of [md.config, md.adadf]) {
    if (!text) continue;
    try {
      const o = JSON.parse(text);
      const s = o.imageSize ?? o.config?.imageSize;
      if (Number.isInteger(s)) return s;
    } catch {
      // not JSON: nothing recorded
    }
  }
  const s = (sidecar?.config as Record<string, unknown> | undefined)?.imageSize;
  return Number.isInteger(s) ? s as number : undefined;
}

/**
 * Loads the model of a run folder or a weights file. Throws a RangeError (or `WeightsError`)
 * with a one-line message for a folder that is not a run, missing weights, or a bad file.
 */
export async function loadTrainedModel(
  source: TrainedModelSource,
  options: { onNotice?: (message: string) => void } = {},
): Promise<TrainedModel> {
  if ((source.run === undefined) === (source.weights === undefined)) {
    throw new RangeError("give exactly one of --run DIR and --weights FILE");
  }
  let runConfig: TrainConfig | undefined;
  let classes: readonly string[] = CLASSES;
  let path: string;
  if (source.run !== undefined) {
    const dir = resolve(source.run);
    const raw = readRunConfigJson(dir);
    runConfig = runConfigFromJson(raw);
    if (Array.isArray(raw.classes)) classes = raw.classes;
    const which = source.which ?? "last";
    path = join(dir, `weights_${which}.safetensors`);
    if (!existsSync(path)) {
      throw new RangeError(`${dir} has no weights_${which}.safetensors (has the run finished an epoch?)`);
    }
  } else {
    path = resolve(source.weights!);
    if (!existsSync(path)) throw new RangeError(`--weights ${source.weights} does not exist`);
  }
  const loaded = await netFromWeightsFile(path, { attentionOn: runConfig?.attentionOn, onNotice: options.onNotice });
  const order = source.checkpointClasses ?? "raf-db";
  if (!CHECKPOINT_CLASS_ORDERS.includes(order)) {
    throw new RangeError(`checkpoint classes must be one of ${CHECKPOINT_CLASS_ORDERS.join(", ")}, got '${order}'`);
  }
  if (loaded.result.kind === "adadf" && order !== "raf-db") {
    const c = loaded.config.numClasses;
    if (c !== 7 && !(order === "affectnet" && c === 8)) {
      throw new RangeError(
        `an official ${order} checkpoint has ${order === "sfew" ? 7 : "7 or 8"} outputs, this one ${c}`,
      );
    }
    reorderClassOutputs(loaded.net, checkpointClassMap(order, c));
    options.onNotice?.(`official checkpoint: outputs reordered from ${order}'s class order to ${CLASSES.join(", ")}`);
  }
  const sideClasses = loaded.sidecar?.classes;
  if (runConfig === undefined && Array.isArray(sideClasses)) classes = sideClasses as string[];
  if (classes.length !== loaded.config.numClasses) {
    classes = loaded.config.numClasses === CLASSES.length
      ? CLASSES
      : loaded.config.numClasses === AFFECTNET8_CLASSES.length
      ? AFFECTNET8_CLASSES
      : Array.from({ length: loaded.config.numClasses }, (_, i) => CLASSES[i] ?? `class${i}`);
  }
  return {
    net: loaded.net,
    weightsPath: path,
    kind: loaded.result.kind,
    ...(runConfig ? { runConfig } : {}),
    imageSize: runConfig?.imageSize ?? recordedImageSize(path, loaded.sidecar),
    classes,
  };
}

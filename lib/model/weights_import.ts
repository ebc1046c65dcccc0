/**
 * Mapping PyTorch weights onto an `AdaDfNet` (METHOD.md "Model"):
 * - a torchvision/timm ResNet-18 or ResNet-50 `state_dict` (`resnet18_msceleb.pth`), bare
 *   or under a `state_dict` key, with or without DataParallel's `module.` prefix: conv1,
 *   bn1 and layer1 into the stem; layer2-4 and fc into both branches (model.py's deep
 *   copy); an fc whose class count differs from the model's is skipped with a notice, and
 *   the attention heads keep their initialisation;
 * - an official Ada-DF checkpoint (train.py's `{epoch, state_dict, acc, best_acc, optimizer,
 *   class_distributions}`) or a toolkit export (official names, safetensors): the whole
 *   dual-branch model, aliases accepted, class distributions returned;
 * - the toolkit's own safetensors (`weights_*.safetensors` of a run folder, toolkit layout).
 * Every problem is a `WeightsError` whose one-line message names the first offending key
 * with the shape the file has and the shape the model expects (both in PyTorch's layout).
 */
import * as tf from "@tensorflow/tfjs";
import { AdaDfNet, DEFAULT_MODEL_CONFIG, type ModelConfig } from "./adadf_net.ts";
import { fromTorchLayout, officialNames, resnetName, torchShape } from "./_official_names.ts";
import { isTorchTensor, readWeightsFile, type TorchTensor, WeightsError, type WeightsFile } from "./torch_file.ts";
import { checkArchitecture, expectedParams } from "./_arch_check.ts";

export { WeightsError };

/** What a weights file holds: a plain ResNet, the whole Ada-DF model, or the toolkit's own layout. */
export type WeightsKind = "resnet" | "adadf" | "native";

/** What `loadPretrainedInto` did. */
export interface LoadResult {
  kind: WeightsKind;
  /** the model's parameters that were overwritten (toolkit names) */
  loaded: string[];
  /** the file's keys that were not used (an fc with another class count) */
  skipped: string[];
  /** the checkpoint's class distributions [C][C] (official checkpoints and toolkit exports) */
  classDistributions?: number[][];
}

/** The state dict of a file, its kind, and what else it carries. */
export interface StateDict {
  kind: WeightsKind;
  /** tensors by key, `module.` prefixes removed */
  tensors: Record<string, TorchTensor>;
  classDistributions?: TorchTensor;
}

const shapeText = (s: number[]) => `[${s.join(",")}]`;

/** What the planner needs of a network: its config and its parameters' shapes (an `AdaDfNet`, or `expectedParams` before one is built). */
type ModelShape = { config: ModelConfig; params: ReadonlyMap<string, { shape: number[] }> };

/** A WeightsError of the planner, its message naming the file (`weights: PATH: ...`). */
function naming(e: unknown, path: string): unknown {
  if (!(e instanceof WeightsError) || e.message.includes(path)) return e;
  return new WeightsError(e.message.replace(/^(weights: )?/, `weights: ${path}: `));
}

/** A JSON string of a file's metadata, parsed; bad JSON is a WeightsError naming the file and the field. */
function metadataJson(file: WeightsFile, field: string): Record<string, unknown> | undefined {
  const text = file.metadata[field];
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new WeightsError(`weights: ${file.path}: its metadata '${field}' is not JSON`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new WeightsError(`weights: ${file.path}: its metadata '${field}' is not a JSON object`);
  }
  return v as Record<string, unknown>;
}

/**
 * Finds the state dict in a file: the root itself, or its `state_dict` (or `model`) entry;
 * strips `module.`; tells the kinds apart by their key names.
 * @throws {WeightsError} when the file holds no tensors under recognisable names
 */
export function findStateDict(file: WeightsFile): StateDict {
  const root = file.root as Record<string, unknown>;
  if (root === null || typeof root !== "object" || Array.isArray(root) || isTorchTensor(root)) {
    throw new WeightsError(`weights: ${file.path} holds no dict of tensors (a state_dict or a checkpoint dict)`);
  }
  let dict = root;
  for (const k of ["state_dict", "model", "model_state_dict"]) {
    const v = root[k];
    if (v !== null && typeof v === "object" && !Array.isArray(v) && !isTorchTensor(v)) {
      dict = v as Record<string, unknown>;
      break;
    }
  }
  const tensors: Record<string, TorchTensor> = {};
  for (const [k, v] of Object.entries(dict)) {
    if (isTorchTensor(v)) tensors[k.startsWith("module.") ? k.slice("module.".length) : k] = v;
  }
  const keys = Object.keys(tensors);
  const cd = root["class_distributions"];
  const classDistributions = isTorchTensor(cd) ? cd : undefined;
  if (file.metadata.format === "ada-df-ts" || "feature.conv1.weight" in tensors) {
    return { kind: "native", tensors };
  }
  if (keys.some((k) => /^(feature|branch_[12]|alpha_[12])[._]/.test(k))) {
    return { kind: "adadf", tensors, classDistributions };
  }
  if ("conv1.weight" in tensors || keys.some((k) => k.startsWith("layer1."))) return { kind: "resnet", tensors };
  const sample = keys.slice(0, 3).join("', '");
  throw new WeightsError(
    `weights: ${file.path} is not a ResNet or Ada-DF state_dict` +
      (keys.length ? ` (its keys start '${sample}')` : " (it holds no tensors)"),
  );
}

/**
 * The architecture a state dict was saved from: backbone, width (conv1's channels), classes.
 * Lets `eval --weights` / `predict --weights` build the right `AdaDfNet` before loading.
 */
export function inferModelConfig(sd: StateDict, metadata: Record<string, string> = {}): Partial<ModelConfig> {
  const t = sd.tensors;
  // a native file without attention heads is a plain network (the baseline); a ResNet file
  // loaded as a model of its own (netFromWeightsFile) is one too
  const variant: ModelConfig["variant"] = sd.kind === "resnet" || (sd.kind === "native" && !("alpha_2.weight" in t))
    ? "plain"
    : "adadf";
  if (sd.kind === "native" && metadata.config) {
    let c: Record<string, never>;
    try {
      c = JSON.parse(metadata.config) ?? {};
    } catch {
      throw new WeightsError("weights: the file's metadata 'config' is not JSON");
    }
    return { backbone: c.backbone, width: c.width, numClasses: c.numClasses, attentionOn: c.attentionOn, variant };
  }
  const [conv1, fc, conv3] = sd.kind === "adadf"
    ? [t["feature.0.weight"], t["branch_2.4.weight"] ?? t["branch_2_classifier.weight"], "feature.4.0.conv3.weight"]
    : sd.kind === "native"
    ? [t["feature.conv1.weight"], t["branch_2.fc.weight"], "feature.layer1.0.conv3.weight"]
    : [t["conv1.weight"], t["fc.weight"], "layer1.0.conv3.weight"];
  const out: Partial<ModelConfig> = { backbone: conv3 in t ? "resnet50" : "resnet18" };
  if (sd.kind !== "adadf") out.variant = variant;
  // (a tensor of the wrong rank leaves the field out: the shape check names it)
  if (conv1?.shape.length === 4) out.width = sd.kind === "native" ? conv1.shape[3] : conv1.shape[0];
  if (fc?.shape.length === 2) out.numClasses = sd.kind === "native" ? fc.shape[1] : fc.shape[0];
  return out;
}

/** A hint for a wrong architecture, appended to a shape error. */
function archHint(net: ModelShape, keys: string[]): string {
  const hasConv3 = keys.some((k) => /conv3\.weight$/.test(k));
  if (net.config.backbone === "resnet18" && hasConv3) return " (ResNet-50 weights for a ResNet-18 model?)";
  if (net.config.backbone === "resnet50" && !hasConv3) return " (ResNet-18/34 weights for a ResNet-50 model?)";
  return "";
}

function checkShape(net: ModelShape, key: string, t: TorchTensor, expected: number[], keys: string[]) {
  if (shapeText(t.shape) !== shapeText(expected)) {
    throw new WeightsError(
      `weights: key '${key}' has shape ${shapeText(t.shape)} in the file, the model expects ${shapeText(expected)}` +
        archHint(net, keys),
    );
  }
}

function missing(net: ModelShape, key: string, expected: number[], keys: string[]): never {
  throw new WeightsError(
    `weights: key '${key}' is missing from the file (the model expects ${shapeText(expected)})${archHint(net, keys)}`,
  );
}

/** Plans the copies (toolkit name <- tensor) for each kind; throws on the first missing or mis-shaped key. */
function plan(net: ModelShape, sd: StateDict, notice: (m: string) => void) {
  const keys = Object.keys(sd.tensors);
  const copies: { name: string; tensor: TorchTensor; layout: "torch" | "tfjs" }[] = [];
  const used = new Set<string>();
  const skipped: string[] = [];
  for (const [name, v] of net.params) {
    const expected = torchShape(v.shape);
    if (sd.kind === "native") {
      const t = sd.tensors[name];
      if (t === undefined) missing(net, name, v.shape, keys);
      checkShape(net, name, t, v.shape, keys);
      copies.push({ name, tensor: t, layout: "tfjs" });
      used.add(name);
    } else if (sd.kind === "adadf") {
      const candidates = officialNames(name);
      const key = candidates.find((k) => k in sd.tensors);
      if (key === undefined) missing(net, candidates[0], expected, keys);
      checkShape(net, key, sd.tensors[key], expected, keys);
      copies.push({ name, tensor: sd.tensors[key], layout: "torch" });
      for (const k of candidates) used.add(k);
    } else {
      // resnet: the stem and branch 1 from the file; branch 2 copies branch 1; heads stay
      const source = resnetName(name.replace(/^branch_2\./, "branch_1."));
      if (source === undefined) continue;
      const t = sd.tensors[source];
      if (/^fc\./.test(source) && (t === undefined || shapeText(t.shape) !== shapeText(expected))) {
        // a classifier for other classes (MS-Celeb-1M's, ImageNet's): the model keeps its own
        if (t !== undefined && !skipped.includes(source)) skipped.push(source);
        used.add(source);
        continue;
      }
      if (t === undefined) missing(net, source, expected, keys);
      checkShape(net, source, t, expected, keys);
      copies.push({ name, tensor: t, layout: "torch" });
      used.add(source);
    }
  }
  // keys the model has no place for (num_batches_tracked is PyTorch's BatchNorm counter, not needed)
  const extra = keys.find((k) => !used.has(k) && !k.endsWith("num_batches_tracked"));
  if (extra !== undefined) {
    throw new WeightsError(
      `weights: key '${extra}' (shape ${shapeText(sd.tensors[extra].shape)}) in the file has no place in the model` +
        archHint(net, keys),
    );
  }
  if (sd.kind === "resnet") {
    const fc = sd.tensors["fc.weight"];
    if (fc !== undefined && skipped.includes("fc.weight")) {
      notice(
        `weights: the file's fc has ${fc.shape[0]} classes, the model ${net.config.numClasses}: ` +
          `skipped (${skipped.join(", ")}), ${
            net.config.variant === "plain" ? "the model keeps its" : "both branches keep their"
          } initial fc`,
      );
    }
    notice(
      net.config.variant === "plain"
        ? "weights: a ResNet file: the plain network starts from it"
        : "weights: a ResNet file: the stem and both branches start from it; the attention heads keep their initialisation",
    );
  }
  return { copies, skipped };
}

/**
 * Loads a weights file (a path, or what `readWeightsFile` returned) into `net`, all or
 * nothing: every key is checked before any tensor is overwritten.
 * @throws {WeightsError} one line naming the first offending key, the file's and the model's shapes
 */
export async function loadPretrainedInto(
  net: AdaDfNet,
  file: string | WeightsFile,
  options: { onNotice?: (message: string) => void } = {},
): Promise<LoadResult> {
  const wf = typeof file === "string" ? await readWeightsFile(file) : file;
  const sd = findStateDict(wf);
  let planned;
  try {
    planned = plan(net, sd, options.onNotice ?? (() => {}));
  } catch (e) {
    throw naming(e, wf.path);
  }
  const { copies, skipped } = planned;
  let classDistributions: number[][] | undefined;
  if (sd.classDistributions) {
    const c = net.config.numClasses;
    const t = sd.classDistributions;
    try {
      checkShape(net, "class_distributions", t, [c, c], []);
    } catch (e) {
      throw naming(e, wf.path);
    }
    classDistributions = Array.from({ length: c }, (_, i) => Array.from(t.data.subarray(i * c, (i + 1) * c)));
  } else if (sd.kind === "native" || (sd.kind === "adadf" && wf.format === "safetensors")) {
    const rows = (metadataJson(wf, "adadf") ?? metadataJson(wf, "sidecar"))?.classDistributions;
    const c = net.config.numClasses;
    if (
      Array.isArray(rows) && rows.length === c &&
      rows.every((r) => Array.isArray(r) && r.length === c && r.every((x) => typeof x === "number"))
    ) classDistributions = rows as number[][];
  }
  // every value read (a file's tensors are read on first use) before any parameter changes
  const values = copies.map(({ name, tensor, layout }) => {
    const shape = net.params.get(name)!.shape;
    return layout === "torch" ? fromTorchLayout(tensor.data, shape) : tensor.data;
  });
  // a NaN or an infinity would come out of wasm's kernels as finite, plausible probabilities
  values.forEach((data, i) => {
    const bad = firstNonFinite(data);
    if (bad >= 0) {
      throw new WeightsError(
        `weights: ${wf.path}: '${copies[i].name}' holds a non-finite value (${data[bad]} at index ${bad}); ` +
          "expected finite weights",
      );
    }
  });
  tf.tidy(() => {
    copies.forEach(({ name }, i) => {
      const v = net.params.get(name)!;
      v.assign(tf.tensor(values[i], v.shape));
    });
  });
  return {
    kind: sd.kind,
    loaded: copies.map((c) => c.name),
    skipped,
    ...(classDistributions ? { classDistributions } : {}),
  };
}

/** A model built to fit a weights file, with the weights in it. */
export interface LoadedModel {
  net: AdaDfNet;
  config: ModelConfig;
  result: LoadResult;
  /** the export's sidecar (classes, classDistributions, config) where the file carries one */
  sidecar?: Record<string, unknown>;
}

/**
 * Builds the `AdaDfNet` a trained-model file needs (backbone, width and classes read from
 * its tensors, `attentionOn` from its sidecar, else `options.attentionOn`, else the
 * code's "logits") and loads the file into it: what `eval --weights` and
 * `predict --weights` need. Official checkpoints, toolkit exports and run-folder weights.
 * @throws {WeightsError} for a plain ResNet file (it has no trained Ada-DF heads) and for any load error
 */
export async function netFromWeightsFile(
  path: string,
  options: { attentionOn?: ModelConfig["attentionOn"]; onNotice?: (message: string) => void } = {},
): Promise<LoadedModel> {
  const wf = await readWeightsFile(path);
  const sd = findStateDict(wf);
  if (sd.kind === "resnet") {
    // a plain ResNet is a model of its own (the baseline's export) when its fc has the toolkit's classes
    const fc = sd.tensors["fc.weight"];
    if (fc === undefined || fc.shape.length !== 2 || ![7, 8].includes(fc.shape[0])) {
      throw new WeightsError(
        `weights: ${path} is a plain ResNet state_dict without a 7- or 8-class fc` +
          `${fc ? ` (its fc has ${fc.shape[0]} outputs)` : ""}; use it with train --pretrained`,
      );
    }
  }
  const sidecar = metadataJson(wf, "adadf");
  metadataJson(wf, "config"); // bad JSON named with the path here, before inferModelConfig reads it
  const saved = (sidecar?.config ?? {}) as Partial<ModelConfig>;
  const inferred = inferModelConfig(sd, wf.metadata);
  const config: ModelConfig = {
    ...DEFAULT_MODEL_CONFIG,
    ...inferred,
    attentionOn: saved.attentionOn ?? inferred.attentionOn ?? options.attentionOn ?? "logits",
  };
  // the architecture and every tensor's shape are checked before the network is built
  checkArchitecture(config, path);
  try {
    plan({ config, params: expectedParams(config) }, sd, () => {});
  } catch (e) {
    throw naming(e, path);
  }
  const net = new AdaDfNet(config);
  try {
    const result = await loadPretrainedInto(net, wf, { onNotice: options.onNotice });
    return { net, config, result, ...(sidecar ? { sidecar } : {}) };
  } catch (e) {
    net.dispose();
    throw e;
  }
}

/** Index of the first NaN or infinity in `a`, or -1. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

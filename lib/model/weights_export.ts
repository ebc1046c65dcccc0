/**
 * Writing a trained `AdaDfNet` back to PyTorch (a plain network, the baseline, as a
 * torchvision ResNet; see `officialStateDict`): safetensors under the official code's
 * state_dict names (model.py: `feature.0.weight`, `branch_1.0.0.conv1.weight`,
 * `branch_1_classifier.weight`, `alpha_1.0.bias`, ... with every alias and every
 * BatchNorm's `num_batches_tracked`), PyTorch layouts (conv [Cout, Cin, KH, KW], linear
 * [out, in]), so that `model.load_state_dict(safetensors.torch.load_file(path), strict=True)`
 * loads it into the official model. A JSON sidecar next to it carries what a state_dict
 * cannot: the configuration, the class names and the class distributions. An I/O module.
 */
import { writeFileAtomic } from "../util/files.ts";
import type { AdaDfNet } from "./adadf_net.ts";
import { officialNames, torchShape, toTorchLayout } from "./_official_names.ts";
import { encodeTypedSafetensors, type TypedArrayEntry } from "./safetensors.ts";

export { encodeTypedSafetensors, type TypedArrayEntry };

/** What the sidecar JSON holds besides the tensors. */
export interface ExportSidecar {
  /** the architecture and whatever else of the training configuration is worth keeping */
  config?: Record<string, unknown>;
  classes?: string[];
  /** [C][C] class distributions mined last */
  classDistributions?: number[][];
  [extra: string]: unknown;
}

/**
 * The official model's state dict of `net`, in the official key order: for each toolkit
 * parameter its primary name and its alias, and `num_batches_tracked` (0) after each
 * BatchNorm's running variance. A plain network (the baseline, `variant: "plain"`) is a
 * torchvision ResNet: `conv1`, `bn1`, `layer1`-`layer4`, `fc`, in torchvision's order, so
 * that `torchvision.models.resnet18(num_classes=7).load_state_dict(sd, strict=True)` takes it.
 */
export async function officialStateDict(net: AdaDfNet): Promise<Record<string, TypedArrayEntry>> {
  const arrays = await net.toArrays();
  const plain = net.config.variant === "plain";
  const names = (name: string) => plain ? [torchvisionName(name)] : officialNames(name);
  const entries: [string, TypedArrayEntry][] = [];
  for (const [name, { shape, data }] of Object.entries(arrays)) {
    const entry: TypedArrayEntry = { dtype: "F32", shape: torchShape(shape), data: toTorchLayout(data, shape) };
    for (const k of names(name)) entries.push([k, entry]);
    if (name.endsWith(".running_var")) {
      const counter: TypedArrayEntry = { dtype: "I64", shape: [], data: new BigInt64Array(1) };
      for (const k of names(name.replace(/running_var$/, "num_batches_tracked"))) entries.push([k, counter]);
    }
  }
  // state_dict()'s order: the modules as model.py (torchvision) registers them (a stable sort keeps the order inside each)
  const order = plain ? TORCHVISION_ORDER : MODULE_ORDER;
  const rank = (k: string) => order.indexOf(k.slice(0, k.indexOf(".")));
  entries.sort((a, b) => rank(a[0]) - rank(b[0]));
  return Object.fromEntries(entries);
}

const MODULE_ORDER = [
  "feature",
  "branch_1",
  "branch_1_feature",
  "branch_1_classifier",
  "branch_2",
  "branch_2_feature",
  "branch_2_classifier",
  "alpha_1",
  "alpha_2",
];

const TORCHVISION_ORDER = ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc"];

/** torchvision's name of a plain network's parameter: `feature.layer1.0.conv1.weight` -> `layer1.0.conv1.weight`, `branch_2.fc.bias` -> `fc.bias`. */
function torchvisionName(name: string): string {
  for (const prefix of ["feature.", "branch_2."]) if (name.startsWith(prefix)) return name.slice(prefix.length);
  throw new RangeError(`no torchvision name for the parameter '${name}'`);
}

/** The sidecar's path: `model.safetensors` -> `model.json`. */
export function sidecarPath(path: string): string {
  return path.replace(/\.safetensors$/, "") + ".json";
}

/**
 * Writes `net` as safetensors under the official names at `path` (atomically), and the
 * sidecar JSON (`config` completed with the architecture, `classes`, `classDistributions`)
 * at `sidecarPath(path)`; the sidecar is also kept in the file's metadata under `adadf`.
 * Returns the number of keys written and the sidecar's path.
 */
export async function exportOfficialSafetensors(
  net: AdaDfNet,
  path: string,
  sidecar: ExportSidecar = {},
): Promise<{ keys: number; sidecarPath: string }> {
  const tensors = await officialStateDict(net);
  const full: ExportSidecar = {
    format: net.config.variant === "plain" ? "torchvision-resnet" : "ada-df-official",
    ...sidecar,
    config: { ...net.config, ...(sidecar.config ?? {}) },
  };
  const json = JSON.stringify(full, null, 2);
  const bytes = encodeTypedSafetensors(tensors, { format: "pt", adadf: JSON.stringify(full) });
  writeFileAtomic(path, bytes);
  const side = sidecarPath(path);
  writeFileAtomic(side, json + "\n");
  return { keys: Object.keys(tensors).length, sidecarPath: side };
}

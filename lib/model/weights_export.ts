/**
 * Writing a trained `AdaDfNet` back to PyTorch: safetensors under the official code's
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

/** One tensor to write: float32 values or int64 counters. */
export interface TypedArrayEntry {
  dtype: "F32" | "I64";
  shape: number[];
  data: Float32Array | BigInt64Array;
}

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
 * BatchNorm's running variance.
 */
export async function officialStateDict(net: AdaDfNet): Promise<Record<string, TypedArrayEntry>> {
  const arrays = await net.toArrays();
  const entries: [string, TypedArrayEntry][] = [];
  for (const [name, { shape, data }] of Object.entries(arrays)) {
    const entry: TypedArrayEntry = { dtype: "F32", shape: torchShape(shape), data: toTorchLayout(data, shape) };
    for (const k of officialNames(name)) entries.push([k, entry]);
    if (name.endsWith(".running_var")) {
      const counter: TypedArrayEntry = { dtype: "I64", shape: [], data: new BigInt64Array(1) };
      for (const k of officialNames(name.replace(/running_var$/, "num_batches_tracked"))) entries.push([k, counter]);
    }
  }
  // state_dict()'s order: the modules as model.py registers them (a stable sort keeps the order inside each)
  const rank = (k: string) => MODULE_ORDER.indexOf(k.slice(0, k.indexOf(".")));
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

/** Encodes F32 and I64 tensors (in the given order) and string metadata as safetensors. */
export function encodeTypedSafetensors(
  tensors: Record<string, TypedArrayEntry>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new RangeError(`tensor '${name}' has ${t.data.length} values, its shape [${t.shape}] needs ${n}`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += " ";
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
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
    format: "ada-df-official",
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

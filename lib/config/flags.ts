/**
 * The command-line flags of the training configuration, each described once: its name, the
 * kind of value it takes, its help text and the `TrainConfig` field it sets. From this one
 * table come every task's `--help` lines ({@linkcode flagHelp}), its `node:util` parseArgs
 * options ({@linkcode flagOptions}) and the mapping of parsed flags onto a configuration
 * layer ({@linkcode flagsToLayer}). Validation happens once, at the edge: a flag's kind is
 * checked here (a number, an integer, true/false), its range by `validateConfig` when the
 * layers are resolved. `deno task train` takes every flag of {@linkcode TRAIN_FLAGS}; eval
 * and predict take the data-set and inference ones, compare passes train's on.
 *
 * TF-free: parsing flags and printing `--help` load no TF.js (tests/config/tf_free_test.ts).
 *
 * @module
 */
import { BACKENDS } from "./backends.ts";
import { ConfigError, DATASET_PRESETS, DATASETS, DEFAULT_CONFIG, type Layer, MODES, SYNTH_PRESET } from "../config.ts";

/**
 * How a flag's value is read: `string` as given; `number` / `integer` a finite number (the
 * whole string); `boolean` true or false; `boolean-or-auto` true, false or auto; `switch` a
 * flag without a value (`--quiet`).
 */
export type FlagKind = "string" | "number" | "integer" | "boolean" | "boolean-or-auto" | "switch";

/** One flag of the table. */
export interface FlagSpec {
  /** the name without `--` */
  readonly name: string;
  readonly kind: FlagKind;
  /** the value's placeholder in `--help` ("N", "DIR") or its choices ("true|false") */
  readonly value?: string;
  /** the help text; lines after the first are indented under it */
  readonly help: string;
  /**
   * The `TrainConfig` field the flag sets, dotted for a nested one (`synth.trainSize`);
   * absent for a flag the task reads itself (`--resume`, `--config`, `--quiet`).
   */
  readonly path?: string;
  /** a one-letter alias (`-h`) */
  readonly short?: string;
  /**
   * Appended to the help as `(default ...)`: `true` the value of `DEFAULT_CONFIG` and the
   * presets that set it (SynthFER's, the data sets'), a string as given; absent: nothing.
   */
  readonly showDefault?: true | string;
}

/** Every flag of the training configuration, in `deno task train --help`'s order. */
export const FLAG_TABLE: readonly FlagSpec[] = [
  {
    name: "dataset",
    kind: "string",
    value: DATASETS.join("|"),
    path: "dataset",
    help: "(default synth, generated) a data set brings its published t, beta, batch size,\n" +
      "sampling, TenCrop (raf-db t .7 beta 3; affectnet t .5 beta 5, class-balanced epochs;\n" +
      "sfew t .5 beta 5, batch 16, TenCrop 224 from 256, rand-m3-n5); flags override them\n" +
      "(the presets: lib/config/presets.ts)",
  },
  {
    name: "data-path",
    kind: "string",
    value: "DIR",
    path: "dataPath",
    help: "where a real data set lies, in its distributed layout (data/README.md)",
  },
  {
    name: "cache",
    kind: "string",
    value: "memory|disk|auto",
    path: "cache",
    help: "where decoded faces live (auto: memory under 2 GiB; disk: data/cache/datasets)",
  },
  {
    name: "affectnet-classes",
    kind: "integer",
    value: "7|8",
    path: "affectnetClasses",
    help: "AffectNet-7 (default, contempt dropped) or 8",
  },
  {
    name: "balanced-sampling",
    kind: "boolean",
    value: "true|false",
    path: "balancedSampling",
    help: "class-balanced epochs (default true for affectnet)",
  },
  {
    name: "ten-crop",
    kind: "boolean",
    value: "true|false",
    path: "tenCrop",
    help: "TenCrop in training and at test time (default true for sfew)",
  },
  {
    name: "mode",
    kind: "string",
    value: MODES.join("|"),
    path: "mode",
    showDefault: true,
    help: "the method or an ablation row of Table 2",
  },
  { name: "backbone", kind: "string", value: "resnet18|resnet50", path: "backbone", showDefault: true, help: "" },
  {
    name: "width",
    kind: "integer",
    value: "N",
    path: "width",
    help: "channels of conv1/layer1 (64 = torchvision; SynthFER default 16)",
  },
  { name: "epochs", kind: "integer", value: "N", path: "epochs", showDefault: true, help: "" },
  { name: "batch-size", kind: "integer", value: "N", path: "batchSize", showDefault: true, help: "" },
  { name: "lr", kind: "number", value: "X", path: "lr", showDefault: true, help: "Adam's learning rate" },
  {
    name: "lr-gamma",
    kind: "number",
    value: "X",
    path: "lrGamma",
    showDefault: true,
    help: "ExponentialLR's factor per epoch",
  },
  { name: "threshold", kind: "number", value: "T", path: "threshold", showDefault: true, help: "t of eq. 6-7" },
  { name: "beta", kind: "number", value: "B", path: "beta", showDefault: true, help: "beta of eq. 15-16" },
  {
    name: "min-weight",
    kind: "number",
    value: "W",
    path: "minWeight",
    showDefault: true,
    help: "w_min of eq. 11",
  },
  {
    name: "max-weight",
    kind: "number",
    value: "W",
    path: "maxWeight",
    showDefault: true,
    help: "the largest fusion weight",
  },
  { name: "margin", kind: "number", value: "D", path: "margin", showDefault: true, help: "delta of eq. 10" },
  {
    name: "tops",
    kind: "number",
    value: "F",
    path: "tops",
    showDefault: true,
    help: "share of the batch in the high-attention group, eq. 9",
  },
  {
    name: "threshold-rows",
    kind: "string",
    value: "paper|code",
    path: "thresholdRows",
    showDefault: true,
    help: "eq. 7's off-diagonal: (1 - t)/(C - 1), or the code's 0.4/(C - 1)",
  },
  {
    name: "detach-targets",
    kind: "boolean",
    value: "true|false",
    path: "detachTargets",
    showDefault: true,
    help: "no gradient through the fused targets",
  },
  {
    name: "attention-on",
    kind: "string",
    value: "logits|features",
    path: "attentionOn",
    showDefault: true,
    help: "what the attention heads look at",
  },
  {
    name: "image-size",
    kind: "integer",
    value: "S",
    path: "imageSize",
    help: "model input size (default 100; SynthFER 48; SFEW 224, the crop of a 256 face)",
  },
  {
    name: "freeze-stem",
    kind: "boolean-or-auto",
    value: "true|false|auto",
    path: "freezeStem",
    help: "(auto: frozen with pretrained weights, trained from random ones)",
  },
  {
    name: "noise",
    kind: "number",
    value: "RATE",
    path: "noise",
    help: "flip this fraction of training labels per class (seeded)",
  },
  {
    name: "noise-file",
    kind: "string",
    value: "FILE",
    path: "noiseFile",
    help: "a noisy label list (EAC's EmoLabel/noise01.txt format) for the training images",
  },
  {
    name: "pretrained",
    kind: "string",
    value: "FILE",
    path: "pretrained",
    help: "start from weights: a ResNet state_dict (resnet18_msceleb.pth), an official\n" +
      "Ada-DF checkpoint, or a toolkit .safetensors; the stem is then frozen",
  },
  { name: "seed", kind: "integer", value: "N", path: "seed", showDefault: true, help: "" },
  { name: "backend", kind: "string", value: BACKENDS.join("|"), path: "backend", showDefault: true, help: "" },
  {
    name: "synth-seed",
    kind: "integer",
    value: "N",
    path: "synth.seed",
    showDefault: true,
    help: "SynthFER's own seed (runs with different --seed train on the same faces)",
  },
  {
    name: "synth-train",
    kind: "integer",
    value: "N",
    path: "synth.trainSize",
    showDefault: true,
    help: "SynthFER training faces",
  },
  {
    name: "synth-test",
    kind: "integer",
    value: "N",
    path: "synth.testSize",
    showDefault: true,
    help: "SynthFER test faces",
  },
  {
    name: "synth-annotators",
    kind: "integer",
    value: "K",
    path: "synth.annotators",
    showDefault: true,
    help: "SynthFER's simulated annotators per face",
  },
  {
    name: "synth-ambiguous",
    kind: "number",
    value: "F",
    path: "synth.ambiguousFraction",
    showDefault: true,
    help: "share of SynthFER faces that blend two expressions",
  },
  {
    name: "synth-difficulty",
    kind: "string",
    value: "easy|normal",
    path: "synth.difficulty",
    showDefault: true,
    help: "",
  },
  {
    name: "out",
    kind: "string",
    value: "DIR",
    path: "out",
    help: "run folder (default runs/<dataset>-<mode>-s<seed>-<time>)",
  },
  {
    name: "resume",
    kind: "string",
    value: "DIR",
    help: "continue a run from its last complete epoch, with its own config.json (Ctrl-C\n" +
      "stops a run after the current step and prints this command)",
  },
  { name: "config", kind: "string", value: "FILE.json", help: "a configuration file (defaults < file < flags)" },
  { name: "quiet", kind: "switch", help: "no progress bar" },
  { name: "help", kind: "switch", short: "h", help: "" },
];

const BY_NAME: ReadonlyMap<string, FlagSpec> = new Map(FLAG_TABLE.map((f) => [f.name, f]));

/** The flags of `deno task train`: the whole table. */
export const TRAIN_FLAGS: readonly FlagSpec[] = FLAG_TABLE;

/**
 * Flags of the table by name, with per-task changes (another help text, no default) for a
 * task that gives a shared flag another meaning (eval's `--batch-size`), plus a task's own
 * flags (`extra`, described in the same shape).
 */
export function pickFlags(
  names: readonly string[],
  overrides: Record<string, Partial<FlagSpec>> = {},
): FlagSpec[] {
  return names.map((name) => {
    const spec = BY_NAME.get(name);
    const change = overrides[name];
    if (spec === undefined && change === undefined) throw new TypeError(`no flag --${name} in the flag table`);
    return { ...(spec ?? { name, kind: "string", help: "" }), ...change } as FlagSpec;
  });
}

/** The `node:util` parseArgs options of these flags (every valued flag is read as a string, then converted). */
export function flagOptions(
  flags: readonly FlagSpec[],
): Record<string, { type: "string" | "boolean"; short?: string }> {
  return Object.fromEntries(flags.map((f) => [
    f.name,
    f.short !== undefined
      ? { type: f.kind === "switch" ? "boolean" : "string", short: f.short }
      : { type: f.kind === "switch" ? "boolean" : "string" },
  ]));
}

const HELP_COLUMN = 27;

function at(o: unknown, path: string): unknown {
  for (const key of path.split(".")) o = (o as Record<string, unknown> | undefined)?.[key];
  return o;
}

/** `(default X)`, from DEFAULT_CONFIG and the presets, so that the help cannot drift from them. */
function defaultText(spec: FlagSpec): string {
  if (spec.showDefault === undefined) return "";
  if (typeof spec.showDefault === "string") return `(default ${spec.showDefault})`;
  const path = spec.path!;
  const base = at(DEFAULT_CONFIG, path);
  const synth = at({ ...DEFAULT_CONFIG, ...SYNTH_PRESET }, path);
  const byDataset = DATASETS.some((d) => d !== "synth" && at(DATASET_PRESETS[d] as Layer, path) !== undefined);
  if (synth === base && !byDataset) return `(default ${base})`;
  return `(default ${synth} on SynthFER, else ${byDataset ? "the data set's preset" : base})`;
}

/** The `--help` lines of these flags: `  --name VALUE` then the help, aligned at column 27. */
export function flagHelp(flags: readonly FlagSpec[]): string {
  const pad = " ".repeat(HELP_COLUMN);
  return flags.map((f) => {
    const head = f.name === "help" && f.short
      ? `  -${f.short}, --help`
      : `  --${f.name}${f.value ? ` ${f.value}` : ""}`;
    const text = [f.help, defaultText(f)].filter((s) => s !== "").join("  ");
    if (text === "") return head;
    const [first, ...rest] = text.split("\n");
    const lines = head.length < HELP_COLUMN - 1
      ? [head.padEnd(HELP_COLUMN) + first]
      : head.length + 3 + first.length <= 110
      ? [`${head}   ${first}`]
      : [head, pad + first];
    return [...lines, ...rest.map((l) => pad + l)].join("\n");
  }).join("\n");
}

/** A whole `--help`: what the task does, its usage line, the flags, and the exit codes. */
export function helpText(
  options: { title: string; usage: string; flags: readonly FlagSpec[]; notes?: string },
): string {
  return `${options.title}\n\nUsage: ${options.usage}\n\n${flagHelp(options.flags)}\n` +
    (options.notes ? `\n${options.notes}\n` : "") +
    `\nExit codes: 0 done, 2 bad usage or input (one 'error:' line), 1 failure while running.`;
}

/**
 * One flag's value, read by its kind; undefined stays undefined. Throws a `ConfigError`
 * (`--epochs expects an integer, got 'two'`) when the text is not of that kind; the range is
 * `validateConfig`'s to check.
 */
export function flagValue(
  spec: Pick<FlagSpec, "name" | "kind">,
  raw: string | boolean | undefined,
): string | number | boolean | "auto" | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === "boolean" || spec.kind === "switch") return raw;
  switch (spec.kind) {
    case "string":
      return raw;
    case "number":
    case "integer": {
      const x = Number(raw);
      const integer = spec.kind === "integer";
      if (raw.trim() === "" || !Number.isFinite(x) || (integer && !Number.isInteger(x))) {
        throw new ConfigError(`--${spec.name} expects ${integer ? "an integer" : "a number"}, got '${raw}'`);
      }
      return x;
    }
    case "boolean-or-auto":
      if (raw === "auto") return "auto";
    // falls through
    case "boolean":
      if (raw === "true") return true;
      if (raw === "false") return false;
      throw new ConfigError(`--${spec.name} expects true or false, got '${raw}'`);
  }
}

/**
 * The configuration layer of parsed flags: each flag with a `path` that was given, read by
 * its kind and set at its path (`synth.trainSize` inside `synth`). Resolve it with
 * `resolveConfig(..., layer)`, which checks the ranges.
 */
export function flagsToLayer(
  flags: readonly FlagSpec[],
  values: Record<string, string | boolean | undefined>,
): Layer {
  const layer: Record<string, unknown> = {};
  for (const f of flags) {
    if (f.path === undefined) continue;
    const v = flagValue(f, values[f.name]);
    if (v === undefined) continue;
    const keys = f.path.split(".");
    let at = layer;
    for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
    at[keys.at(-1)!] = v;
  }
  return layer as Layer;
}

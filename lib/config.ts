/**
 * One typed training configuration with named defaults. Layers override in this
 * order: defaults < the data set's published hyper-parameters < `--config` file <
 * flags. `resolveConfig` validates once and the result is written into every run
 * folder as `config.json`.
 */
// TF-free modules only: flag parsing and `--help` must not load TF.js (tests/config/tf_free_test.ts)
import { type BackendName, BACKENDS } from "./config/backends.ts";
import { DATASET_NAMES } from "./data/readers/types.ts";
import {
  NORMALIZE_ATTENTION_DEFAULTS,
  RANK_REGULARIZATION_DEFAULTS,
  TRAIN_MODES,
  type TrainMode,
} from "./method/defaults.ts";
import { DATASET_PRESETS } from "./config/presets.ts";

export { type BackendName, BACKENDS };
export { DATASET_PRESETS, NOTEBOOK_LAYER, SFEW_RAND_AUGMENT, SYNTH_PRESET } from "./config/presets.ts";

/** The built-in SynthFER faces, then the real data sets' readers (lib/data/readers), in CLI.md's order. */
export const DATASETS = ["synth", ...DATASET_NAMES] as const;
export type DatasetName = typeof DATASETS[number];
/** The method's training modes (lib/method/defaults.ts). */
export const MODES = TRAIN_MODES;
export type Mode = TrainMode;

/**
 * The network a mode trains: `baseline` is the paper's Table 2 baseline, a plain
 * single-branch ResNet without attention heads; every other mode the dual-branch network.
 */
export function modelVariant(mode: Mode): "adadf" | "plain" {
  return mode === "baseline" ? "plain" : "adadf";
}

export interface SynthConfig {
  /** the data set's own seed: runs with different --seed train on the same faces */
  seed: number;
  trainSize: number;
  testSize: number;
  annotators: number;
  ambiguousFraction: number;
  difficulty: "easy" | "normal";
}

export interface TrainConfig {
  dataset: DatasetName;
  dataPath: string | null;
  mode: Mode;
  backbone: "resnet18" | "resnet50";
  /** channels of conv1/layer1; 64 is torchvision's ResNet, the SynthFER default narrows it */
  width: number;
  imageSize: number;
  attentionOn: "logits" | "features";
  epochs: number;
  batchSize: number;
  lr: number;
  /** ExponentialLR gamma, per epoch */
  lrGamma: number;
  /** t of eq. 7 */
  threshold: number;
  /** beta of eq. 15-16 */
  beta: number;
  minWeight: number;
  maxWeight: number;
  /** delta of eq. 10 */
  margin: number;
  /** share of the batch in the high-attention group, eq. 9 */
  tops: number;
  thresholdRows: "paper" | "code";
  detachTargets: boolean;
  /** "auto": frozen when pretrained weights are loaded, trained from random weights (METHOD.md) */
  freezeStem: boolean | "auto";
  /** mine class distributions on augmented training images, as the official code's loader does */
  miningAugment: boolean;
  /**
   * RandAugment rand-m5-n3-mstd0.5 (METHOD.md), horizontal flip, random erasing; all off = the images as
   * they are. `randAugmentOptions` changes RandAugment's recipe (SFEW's preset: rand-m3-n5-mstd0.5).
   */
  augment: {
    randAugment: boolean;
    flip: boolean;
    erasing: boolean;
    randAugmentOptions?: { n?: number; m?: number; mstd?: number };
  };
  /** reshuffle the training set every epoch (false: file order, for trace parity with PyTorch) */
  shuffle: boolean;
  /** fraction of training labels flipped per class (Table 4 protocol) */
  noise: number;
  /** a noisy label file (EAC's `EmoLabel/noise01.txt` format) replacing training labels by sample id */
  noiseFile: string | null;
  /** where decoded faces of a real data set live (lib/data/dataset.ts): auto = memory under 2 GiB */
  cache: "memory" | "disk" | "auto";
  /** AffectNet: 7 classes (the paper's AffectNet-7, contempt dropped) or 8 */
  affectnetClasses: 7 | 8;
  /** class-balanced epochs (the official code's CustomDownSampler for AffectNet, lib/data/sampling.ts) */
  balancedSampling: boolean;
  /**
   * TenCrop (the official SFEW recipe): faces decode at imageSize x 256/224, training takes the
   * ten imageSize crops of every image (labels repeated; RR groups and the KL divisor keep the
   * batch size), test time averages the crops' logits
   */
  tenCrop: boolean;
  seed: number;
  backend: BackendName;
  pretrained: string | null;
  out: string | null;
  trackedSamples: number;
  synth: SynthConfig;
}

/**
 * The defaults: the official recipe (paper 4.2 and train.py: ResNet-18, 100x100, Adam 1e-3,
 * ExponentialLR 0.9, 75 epochs, batch 64, t = 0.7, beta = 3, w_min = 0.2). The data set's
 * preset below overrides some of them; SynthFER, the default data set, has its own.
 */
export const DEFAULT_CONFIG: TrainConfig = {
  dataset: "synth",
  dataPath: null,
  mode: "adadf",
  backbone: "resnet18",
  width: 64,
  imageSize: 100,
  attentionOn: "logits",
  epochs: 75,
  batchSize: 64,
  lr: 1e-3,
  lrGamma: 0.9,
  threshold: 0.7,
  beta: 3,
  minWeight: NORMALIZE_ATTENTION_DEFAULTS.minWeight,
  maxWeight: NORMALIZE_ATTENTION_DEFAULTS.maxWeight,
  margin: RANK_REGULARIZATION_DEFAULTS.margin,
  tops: RANK_REGULARIZATION_DEFAULTS.tops,
  thresholdRows: "paper",
  detachTargets: false,
  freezeStem: "auto",
  miningAugment: true,
  augment: { randAugment: true, flip: true, erasing: true },
  shuffle: true,
  noise: 0,
  noiseFile: null,
  cache: "auto",
  affectnetClasses: 7,
  balancedSampling: false,
  tenCrop: false,
  seed: 1,
  backend: "auto",
  pretrained: null,
  out: null,
  trackedSamples: 12,
  synth: { seed: 0, trainSize: 2100, testSize: 700, annotators: 10, ambiguousFraction: 0.5, difficulty: "normal" },
};

// The presets (SynthFER, each data set, the notebooks') are in lib/config/presets.ts.

/** A configuration problem; the message names the field, the value and what was expected. */
export class ConfigError extends RangeError {
  override name = "ConfigError";
}

export type Layer = Partial<Omit<TrainConfig, "synth" | "augment">> & {
  synth?: Partial<SynthConfig>;
  augment?: Partial<TrainConfig["augment"]>;
};

/** Merges the layers (later wins) over the defaults and the data set's preset, then validates. */
export function resolveConfig(...layers: Layer[]): TrainConfig {
  const dataset = layers.reduce<DatasetName>((d, l) => (l.dataset ?? d) as DatasetName, DEFAULT_CONFIG.dataset);
  if (!DATASETS.includes(dataset)) {
    throw new ConfigError(`dataset must be one of ${DATASETS.join(", ")}, got '${dataset}'`);
  }
  let cfg: TrainConfig = structuredClone(DEFAULT_CONFIG);
  for (const layer of [structuredClone(DATASET_PRESETS[dataset]), ...layers]) {
    checkLayerKeys(layer);
    cfg = {
      ...cfg,
      ...(layer as Partial<TrainConfig>),
      synth: { ...cfg.synth, ...(layer.synth ?? {}) },
      augment: { ...cfg.augment, ...(layer.augment ?? {}) },
    };
  }
  validateConfig(cfg);
  return cfg;
}

/**
 * Every key of a layer must be a configuration key of its own (not an inherited name such as
 * `toString` or `constructor`), and the nested `synth` and `augment` must be objects of known keys.
 */
function checkLayerKeys(layer: Layer): void {
  if (layer === null || typeof layer !== "object" || Array.isArray(layer)) {
    throw new ConfigError(
      `a configuration layer must be an object of configuration keys, got ${JSON.stringify(layer)}`,
    );
  }
  const nested: Record<string, readonly string[]> = {
    synth: Object.keys(DEFAULT_CONFIG.synth),
    augment: [...Object.keys(DEFAULT_CONFIG.augment), "randAugmentOptions"],
  };
  for (const key of Object.keys(layer)) {
    if (!Object.hasOwn(DEFAULT_CONFIG, key)) {
      throw new ConfigError(
        `unknown configuration key '${key}'; expected one of ${Object.keys(DEFAULT_CONFIG).join(", ")}`,
      );
    }
    const known = nested[key];
    if (known === undefined) continue;
    const value = (layer as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new ConfigError(`${key} must be an object of ${known.join(", ")}, got ${JSON.stringify(value)}`);
    }
    for (const sub of Object.keys(value)) {
      if (!known.includes(sub)) {
        throw new ConfigError(`unknown configuration key '${key}.${sub}'; expected one of ${known.join(", ")}`);
      }
    }
  }
}

/** Largest seed: the PRNG takes 32-bit seeds, so a larger one would wrap onto another seed's weights. */
export const MAX_SEED = 2 ** 32 - 1;

function check(ok: boolean, message: string) {
  if (!ok) throw new ConfigError(message);
}

const isInt = (x: unknown, min: number) => Number.isInteger(x) && (x as number) >= min;
const inRange = (x: unknown, lo: number, hi: number) => typeof x === "number" && x >= lo && x <= hi;

/** Throws `ConfigError` naming the first invalid field, its value and the expected range. */
export function validateConfig(c: TrainConfig): void {
  check(
    DATASETS.includes(c.dataset),
    `dataset must be one of ${DATASETS.join(", ")}, got ${JSON.stringify(c.dataset)}`,
  );
  check(MODES.includes(c.mode), `mode must be one of ${MODES.join(", ")}, got '${c.mode}'`);
  check(
    c.backbone === "resnet18" || c.backbone === "resnet50",
    `backbone must be resnet18 or resnet50, got '${c.backbone}'`,
  );
  check(isInt(c.width, 2), `width must be an integer >= 2 (64 = torchvision), got ${c.width}`);
  check(isInt(c.imageSize, 16) && c.imageSize <= 512, `image-size must be an integer in [16, 512], got ${c.imageSize}`);
  check(
    c.attentionOn === "logits" || c.attentionOn === "features",
    `attentionOn must be logits or features, got '${c.attentionOn}'`,
  );
  check(isInt(c.epochs, 1), `epochs must be an integer >= 1, got ${c.epochs}`);
  check(isInt(c.batchSize, 2), `batch-size must be an integer >= 2, got ${c.batchSize}`);
  check(typeof c.lr === "number" && c.lr > 0 && c.lr < 10, `lr must be a number in (0, 10), got ${c.lr}`);
  check(
    typeof c.lrGamma === "number" && c.lrGamma > 0 && c.lrGamma <= 1,
    `lrGamma must be in (0, 1], got ${c.lrGamma}`,
  );
  check(inRange(c.threshold, 0, 1), `threshold must be in [0, 1], got ${c.threshold}`);
  check(typeof c.beta === "number" && c.beta > 0, `beta must be a number > 0, got ${c.beta}`);
  check(inRange(c.minWeight, 0, 1), `min-weight must be in [0, 1], got ${c.minWeight}`);
  check(
    inRange(c.maxWeight, 0, 1) && c.maxWeight >= c.minWeight,
    `max-weight must be in [min-weight, 1], got ${c.maxWeight}`,
  );
  check(inRange(c.margin, 0, 1), `margin must be in [0, 1], got ${c.margin}`);
  check(typeof c.tops === "number" && c.tops > 0 && c.tops < 1, `tops must be in (0, 1), got ${c.tops}`);
  const m = Math.floor(c.tops * c.batchSize);
  check(
    m >= 1 && m < c.batchSize,
    `tops x batch-size must leave both rank groups non-empty, got ${c.tops} x ${c.batchSize}`,
  );
  check(
    c.thresholdRows === "paper" || c.thresholdRows === "code",
    `thresholdRows must be paper or code, got '${c.thresholdRows}'`,
  );
  check(typeof c.detachTargets === "boolean", `detachTargets must be true or false, got ${c.detachTargets}`);
  check(
    typeof c.freezeStem === "boolean" || c.freezeStem === "auto",
    `freeze-stem must be true, false or auto, got ${c.freezeStem}`,
  );
  for (const k of ["randAugment", "flip", "erasing"] as const) {
    check(typeof c.augment[k] === "boolean", `augment.${k} must be true or false, got ${c.augment[k]}`);
  }
  const ra = c.augment.randAugmentOptions;
  if (ra !== undefined) {
    check(typeof ra === "object" && ra !== null, `augment.randAugmentOptions must be an object {n, m, mstd}`);
    for (const key of Object.keys(ra)) {
      check(["n", "m", "mstd"].includes(key), `augment.randAugmentOptions.${key} is unknown; expected n, m or mstd`);
    }
    check(ra.n === undefined || isInt(ra.n, 0), `augment.randAugmentOptions.n must be an integer >= 0, got ${ra.n}`);
    check(ra.m === undefined || inRange(ra.m, 0, 10), `augment.randAugmentOptions.m must be in [0, 10], got ${ra.m}`);
    check(
      ra.mstd === undefined || inRange(ra.mstd, 0, Infinity),
      `augment.randAugmentOptions.mstd must be a number >= 0, got ${ra.mstd}`,
    );
  }
  check(typeof c.shuffle === "boolean", `shuffle must be true or false, got ${c.shuffle}`);
  check(typeof c.miningAugment === "boolean", `miningAugment must be true or false, got ${c.miningAugment}`);
  check(inRange(c.noise, 0, 0.99), `noise must be in [0, 1), got ${c.noise}`);
  check(isInt(c.seed, 0) && c.seed <= MAX_SEED, `seed must be an integer in [0, 2^32 - 1], got ${c.seed}`);
  check(BACKENDS.includes(c.backend), `backend must be one of ${BACKENDS.join(", ")}, got '${c.backend}'`);
  check(isInt(c.trackedSamples, 0), `trackedSamples must be an integer >= 0, got ${c.trackedSamples}`);
  check(
    isInt(c.synth.seed, 0) && c.synth.seed <= MAX_SEED,
    `synth.seed must be an integer in [0, 2^32 - 1], got ${c.synth.seed}`,
  );
  for (const k of ["dataPath", "pretrained", "out", "noiseFile"] as const) {
    check(
      c[k] === null || typeof c[k] === "string",
      `${k} must be a file or folder name (a string), got ${JSON.stringify(c[k])}`,
    );
  }
  check(isInt(c.synth.trainSize, 7), `synth.trainSize must be an integer >= 7, got ${c.synth.trainSize}`);
  check(isInt(c.synth.testSize, 7), `synth.testSize must be an integer >= 7, got ${c.synth.testSize}`);
  check(isInt(c.synth.annotators, 1), `synth.annotators must be an integer >= 1, got ${c.synth.annotators}`);
  check(
    inRange(c.synth.ambiguousFraction, 0, 1),
    `synth.ambiguousFraction must be in [0, 1], got ${c.synth.ambiguousFraction}`,
  );
  check(
    c.synth.difficulty === "easy" || c.synth.difficulty === "normal",
    `synth.difficulty must be easy or normal, got '${c.synth.difficulty}'`,
  );
  check(
    c.cache === "memory" || c.cache === "disk" || c.cache === "auto",
    `cache must be memory, disk or auto, got '${c.cache}'`,
  );
  check(
    c.affectnetClasses === 7 || c.affectnetClasses === 8,
    `affectnetClasses must be 7 or 8, got ${c.affectnetClasses}`,
  );
  check(typeof c.balancedSampling === "boolean", `balancedSampling must be true or false, got ${c.balancedSampling}`);
  check(typeof c.tenCrop === "boolean", `tenCrop must be true or false, got ${c.tenCrop}`);
  check(
    !(c.tenCrop && c.dataset === "synth"),
    "ten-crop needs faces larger than the crop; SynthFER is drawn at the input size (use it with a real data set)",
  );
  check(
    !c.tenCrop || decodeSize(c) <= 1024,
    `image-size ${c.imageSize} with TenCrop decodes faces at ${decodeSize(c)} px; at most 1024`,
  );
  check(
    c.noiseFile === null || (typeof c.noiseFile === "string" && c.noiseFile !== ""),
    `noise-file must be a file name, got '${c.noiseFile}'`,
  );
  check(
    !(c.noise > 0 && c.noiseFile !== null),
    `noise and noise-file are two ways of corrupting labels; give one of them, got noise ${c.noise} and noise-file ${c.noiseFile}`,
  );
  if (c.dataset === "synth") {
    check(
      c.noiseFile === null,
      `noise-file relabels training images by name and needs a real data set (--dataset raf-db ...); use --noise RATE with synth`,
    );
  } else {
    check(
      typeof c.dataPath === "string" && c.dataPath !== "",
      `dataset '${c.dataset}' needs --data-path DIR (the folder it is distributed in; see data/README.md)`,
    );
  }
}

/**
 * Side of the decoded faces: the input size, or with TenCrop the official 256 for 224 crops
 * (`Resize(256)` then `TenCrop(224)`), scaled: round(imageSize x 256 / 224).
 */
export function decodeSize(c: Pick<TrainConfig, "imageSize" | "tenCrop">): number {
  return c.tenCrop ? Math.round((c.imageSize * 256) / 224) : c.imageSize;
}

/** Whether the stem is frozen for this configuration (METHOD.md's table). */
export function stemFrozen(c: TrainConfig): boolean {
  return c.freezeStem === "auto" ? c.pretrained !== null : c.freezeStem;
}

// ---- the data-only configuration ---------------------------------------------------------------

/**
 * What loading a data set reads (lib/data/load.ts): which data set, where, at what size, how
 * its faces are cached, and the label noise applied to its training split. `deno task eval`
 * and `predict` build only this; a training run derives it with {@linkcode dataConfig}.
 */
export interface DataConfig {
  dataset: DatasetName;
  dataPath: string | null;
  /** the model's input size; with `tenCrop` faces decode larger ({@linkcode decodeSize}) */
  imageSize: number;
  tenCrop: boolean;
  cache: TrainConfig["cache"];
  affectnetClasses: TrainConfig["affectnetClasses"];
  synth: SynthConfig;
  /** fraction of training labels flipped per class (a test-only load ignores it) */
  noise: number;
  noiseFile: string | null;
  /** the run's seed: the noise flips draw from seed + 7919 */
  seed: number;
}

/** The keys of {@linkcode DataConfig}, all of them {@linkcode TrainConfig} keys too. */
export const DATA_CONFIG_KEYS = [
  "dataset",
  "dataPath",
  "imageSize",
  "tenCrop",
  "cache",
  "affectnetClasses",
  "synth",
  "noise",
  "noiseFile",
  "seed",
] as const satisfies readonly (keyof DataConfig & keyof TrainConfig)[];

/** A layer of data settings (see {@linkcode resolveDataConfig}). */
export type DataLayer = Partial<Omit<DataConfig, "synth">> & { synth?: Partial<SynthConfig> };

/** The data part of a training configuration. */
export function dataConfig(c: TrainConfig): DataConfig {
  return {
    dataset: c.dataset,
    dataPath: c.dataPath,
    imageSize: c.imageSize,
    tenCrop: c.tenCrop,
    cache: c.cache,
    affectnetClasses: c.affectnetClasses,
    synth: { ...c.synth },
    noise: c.noise,
    noiseFile: c.noiseFile,
    seed: c.seed,
  };
}

/**
 * Merges data layers (later wins) over the defaults and the data set's preset and validates
 * them as {@linkcode resolveConfig} does; a key that is not a data setting is a ConfigError.
 */
export function resolveDataConfig(...layers: DataLayer[]): DataConfig {
  for (const layer of layers) {
    for (const key of Object.keys(layer ?? {})) {
      if (!(DATA_CONFIG_KEYS as readonly string[]).includes(key)) {
        throw new ConfigError(`'${key}' is not a data setting; expected one of ${DATA_CONFIG_KEYS.join(", ")}`);
      }
    }
  }
  // the training settings come from the defaults and the preset alone, so only data settings can be invalid
  return dataConfig(resolveConfig(...(layers as Layer[])));
}

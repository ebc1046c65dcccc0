/**
 * Loading the configured data set for training or evaluation: SynthFER (generated and
 * cached) or a real one (lib/data/dataset.ts), with the label noise of `--noise` or
 * `--noise-file` applied to its training split. Takes only the data part of a configuration
 * (`DataConfig`, lib/config.ts).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { type DataConfig, decodeSize } from "../config.ts";
import { CLASSES } from "./classes.ts";
import { loadSynthFer } from "./synthfer.ts";
import { applyNoiseFile, flipLabels, parseNoiseFile } from "./label_noise.ts";
import { loadFerDataset, type SkippedImage } from "./dataset.ts";
import type { ImageSplit } from "./batches.ts";
import { Prng } from "../util/prng.ts";

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

/** Options of {@linkcode loadData}. */
export interface LoadOptions {
  /** one-line notes (cache reused, images skipped, labels changed) */
  log?: (m: string) => void;
  onProgress?: LoadProgress;
  /** only the test split (eval): no training faces decoded, no noise applied */
  testOnly?: boolean;
}

/**
 * Loads the configured data set: SynthFER (generated and cached) or a real one from
 * `cfg.dataPath` (lib/data/dataset.ts), then applies `--noise` or `--noise-file` to the
 * training labels. Throws a RangeError (DatasetError) with a one-line message for bad input.
 */
export async function loadData(cfg: DataConfig, options: LoadOptions = {}): Promise<RunData> {
  const log = options.log ?? (() => {});
  const onProgress = options.onProgress;
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
  if (cfg.noise > 0 && !options.testOnly) {
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
  cfg: DataConfig,
  log: (m: string) => void,
  options: { onProgress?: LoadProgress; testOnly?: boolean },
): Promise<RunData> {
  const { onProgress } = options;
  // read and check the noise file before decoding anything
  const noiseEntries = cfg.noiseFile === null || options.testOnly
    ? undefined
    : parseNoiseFile(readNoiseFile(cfg.noiseFile), cfg.noiseFile);
  const size = decodeSize(cfg);
  const ds = await loadFerDataset({
    dataset: cfg.dataset as Exclude<DataConfig["dataset"], "synth">,
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
    if (cfg.noise > 0 && !options.testOnly) {
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

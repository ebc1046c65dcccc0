/**
 * Data: SynthFER (drawn faces with true label distributions), the real data set readers
 * (RAF-DB, AffectNet, SFEW, FER2013, FERPlus, ImageFolder trees), decoding and the image
 * cache, augmentation, batching, the worker pipeline, sampling and label noise.
 *
 * @example A batch of SynthFER faces, normalised, as the trainer makes it
 * ```ts
 * import { generateSynthFer, makeBatch } from "./mod.ts";
 * const ds = await generateSynthFer({ seed: 1, trainSize: 14, testSize: 7, imageSize: 16 });
 * const batch = makeBatch(ds.train, [0, 1, 2], { imageSize: 16 });
 * if (batch.x.length !== 3 * 16 * 16 * 3 || batch.labels.length !== 3) throw new Error("batch");
 * ```
 * @module
 */
export { CLASSES, type ClassName, NUM_CLASSES } from "./classes.ts";
export {
  epochBatches,
  type HostBatch,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type ImageSplit,
  makeBatch,
  toTensors,
} from "./batches.ts";
export { DEFAULT_SYNTHFER_OPTIONS, faceSvg, generateSynthFer, loadSynthFer } from "./synthfer.ts";
export type { FaceSplit, SynthFerDataset, SynthFerOptions } from "./synthfer.ts";
export { applyNoiseFile, flipLabels, type NoiseEntry, parseNoiseFile } from "./label_noise.ts";
export {
  DATASET_NAMES,
  DatasetError,
  type DatasetIndex,
  indexDataset,
  type LoadedDataset,
  type LoadedSplit,
  loadFerDataset,
  type LoadFerDatasetOptions,
  type SampleRef,
  type SkippedImage,
} from "./dataset.ts";
export { decodeFace, ImageDecodeError } from "./images.ts";
export { DiskImageStore, type ImageStore, MemoryImageStore } from "./image_store.ts";
export { balancedEpochIndices } from "./sampling.ts";
export { applyOp, fiveCrop, meanOverCrops, RAND_AUGMENT_OPS, randAugment, tenCrop } from "./augment/mod.ts";
export { BatchPipeline } from "./pipeline.ts";
export { benchmarkPipeline } from "./pipeline_bench.ts";
export { loadData, type RunData } from "./load.ts";

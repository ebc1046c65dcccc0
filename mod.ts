/**
 * Ada-DF (Adaptive label Distribution Fusion for facial expression recognition) in
 * TypeScript, on TensorFlow.js: data, the dual-branch ResNet, the method's
 * distributions and losses, training, evaluation, t-SNE and the paper's figures.
 *
 * - Backend: {@linkcode initBackend} (`auto`, `tensorflow`, `webgpu`, `wasm`, `cpu`); on `wasm`,
 *   convolutions and matrix products run on OpenBLAS where it is installed ({@linkcode loadOpenBlas},
 *   `{ blas: "off" }` or `ADADF_BLAS=off` for XNNPACK alone).
 * - Data: {@linkcode loadSynthFer} (the built-in procedural face set), {@linkcode loadFerDataset}
 *   (RAF-DB, AffectNet, SFEW, FER2013, FERPlus, ImageFolder trees, decoded once and cached),
 *   {@linkcode randAugment}, {@linkcode tenCrop}, {@linkcode makeBatch}, {@linkcode BatchPipeline}
 *   (the next batch prepared in a worker while the current one trains), label noise.
 * - Model: {@linkcode AdaDfNet} (ResNet-18/50, two branches, attention heads);
 *   {@linkcode readTorchFile} / {@linkcode loadPretrainedInto} (PyTorch `.pth` and safetensors in),
 *   {@linkcode exportOfficialSafetensors} (the official code's key names out).
 * - Method: {@linkcode adaDfLoss} and one function per equation (`lib/method/`).
 * - Training: {@linkcode resolveConfig}, {@linkcode runTraining} (writes a run folder with a
 *   checkpoint per epoch), {@linkcode resumeTraining} (continues one), {@linkcode trainAdaDf}
 *   (the epoch loop, no I/O), {@linkcode cachedRun} (a run made once and reused, for notebooks).
 * - Using a model: {@linkcode loadTrainedModel}, {@linkcode evaluateModel}, {@linkcode predictBatch}.
 * - Analysis and figures: {@linkcode tsne} (Barnes-Hut, or `tsne-js`), {@linkcode knnAccuracy};
 *   vega-lite builders for Fig. 1-6, curves, attention statistics and the confusion matrix, and
 *   {@linkcode displayFigure} / {@linkcode renderFigure} (Jupyter bundle, SVG, PNG).
 *
 * @example The method on one batch: fuse, then the loss parts
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fuseDistributions, initBackend, lossWeights } from "./mod.ts";
 * await initBackend("cpu");
 * const labelDist = tf.tensor2d([[0.6, 0.3, 0.1]]); // softmax of the auxiliary logits, eq. 1-2
 * const classDist = tf.tensor2d([[0.8, 0.1, 0.1]]); // d_class[y], eq. 4-7
 * const fused = fuseDistributions(labelDist, classDist, tf.tensor2d([[0.5]])); // eq. 12
 * const f = await fused.data();
 * if (Math.abs(f[0] - 0.7) > 1e-6) throw new Error(`expected 0.7, got ${f[0]}`);
 * const { a1, a2 } = lossWeights(1, 3); // eq. 15-16
 * if (a1 !== 1 || Math.abs(a2 - Math.exp(-4 / 9)) > 1e-12) throw new Error("ramp");
 * ```
 *
 * @example A tiny model, one forward pass, no tensor left behind
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { AdaDfNet, initBackend } from "./mod.ts";
 * await initBackend("cpu");
 * const net = new AdaDfNet({ width: 4 }, { seed: 0 });
 * const before = tf.memory().numTensors;
 * tf.tidy(() => {
 *   const out = net.apply(tf.zeros([2, 32, 32, 3]), { training: false });
 *   if (out.tarLogits.shape.join() !== "2,7") throw new Error("logits shape");
 * });
 * if (tf.memory().numTensors !== before) throw new Error("leak");
 * net.dispose();
 * ```
 *
 * @example Configuration layers: defaults < data set preset < file < flags
 * ```ts
 * import { ConfigError, resolveConfig } from "./mod.ts";
 * // SynthFER (the default data set) brings its preset: t = 0.5, beta = 10, width 16, 48x48
 * const cfg = resolveConfig({ epochs: 3 }, { mode: "baseline" });
 * if (cfg.epochs !== 3 || cfg.mode !== "baseline" || cfg.threshold !== 0.5) throw new Error("config");
 * let threw = false;
 * try { resolveConfig({ threshold: 1.5 }); } catch (e) { threw = e instanceof ConfigError; }
 * if (!threw) throw new Error("expected a ConfigError");
 * ```
 *
 * @module
 */
export {
  type BackendChoice,
  type BackendName,
  BACKENDS,
  BackendUnavailableError,
  currentBackend,
  initBackend,
} from "./lib/backend/backend.ts";
export {
  ADAM_UPDATE_KERNEL,
  conv2dFilterGradientIm2col,
  fusedBatchNorm,
  loadOpenBlas,
  nativeKernelsBlas,
  type OpenBlas,
  type OpenBlasResult,
  registerWasmKernels,
  useFastWebgpuKernels,
  useNativeKernels,
} from "./lib/kernels/mod.ts";
export { adam, FusedAdamOptimizer } from "./lib/train/adam.ts";
export {
  ConfigError,
  DATASET_PRESETS,
  DATASETS,
  DEFAULT_CONFIG,
  MODES,
  resolveConfig,
  stemFrozen,
  SYNTH_PRESET,
  type TrainConfig,
  validateConfig,
} from "./lib/config.ts";
export { CLASSES, type ClassName, NUM_CLASSES } from "./lib/data/classes.ts";
export {
  epochBatches,
  type HostBatch,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type ImageSplit,
  makeBatch,
  toTensors,
} from "./lib/data/batches.ts";
export { DEFAULT_SYNTHFER_OPTIONS, faceSvg, generateSynthFer, loadSynthFer } from "./lib/data/synthfer.ts";
export type { FaceSplit, SynthFerDataset, SynthFerOptions } from "./lib/data/synthfer.ts";
export { applyNoiseFile, flipLabels, type NoiseEntry, parseNoiseFile } from "./lib/data/label_noise.ts";
export {
  DATASET_NAMES,
  DatasetError,
  indexDataset,
  type LoadedDataset,
  type LoadedSplit,
  loadFerDataset,
  type LoadFerDatasetOptions,
  type SkippedImage,
} from "./lib/data/dataset.ts";
export type { DatasetIndex, SampleRef } from "./lib/data/dataset.ts";
export { decodeFace, ImageDecodeError } from "./lib/data/images.ts";
export { DiskImageStore, type ImageStore, MemoryImageStore } from "./lib/data/image_store.ts";
export { balancedEpochIndices } from "./lib/data/sampling.ts";
export { applyOp, fiveCrop, meanOverCrops, RAND_AUGMENT_OPS, randAugment, tenCrop } from "./lib/data/augment/mod.ts";
export { BatchPipeline } from "./lib/data/pipeline.ts";
export { benchmarkPipeline } from "./lib/data/pipeline_bench.ts";
export {
  AdaDfNet,
  type AdaDfOutputs,
  DEFAULT_MODEL_CONFIG,
  featureDim,
  type ModelConfig,
} from "./lib/model/adadf_net.ts";
export { decodeSafetensors, encodeSafetensors } from "./lib/model/safetensors.ts";
export {
  channelSums,
  DEFAULT_LAYER_KERNELS,
  type FusedBatchNorm,
  globalAveragePool,
  type LayerKernels,
  maxPool,
} from "./lib/model/layers.ts";
export {
  readTorchFile,
  readWeightsFile,
  type TorchObject,
  type TorchTensor,
  WeightsError,
  type WeightsFile,
} from "./lib/model/torch_file.ts";
export { findStateDict, loadPretrainedInto, netFromWeightsFile } from "./lib/model/weights_import.ts";
export { exportOfficialSafetensors, officialStateDict } from "./lib/model/weights_export.ts";
export * from "./lib/method/mod.ts";
export { trainStep, trainStepAsync } from "./lib/train/step.ts";
export { InterruptedError, trainAdaDf, type TrainEvent } from "./lib/train/trainer.ts";
export type { EpochResult } from "./lib/train/trainer.ts";
export type {
  AttentionRecord,
  ClassDistributionRecord,
  EpochMetrics,
  FeaturesFile,
  MetricsRecord,
  RunSummary,
  TrackedRecord,
  TrackedSample,
  TrackedSampleRecord,
} from "./lib/run/records.ts";
export {
  readAttention,
  readClassDistributions,
  readFeatures,
  readMetrics,
  readRunFolder,
  readTracked,
  type RunFolder,
  RunFolderError,
} from "./lib/run/reader.ts";
export { readRunConfig } from "./lib/run/config_json.ts";
export { defaultRunDir, resumeTraining, runTraining } from "./lib/run/training_run.ts";
export {
  cachedRun,
  cachedRunWithProgress,
  NOTEBOOK_PRESET,
  notebookProgress,
  type ProgressSink,
} from "./lib/run/cached_run.ts";
export { type DataConfig, dataConfig, resolveDataConfig } from "./lib/config.ts";
export { loadData } from "./lib/data/load.ts";
export {
  confusionFromLogits,
  evaluateModel,
  evaluateTarget,
  type EvaluationReport,
  formatEvaluation,
} from "./lib/infer/evaluate.ts";
export { predictBatch } from "./lib/infer/predict.ts";
export { loadTrainedModel } from "./lib/infer/trained_model.ts";
export * from "./lib/analysis/mod.ts";
export * from "./lib/viz/mod.ts";
export { decodeNpy, encodeNpy } from "./lib/util/files.ts";
export { Prng } from "./lib/util/prng.ts";
export {
  collectSummaries,
  type ExperimentName,
  type ExperimentPlan,
  type ExperimentResults,
  experimentDir,
  experimentResults,
  EXPERIMENTS,
  planExperiment,
  readPlan,
  resultsChart,
  resultsMarkdown,
  runLocal,
  slurmScript,
  writePlan,
} from "./lib/experiment/mod.ts";

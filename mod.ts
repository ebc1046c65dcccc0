/**
 * Ada-DF (Adaptive label Distribution Fusion for facial expression recognition) in
 * TypeScript, on TensorFlow.js. This entry holds what a notebook or a script needs to train,
 * study and use the method; each layer of the toolkit has its own entry for the rest:
 *
 * | import | what |
 * | --- | --- |
 * | `@adadf/toolkit` (this file) | the workflow: backend, config, SynthFER, the model, the method, runs, inference, figures, experiments |
 * | `@adadf/toolkit/method` | the paper, one function per equation (all of it is re-exported here too) |
 * | `@adadf/toolkit/config` | `TrainConfig`, presets, the flag table |
 * | `@adadf/toolkit/data` | SynthFER, the six real data set readers, augmentation, batching, label noise |
 * | `@adadf/toolkit/model` | `AdaDfNet`, layers, PyTorch weights in and out |
 * | `@adadf/toolkit/kernels` | faster TF.js kernels: wasm, oneDNN and OpenBLAS through FFI, webgpu (knows nothing of Ada-DF) |
 * | `@adadf/toolkit/train` | the training step and the epoch loop (no I/O) |
 * | `@adadf/toolkit/run` | run folders: training into one, resuming, records, checkpoints, cached runs |
 * | `@adadf/toolkit/infer` | trained models, evaluation, prediction |
 * | `@adadf/toolkit/faces` | faces in ordinary photos: detection, landmarks, alignment to RAF-DB's 100x100, prediction per face |
 * | `@adadf/toolkit/analysis` | t-SNE, k-NN accuracy, distances to the true distributions, ROC AUC |
 * | `@adadf/toolkit/viz` | the figures (vega-lite specs), their recipes and rendering |
 * | `@adadf/toolkit/experiment` | the paper's tables as plans of runs |
 *
 * From a checkout, import the same files by path (`./lib/method/mod.ts`, ...).
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
export { type BackendChoice, type BackendName, BACKENDS, initBackend } from "./lib/backend/backend.ts";
export {
  ConfigError,
  type DataConfig,
  DATASET_PRESETS,
  DEFAULT_CONFIG,
  resolveConfig,
  SYNTH_PRESET,
  type TrainConfig,
} from "./lib/config.ts";
export { CLASSES, faceSvg, loadFerDataset, loadSynthFer, makeBatch, toTensors } from "./lib/data/mod.ts";
export {
  AdaDfNet,
  exportOfficialSafetensors,
  loadPretrainedInto,
  type ModelConfig,
  netFromWeightsFile,
} from "./lib/model/mod.ts";
export * from "./lib/method/mod.ts";
export { trainAdaDf } from "./lib/train/mod.ts";
export {
  cachedRun,
  cachedRunWithProgress,
  NOTEBOOK_PRESET,
  notebookProgress,
  readDistributions,
  readRunFolder,
  resumeTraining,
  type RunFolder,
  runTraining,
  type TrackedSample,
} from "./lib/run/mod.ts";
export { evaluateModel, loadTrainedModel, predictBatch } from "./lib/infer/mod.ts";
export { knnAccuracy, tsne } from "./lib/analysis/mod.ts";
export {
  alignFace,
  annotatePhoto,
  decodePhoto,
  faceDistributionsFigure,
  facesStripPng,
  loadFaceDetector,
  predictPhoto,
  RAF_DB_TEMPLATE,
  samplePhotos,
} from "./lib/faces/mod.ts";
export {
  architectureFigure,
  attentionRocFigure,
  classDistributionsFigure,
  confusionFigure,
  displayFigure,
  displayOutput,
  figureRecipes,
  fusionExampleFigure,
  imageBundle,
  markdownBundle,
  nearestTargetFigure,
  pickAmbiguousFace,
  pickTrackedSample,
  renderFigure,
  svgToPngDataUrl,
  trainingCurvesFigure,
  trajectoryFigure,
  tsneComparison,
  type VegaLiteSpec,
  votesFigure,
} from "./lib/viz/mod.ts";
export {
  collectSummaries,
  experimentDir,
  type ExperimentResults,
  experimentResults,
  planExperiment,
  REPO_ROOT,
  resultsChart,
  resultsMarkdown,
  runLocal,
  writePlan,
} from "./lib/experiment/mod.ts";

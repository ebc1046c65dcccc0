/**
 * Ada-DF (Adaptive label Distribution Fusion for facial expression recognition) in
 * TypeScript, on TensorFlow.js: data, the dual-branch ResNet, the method's
 * distributions and losses, training and evaluation.
 *
 * - Backend: {@linkcode initBackend} (`auto`, `tensorflow`, `webgpu`, `wasm`, `cpu`).
 * - Data: {@linkcode loadSynthFer} (the built-in procedural face set), {@linkcode makeBatch}.
 * - Model: {@linkcode AdaDfNet} (ResNet-18/50, two branches, attention heads).
 * - Method: {@linkcode adaDfLoss} and one function per equation (`lib/method/`).
 * - Training: {@linkcode resolveConfig}, {@linkcode runTraining} (writes a run folder with a
 *   checkpoint per epoch), {@linkcode resumeTraining} (continues one), {@linkcode trainAdaDf}
 *   (the epoch loop, no I/O).
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
export { registerWasmKernels } from "./lib/backend/wasm_kernels.ts";
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
export { flipLabels } from "./lib/data/label_noise.ts";
export {
  AdaDfNet,
  type AdaDfOutputs,
  DEFAULT_MODEL_CONFIG,
  featureDim,
  type ModelConfig,
} from "./lib/model/adadf_net.ts";
export { decodeSafetensors, encodeSafetensors } from "./lib/model/safetensors.ts";
export * from "./lib/method/mod.ts";
export { trainStep } from "./lib/train/step.ts";
export { evaluateTarget, InterruptedError, trainAdaDf } from "./lib/train/trainer.ts";
export type {
  ClassDistributionRecord,
  EpochMetrics,
  EpochResult,
  TrackedSampleRecord,
  TrainEvent,
} from "./lib/train/trainer.ts";
export { defaultRunDir, loadData, type RunSummary, runTraining } from "./lib/train/run.ts";
export { decodeNpy, encodeNpy } from "./lib/util/files.ts";
export { Prng } from "./lib/util/prng.ts";

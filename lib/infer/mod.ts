/**
 * Using a trained model: loading it from a run folder, a toolkit export or an official
 * checkpoint, evaluating it on a test split, and predicting per-image distributions.
 *
 * @example PyTorch's NCHW layout to TF.js's NHWC
 * ```ts
 * import { nchwToNhwc } from "./mod.ts";
 * const x = nchwToNhwc(Float32Array.from([1, 2, 3]), [1, 3, 1, 1]);
 * if (x.join() !== "1,2,3") throw new Error("one pixel, three channels");
 * ```
 * @module
 */
export {
  argmax,
  confusionFromLogits,
  evaluateModel,
  evaluateTarget,
  type EvaluationReport,
  formatEvaluation,
} from "./evaluate.ts";
export {
  loadFaces,
  loadFacesTenCrop,
  meanCropRows,
  nchwToNhwc,
  NonFiniteError,
  predictBatch,
  type PredictionRow,
} from "./predict.ts";
export { loadTrainedModel, type TrainedModel } from "./trained_model.ts";

/**
 * Training: one Ada-DF step (forward, loss, backward, Adam, BatchNorm statistics) and the
 * epoch loop in named phases (train an epoch, mine, track samples, evaluate). No I/O: a run
 * folder is lib/run's.
 *
 * @example One training step leaves no tensor behind
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adam, trainStep } from "./mod.ts";
 * import { AdaDfNet } from "../model/mod.ts";
 * await tf.setBackend("cpu");
 * const net = new AdaDfNet({ width: 4 }, { seed: 0 });
 * const optimizer = adam(1e-3);
 * const x = tf.randomNormal([4, 32, 32, 3]) as tf.Tensor4D;
 * const labels = tf.tensor1d([0, 1, 2, 3], "int32");
 * const classDistributions = tf.fill([7, 7], 1 / 7) as tf.Tensor2D;
 * const step = () => trainStep(net, { x, labels }, {
 *   optimizer, variables: net.trainableVariables(false), classDistributions, loss: { epoch: 1, beta: 3 },
 * });
 * step(); // creates Adam's slots
 * const before = tf.memory().numTensors;
 * const r = step();
 * if (!Number.isFinite(r.total) || tf.memory().numTensors !== before) throw new Error("step");
 * ```
 * @module
 */
export { adam, FusedAdamOptimizer } from "./adam.ts";
export { type RecordedRow, type StepOptions, type StepResult, trainStep, trainStepAsync } from "./step.ts";
export {
  type EpochResult,
  InterruptedError,
  pickTrackedSamples,
  type ResumePoint,
  trainAdaDf,
  type TrainData,
  type TrainEvent,
  type TrainHooks,
} from "./trainer.ts";

/**
 * The whole Ada-DF loss of one batch, eq. 1-3 and 8-16 of the paper, as train.py's train()
 * computes it, plus the ablations of the paper's Table 2.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { stopGradient } from "./_stop_gradient.ts";
import {
  assertColumn,
  assertFinite,
  assertInRange,
  assertLabelTensor,
  assertMatrix,
  assertShape,
  assertWeightRange,
} from "./_validate.ts";
import { averageAttention } from "./attention.ts";
import { crossEntropy } from "./cross_entropy.ts";
import { fuseDistributions } from "./fusion.ts";
import { klDivergenceLoss } from "./kl_loss.ts";
import { labelDistribution } from "./label_distribution.ts";
import { lossWeights } from "./loss_weights.ts";
import { NORMALIZE_ATTENTION_DEFAULTS, normalizeAttention } from "./normalize_attention.ts";
import { RANK_REGULARIZATION_DEFAULTS, rankRegularization } from "./rank_regularization.ts";
import { TRAIN_MODES, type TrainMode } from "./defaults.ts";

// the modes and their meaning: lib/method/defaults.ts
export type { TrainMode } from "./defaults.ts";

/** The tensors of one batch. */
export interface AdaDfLossInputs {
  /** Auxiliary-branch logits, [N, C]. */
  auxLogits: tf.Tensor2D;
  /** Target-branch logits, [N, C]. */
  tarLogits: tf.Tensor2D;
  /** Auxiliary-branch attention weights (sigmoid outputs), [N, 1]. */
  wAux: tf.Tensor2D;
  /** Target-branch attention weights, [N, 1]. */
  wTar: tf.Tensor2D;
  /** True classes, int32, [N]. */
  labels: tf.Tensor1D;
  /** The current class distributions d_class, one row per class, [C, C]. */
  classDistributions: tf.Tensor2D;
}

/** Options of {@linkcode adaDfLoss}. */
export interface AdaDfLossOptions {
  /** Epoch, counted from 1 (eq. 15-16). */
  epoch: number;
  /** Epoch threshold beta of eq. 15-16. */
  beta: number;
  /** What is trained, see {@linkcode TrainMode}. Default `"adadf"`. */
  mode?: TrainMode;
  /** Fraction of the batch in the high-attention group of eq. 9. Default 0.7. */
  tops?: number;
  /** Margin of eq. 10. Default 0.07. */
  margin?: number;
  /** Smallest fusion weight of eq. 11. Default 0.2. */
  minWeight?: number;
  /** Largest fusion weight of eq. 11. Default 1. */
  maxWeight?: number;
  /**
   * Stop the gradient at the fused target (PyTorch `.detach()`), so that L_kld trains only
   * the target branch. Default false, as train.py (its target is not detached).
   */
  detachTargets?: boolean;
  /** Divisor of the summed KL divergence. Default N (train.py: its batch size; see TenCrop). */
  klDivisor?: number;
  /** Batch size the rank-regularisation groups are computed from. Default N (see TenCrop). */
  rrBatchSize?: number;
}

/** The loss and its parts. Every tensor is new: the caller disposes them. */
export interface AdaDfLossParts {
  /** `L_RR + a1 * L_ce + a2 * L_kld` (eq. 14); `L_ce` alone in `"baseline"` mode. */
  total: tf.Scalar;
  /** Cross-entropy of the auxiliary logits (of the target logits in `"baseline"` mode). */
  ce: tf.Scalar;
  /** KL loss of the target branch against the fused target; 0 in `"baseline"` mode. */
  kld: tf.Scalar;
  /** Rank regularisation; 0 unless mode is `"adadf"`. */
  rr: tf.Scalar;
  /** Weight of `ce` in `total`. */
  a1: number;
  /** Weight of `kld` in `total`. */
  a2: number;
  /** Label distributions `softmax(auxLogits)`, [N, C]. */
  labelDist: tf.Tensor2D;
  /** The target of the KL loss, [N, C]: fused (eq. 12), `d_class[y]`, `d_label`, or one-hot y in `"baseline"`. */
  fused: tf.Tensor2D;
  /** Averaged attention weights (eq. 8), [N, 1]. */
  wAvg: tf.Tensor2D;
  /** Fusion weights, [N, 1]: eq. 11 in `"adadf"`, 1 in `"class"` and `"baseline"`, 0 in `"label"`. */
  w: tf.Tensor2D;
}

/**
 * The Ada-DF loss of one batch (train.py's train(), per batch):
 * 1. `d_label = softmax(auxLogits)` (eq. 1-2); `L_ce = CE(auxLogits, y)` (eq. 3);
 * 2. `w_avg = (wAux + wTar) / 2` (eq. 8); `L_RR` from the ranked `w_avg` (eq. 9-10);
 * 3. `w` = `w_avg` min-max normalised to [minWeight, maxWeight] (eq. 11);
 * 4. `d_fused = w * d_class[y] + (1 - w) * d_label` (eq. 12), not detached unless `detachTargets`;
 * 5. `L_kld = KL(d_fused || softmax(tarLogits))`, summed, divided by N (eq. 13);
 * 6. `L = L_RR + a1 * L_ce + a2 * L_kld` with a1, a2 from {@linkcode lossWeights} (eq. 14-16).
 *
 * Differentiable with `tf.grads` / `tf.variableGrads` with respect to the logits, the
 * attention weights (and the class distributions).
 *
 * @throws {TypeError} if labels are not int32
 * @throws {RangeError} if a shape disagrees, a label is out of range or an option is invalid
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adaDfLoss } from "./adadf_loss.ts";
 * const parts = adaDfLoss({
 *   auxLogits: tf.tensor2d([[2, 0], [0, 1], [1, 1]]),
 *   tarLogits: tf.tensor2d([[1, 0], [0, 2], [0, 0]]),
 *   wAux: tf.tensor2d([[0.9], [0.5], [0.2]]),
 *   wTar: tf.tensor2d([[0.8], [0.6], [0.3]]),
 *   labels: tf.tensor1d([0, 1, 1], "int32"),
 *   classDistributions: tf.tensor2d([[0.7, 0.3], [0.3, 0.7]]),
 * }, { epoch: 1, beta: 3 });
 * ```
 */
export function adaDfLoss(inputs: AdaDfLossInputs, options: AdaDfLossOptions): AdaDfLossParts {
  if (inputs == null || typeof inputs !== "object") {
    throw new TypeError(`inputs must be an object, got ${String(inputs)}`);
  }
  if (options == null || typeof options !== "object") {
    throw new TypeError(`options must be an object { epoch, beta, ... }, got ${String(options)}`);
  }
  const { auxLogits, tarLogits, wAux, wTar, labels, classDistributions } = inputs;
  const [n, c] = assertMatrix(auxLogits, "auxLogits");
  assertMatrix(tarLogits, "tarLogits");
  assertShape(tarLogits, [n, c], "tarLogits");
  assertColumn(wAux, "wAux", n);
  assertColumn(wTar, "wTar", n);
  assertMatrix(classDistributions, "classDistributions");
  assertShape(classDistributions, [c, c], "classDistributions");
  assertLabelTensor(labels, n, c);

  const mode = options.mode ?? "adadf";
  if (!(TRAIN_MODES as readonly string[]).includes(mode)) {
    throw new RangeError(`mode must be one of ${TRAIN_MODES.join(", ")}, got ${JSON.stringify(mode)}`);
  }
  const detach = options.detachTargets ?? false;
  if (typeof detach !== "boolean") throw new TypeError(`detachTargets must be a boolean, got ${String(detach)}`);
  const tops = options.tops ?? RANK_REGULARIZATION_DEFAULTS.tops;
  const margin = options.margin ?? RANK_REGULARIZATION_DEFAULTS.margin;
  const minWeight = options.minWeight ?? NORMALIZE_ATTENTION_DEFAULTS.minWeight;
  const maxWeight = options.maxWeight ?? NORMALIZE_ATTENTION_DEFAULTS.maxWeight;
  assertInRange(tops, 0, 1, "tops");
  assertFinite(margin, "margin");
  assertWeightRange(minWeight, maxWeight);
  const weights = lossWeights(options.epoch, options.beta); // validates epoch and beta in every mode
  const { a1, a2 } = mode === "baseline" ? { a1: 1, a2: 0 } : weights;

  const tensors = tf.tidy(() => {
    const labelDist = labelDistribution(auxLogits); // [N, C], eq. 1-2
    const wAvg = averageAttention(wAux, wTar); // [N, 1], eq. 8
    if (mode === "baseline") {
      const ce = crossEntropy(tarLogits, labels); // eq. 3 on the target branch
      return {
        total: tf.clone(ce),
        ce,
        kld: tf.scalar(0),
        rr: tf.scalar(0),
        labelDist,
        fused: tf.oneHot(labels, c).toFloat() as tf.Tensor2D, // [N, C], the target is y itself
        wAvg,
        w: tf.onesLike(wAvg),
      };
    }
    const ce = crossEntropy(auxLogits, labels); // eq. 3
    const rr = mode === "adadf"
      ? rankRegularization(wAvg, { tops, margin, batchSize: options.rrBatchSize })
      : tf.scalar(0); // eq. 9-10
    const w = mode === "adadf"
      ? normalizeAttention(wAvg, { minWeight, maxWeight }) // [N, 1], eq. 11
      : tf.fill([n, 1], mode === "class" ? 1 : 0) as tf.Tensor2D;
    const classDistOfLabel = tf.gather(classDistributions, labels) as tf.Tensor2D; // [N, C], d_class[y]
    const fusedRaw = fuseDistributions(labelDist, classDistOfLabel, w); // [N, C], eq. 12
    const fused = detach ? stopGradient(fusedRaw) : fusedRaw;
    const kld = klDivergenceLoss(fused, tarLogits, { divisor: options.klDivisor }); // eq. 13
    const total = tf.add(rr, tf.add(tf.mul(ce, a1), tf.mul(kld, a2))) as tf.Scalar; // eq. 14
    return { total, ce, kld, rr, labelDist, fused, wAvg, w };
  });
  return { ...tensors, a1, a2 };
}

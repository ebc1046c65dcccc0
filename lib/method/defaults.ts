/**
 * The method's named defaults and its list of training modes, in one TF-free module: the
 * loss functions default their options from here, and the training configuration
 * (lib/config.ts `DEFAULT_CONFIG`) takes its values from here, so each number is written
 * once and reading the configuration loads no TF.js.
 *
 * @module
 */

/**
 * What the loss trains (the paper's Table 2 ablation):
 * - `"adadf"`: the full method, `L = L_RR + a1 * L_ce + a2 * L_kld` with the fused target.
 * - `"baseline"`: cross-entropy of the target logits only (`L = CE(tarLogits, y)`). The
 *   paper's baseline trains a plain ResNet (`AdaDfNet` with `variant: "plain"`: no attention
 *   head, no auxiliary branch), whose `auxLogits` and `tarLogits` are the same plain logits
 *   `fc(f)`; on the dual-branch network this loss would still train the target branch's
 *   attention gate, so training builds the plain network for this mode.
 * - `"class"`: auxiliary branch by CE, target branch by KL to `d_class[y]` alone (w = 1), no RR.
 * - `"label"`: auxiliary branch by CE, target branch by KL to `d_label` alone (w = 0), no RR.
 */
export const TRAIN_MODES = ["adadf", "baseline", "class", "label"] as const;
/** One of {@linkcode TRAIN_MODES}. */
export type TrainMode = typeof TRAIN_MODES[number];

/** Defaults of `RankRegularizationOptions` (train.py `--tops 0.7 --margin_1 0.07`). */
export const RANK_REGULARIZATION_DEFAULTS = { tops: 0.7, margin: 0.07 } as const;

/** Defaults of `NormalizeAttentionOptions` (train.py `--min_weight 0.2 --max_weight 1.0`). */
export const NORMALIZE_ATTENTION_DEFAULTS = { minWeight: 0.2, maxWeight: 1 } as const;

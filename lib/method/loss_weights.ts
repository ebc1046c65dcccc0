/**
 * Epoch-dependent weights of the two losses, eq. 15-16 of the paper.
 * @module
 */

/** The weights of eq. 14: `L = L_RR + a1 * L_ce + a2 * L_kld`. */
export interface LossWeights {
  /** Weight of the auxiliary branch's cross-entropy `L_ce` (train.py's `alpha_2`). */
  a1: number;
  /** Weight of the target branch's KL loss `L_kld` (train.py's `alpha_1`). */
  a2: number;
}

/**
 * Loss weights of eq. 15-16 for epoch `e` (counted from 1) and threshold `beta`:
 * for e <= beta, a1 = 1 and a2 = exp(-(1 - e/beta)^2) (the KL loss ramps up while the
 * class distributions are still poor); for e > beta, a1 = exp(-(1 - beta/e)^2) and a2 = 1
 * (the cross-entropy ramps down). train.py names them the other way round
 * (`loss = alpha_2 * loss_ce + alpha_1 * loss_kld`); the values are the same.
 *
 * @param epoch the epoch, an integer >= 1
 * @param beta the epoch threshold, a finite number > 0 (3 for RAF-DB, 5 for AffectNet and SFEW)
 * @throws {RangeError} if epoch is not an integer >= 1 or beta is not finite and > 0
 *
 * @example
 * ```ts
 * import { lossWeights } from "./loss_weights.ts";
 * lossWeights(3, 3); // { a1: 1, a2: 1 }
 * ```
 */
export function lossWeights(epoch: number, beta: number): LossWeights {
  if (!Number.isInteger(epoch) || epoch < 1) {
    throw new RangeError(`epoch must be an integer >= 1 (epochs count from 1), got ${epoch}`);
  }
  if (typeof beta !== "number" || !Number.isFinite(beta) || beta <= 0) {
    throw new RangeError(`beta must be a finite number > 0, got ${beta}`);
  }
  if (epoch <= beta) return { a1: 1, a2: Math.exp(-((1 - epoch / beta) ** 2)) }; // eq. 15
  return { a1: Math.exp(-((1 - beta / epoch) ** 2)), a2: 1 }; // eq. 16
}

/**
 * Turning an image split into normalised, optionally augmented batches, and moving them
 * to the backend. The host work (RandAugment -> flip -> normalise -> random erasing, the
 * official order) lives in ./augment/prepare.ts; lib/data/pipeline.ts runs it ahead of
 * training in a worker.
 */
import * as tf from "@tensorflow/tfjs";
import type { Prng } from "../util/prng.ts";
import { type AugmentOptions, type HostBatch, type ImageSource, prepareBatch } from "./augment/prepare.ts";

export {
  type AugmentOptions,
  type HostBatch,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type ImageSource,
  type ImageStoreLike,
  randomErase,
} from "./augment/prepare.ts";

/** Images (one [N, S, S, 3] uint8 array or an image store) and labels [N]; true distributions where known. */
export interface ImageSplit {
  /** [N, S, S, 3] uint8, or a store of [S, S, 3] images */
  images: ImageSource;
  /** [N] class indices */
  labels: Int32Array;
  /** [N * C], where the truth is known (SynthFER, FERPlus) */
  trueDistributions?: Float32Array;
  /** [N * C] annotator votes, where known */
  votes?: Int32Array;
}

/**
 * Builds one normalised batch [B, S, S, 3] from `indices`; augments when `augment` and
 * `prng` are given (RandAugment when `augment.randAugment`, then flip, then erasing);
 * `tenCrop` cuts each image into ten crops first (B' = 10 B, labels repeated).
 */
export function makeBatch(
  split: ImageSplit,
  indices: ArrayLike<number>,
  options: { imageSize: number; augment?: AugmentOptions; prng?: Prng; tenCrop?: number },
): HostBatch {
  return prepareBatch(split, indices, options);
}

/** Moves a host batch to the backend: x [B, S, S, 3], labels int32 [B]. */
export function toTensors(batch: HostBatch): { x: tf.Tensor4D; labels: tf.Tensor1D } {
  const s = batch.imageSize;
  return {
    x: tf.tensor4d(batch.x, [batch.labels.length, s, s, 3]),
    labels: tf.tensor1d(batch.labels, "int32"),
  };
}

/** Index batches of one epoch: shuffled, and only full batches when `dropLast` (the code's training loader). */
export function epochBatches(n: number, batchSize: number, options: { prng?: Prng; dropLast: boolean }): Int32Array[] {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  if (options.prng) options.prng.shuffle(order);
  const out: Int32Array[] = [];
  for (let i = 0; i < n; i += batchSize) {
    const b = order.subarray(i, Math.min(n, i + batchSize));
    if (options.dropLast && b.length < batchSize) break;
    out.push(b);
  }
  return out;
}

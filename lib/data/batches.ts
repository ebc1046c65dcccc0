/**
 * Turning an in-memory image split into normalised, optionally augmented batches.
 * Augmentations here: horizontal flip (p = 0.5) and random erasing (p = 0.5, area
 * 0.02-0.25, aspect 0.3-3.3, value 0, after normalisation), as the official code;
 * RandAugment belongs to the real-data-set issue.
 */
import * as tf from "@tensorflow/tfjs";
import type { Prng } from "../util/prng.ts";

/** Images in memory: RGB bytes [N, S, S, 3] and labels [N]; true distributions where known. */
export interface ImageSplit {
  images: Uint8Array;
  labels: Int32Array;
  /** [N * C], where the truth is known (SynthFER, FERPlus) */
  trueDistributions?: Float32Array;
  /** [N * C] annotator votes, where known */
  votes?: Int32Array;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export interface AugmentOptions {
  flip: boolean;
  erasing: boolean;
}

/** One batch on the host: x [B, S, S, 3] float32 normalised, labels [B]. */
export interface HostBatch {
  indices: Int32Array;
  x: Float32Array;
  labels: Int32Array;
  imageSize: number;
}

/** Builds one normalised batch from `indices`; augments when `augment` and `prng` are given. */
export function makeBatch(
  split: ImageSplit,
  indices: ArrayLike<number>,
  options: { imageSize: number; augment?: AugmentOptions; prng?: Prng },
): HostBatch {
  const s = options.imageSize;
  const px = s * s * 3;
  const b = indices.length;
  const x = new Float32Array(b * px);
  const labels = new Int32Array(b);
  const idx = Int32Array.from(indices);
  const scale = [0, 1, 2].map((c) => 1 / (255 * IMAGENET_STD[c]));
  const shift = [0, 1, 2].map((c) => IMAGENET_MEAN[c] / IMAGENET_STD[c]);
  for (let k = 0; k < b; k++) {
    const i = idx[k];
    labels[k] = split.labels[i];
    const src = i * px;
    const dst = k * px;
    const flip = options.augment?.flip === true && options.prng !== undefined && options.prng.next() < 0.5;
    for (let r = 0; r < s; r++) {
      for (let c = 0; c < s; c++) {
        const sc = flip ? s - 1 - c : c;
        const so = src + (r * s + sc) * 3;
        const d = dst + (r * s + c) * 3;
        x[d] = split.images[so] * scale[0] - shift[0];
        x[d + 1] = split.images[so + 1] * scale[1] - shift[1];
        x[d + 2] = split.images[so + 2] * scale[2] - shift[2];
      }
    }
    if (options.augment?.erasing === true && options.prng !== undefined) {
      randomErase(x.subarray(dst, dst + px), s, options.prng);
    }
  }
  return { indices: idx, x, labels, imageSize: s };
}

/** torchvision's RandomErasing(p=0.5, scale=(0.02, 0.25), ratio=(0.3, 3.3), value=0) on one HWC image. */
export function randomErase(img: Float32Array, size: number, prng: Prng): void {
  if (prng.next() >= 0.5) return;
  const area = size * size;
  const logLo = Math.log(0.3);
  const logHi = Math.log(3.3);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * prng.uniform(0.02, 0.25);
    const aspect = Math.exp(prng.uniform(logLo, logHi));
    const h = Math.round(Math.sqrt(target * aspect));
    const w = Math.round(Math.sqrt(target / aspect));
    if (h >= size || w >= size || h < 1 || w < 1) continue;
    const top = prng.int(size - h + 1);
    const left = prng.int(size - w + 1);
    for (let r = top; r < top + h; r++) img.fill(0, (r * size + left) * 3, (r * size + left + w) * 3);
    return;
  }
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

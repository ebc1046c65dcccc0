/**
 * Host-side batch preparation, in the official code's order (dataset.py; METHOD.md):
 * RandAugment on uint8 -> horizontal flip (p = 0.5) -> ImageNet normalisation -> random
 * erasing (p = 0.5, area 0.02-0.25, aspect 0.3-3.3, value 0). With `tenCrop`, each image
 * is first cut into torchvision's ten crops and every crop goes through that chain
 * (the official SFEW loader); labels are repeated per crop.
 *
 * No TensorFlow.js here, so the pipeline worker can load this file cheaply.
 */
import type { Prng } from "../../util/prng.ts";
import { randAugment, type RandAugmentOptions } from "./randaugment.ts";
import { tenCrop } from "./tencrop.ts";

/** The ImageNet mean of `transforms.Normalize` (RGB, on [0, 1]). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
/** The ImageNet std of `transforms.Normalize` (RGB, on [0, 1]). */
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * A store of [S, S, 3] uint8 images read one at a time (structurally the same as
 * lib/data/image_store.ts's `ImageStore`, declared here so this file stands alone).
 */
export interface ImageStoreLike {
  /** number of images N */
  readonly count: number;
  /** side S */
  readonly size: number;
  /** image i as a [S, S, 3] view */
  get(i: number): Uint8Array;
}

/** Images as one [N, S, S, 3] uint8 array, or a store. */
export type ImageSource = Uint8Array | ImageStoreLike;

/** Which augmentations run (each switchable); `randAugmentOptions` tunes RandAugment (default rand-m5-n3-mstd0.5). */
export interface AugmentOptions {
  /** timm RandAugment on uint8 before the flip (default off when absent) */
  randAugment?: boolean;
  /** horizontal flip, p = 0.5 */
  flip: boolean;
  /** random erasing after normalisation, p = 0.5, area 0.02-0.25 */
  erasing: boolean;
  /** n, m, mstd, ops, interpolation of RandAugment */
  randAugmentOptions?: Omit<RandAugmentOptions, "prng">;
}

/** One batch on the host: x [B', S, S, 3] float32 normalised, labels [B'], indices [B'] (B' = B x crops). */
export interface HostBatch {
  /** source image of each row: [B'] */
  indices: Int32Array;
  /** [B', S, S, 3] normalised */
  x: Float32Array;
  /** [B'] */
  labels: Int32Array;
  /** side S of x */
  imageSize: number;
  /** crops per source image, image-major (10 with TenCrop, else absent = 1) */
  crops?: number;
}

/** Options of `prepareBatch`. */
export interface PrepareOptions {
  /** side S of the stored images */
  imageSize: number;
  /** augmentations; none when absent or when `prng` is absent */
  augment?: AugmentOptions;
  /** the augmentation stream */
  prng?: Prng;
  /** cut every image into torchvision's TenCrop of this side first (SFEW: 224 from 256) */
  tenCrop?: number;
}

/** Image i of a source as a [S, S, 3] view. */
export function imageAt(images: ImageSource, i: number, size: number): Uint8Array {
  const px = size * size * 3;
  if (images instanceof Uint8Array) {
    if (!Number.isInteger(i) || i < 0 || (i + 1) * px > images.length) {
      throw new RangeError(`image index ${i} is outside the ${images.length / px} images of size ${size}`);
    }
    return images.subarray(i * px, (i + 1) * px);
  }
  if (images.size !== size) throw new RangeError(`image store holds ${images.size}px images, expected ${size}px`);
  return images.get(i);
}

/** torchvision's RandomErasing(p=0.5, scale=(0.02, 0.25), ratio=(0.3, 3.3), value=0) on one normalised HWC image. */
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

const SCALE = [0, 1, 2].map((c) => 1 / (255 * IMAGENET_STD[c]));
const SHIFT = [0, 1, 2].map((c) => IMAGENET_MEAN[c] / IMAGENET_STD[c]);

/** One image [S, S, 3] uint8 -> `out` [S, S, 3] float32: RandAugment, flip, normalise, erase as switched on. */
export function prepareImage(
  img: Uint8Array,
  out: Float32Array,
  options: { size: number; augment?: AugmentOptions; prng?: Prng },
): void {
  const { size: s, augment, prng } = options;
  let src = img;
  if (augment?.randAugment === true && prng !== undefined) {
    src = randAugment(img, s, { ...augment.randAugmentOptions, prng });
  }
  const flip = augment?.flip === true && prng !== undefined && prng.next() < 0.5;
  const [a0, a1, a2] = SCALE;
  const [b0, b1, b2] = SHIFT;
  for (let r = 0; r < s; r++) {
    for (let c = 0; c < s; c++) {
      const so = (r * s + (flip ? s - 1 - c : c)) * 3;
      const d = (r * s + c) * 3;
      out[d] = src[so] * a0 - b0;
      out[d + 1] = src[so + 1] * a1 - b1;
      out[d + 2] = src[so + 2] * a2 - b2;
    }
  }
  if (augment?.erasing === true && prng !== undefined) randomErase(out, s, prng);
}

/** Builds one batch from `indices` of `images`/`labels`; deterministic given the Prng's state. */
export function prepareBatch(
  split: { images: ImageSource; labels: ArrayLike<number> },
  indices: ArrayLike<number>,
  options: PrepareOptions,
): HostBatch {
  const s = options.imageSize;
  const crops = options.tenCrop === undefined ? 1 : 10;
  const out = options.tenCrop ?? s;
  const px = out * out * 3;
  const b = indices.length;
  const x = new Float32Array(b * crops * px);
  const labels = new Int32Array(b * crops);
  const idx = new Int32Array(b * crops);
  const per = { size: out, augment: options.augment, prng: options.prng };
  for (let k = 0; k < b; k++) {
    const i = indices[k];
    const img = imageAt(split.images, i, s);
    const views = options.tenCrop === undefined ? [img] : tenCrop(img, { width: s, height: s, crop: out });
    for (let v = 0; v < crops; v++) {
      const j = k * crops + v;
      labels[j] = split.labels[i];
      idx[j] = i;
      prepareImage(views[v], x.subarray(j * px, (j + 1) * px), per);
    }
  }
  const batch: HostBatch = { indices: idx, x, labels, imageSize: out };
  if (crops > 1) batch.crops = crops;
  return batch;
}

/**
 * Throughput of the data pipeline, for `deno task bench` beside the training step's:
 * - cold: decode + resize JPEG files with sharp, then prepare the batch (RandAugment ->
 *   flip -> normalise -> erasing); the JPEGs are written to a temporary folder first
 *   (just written, so the files come from the OS page cache: decode cost, not disk);
 * - cached: prepare batches from uint8 images already in memory (the disk-cache path).
 * An I/O module: it writes and removes its temporary folder, prints nothing.
 */
import sharp from "sharp";
import { join } from "node:path";
import { Prng } from "../util/prng.ts";
import { type AugmentOptions, prepareBatch } from "./augment/prepare.ts";
import { BatchPipeline } from "./pipeline.ts";

/** Options of `benchmarkPipeline`. */
export interface PipelineBenchOptions {
  /** side S the images are prepared at */
  imageSize: number;
  /** default 64 */
  batchSize?: number;
  /** default RandAugment + flip + erasing */
  augment?: AugmentOptions;
  /** true: decode JPEG files + augment; false: augment cached uint8 images */
  cold: boolean;
  /** distinct source images (default 256) */
  images?: number;
  /** side of the JPEG files for the cold run (default 100, RAF-DB's aligned faces) */
  sourceSize?: number;
  /** timed batches (default: every image once, at least 4 cold and 8 cached; past n / batchSize, files are decoded again) */
  batches?: number;
  /** 0 (default): prepare on this thread; 1: through BatchPipeline's worker */
  workers?: 0 | 1;
  /** seed of the test images and of the augmentation (default 1) */
  seed?: number;
}

/** Result of `benchmarkPipeline`. */
export interface PipelineBenchResult {
  /** cold: JPEG decode + augment; cached: augment only */
  kind: "pipeline-cold" | "pipeline-cached";
  /** side S */
  imageSize: number;
  /** images per batch */
  batchSize: number;
  /** images prepared in the timed part */
  images: number;
  /** wall time of the timed part */
  seconds: number;
  /** images / seconds */
  imagesPerSecond: number;
  /** of `seconds`, the time spent decoding (cold only) */
  decodeSeconds?: number;
}

/** [S, S, 3] test pattern: gradients, a disc and noise from the Prng (something for every op to change). */
function pattern(size: number, prng: Prng): Uint8Array {
  const img = new Uint8Array(size * size * 3);
  const cx = prng.uniform(0.3, 0.7) * size;
  const cy = prng.uniform(0.3, 0.7) * size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const disc = (x - cx) ** 2 + (y - cy) ** 2 < (size * size) / 12 ? 70 : 0;
      const n = prng.int(30);
      const o = (y * size + x) * 3;
      img[o] = Math.min(255, 40 + (150 * x) / size + disc + n);
      img[o + 1] = Math.min(255, 60 + (120 * y) / size + n);
      img[o + 2] = Math.min(255, 90 + disc / 2 + n);
    }
  }
  return img;
}

/** Measures images/s of the data pipeline at one size (see the module doc for cold vs cached). */
export async function benchmarkPipeline(options: PipelineBenchOptions): Promise<PipelineBenchResult> {
  const s = options.imageSize;
  const batchSize = options.batchSize ?? 64;
  const n = options.images ?? 256;
  const augment = options.augment ?? { randAugment: true, flip: true, erasing: true };
  const nBatches = options.batches ?? Math.max(options.cold ? 4 : 8, Math.ceil(n / batchSize));
  const prng = new Prng(options.seed ?? 1);
  if (!Number.isInteger(s) || s < 1) throw new RangeError(`imageSize must be a positive integer, got ${s}`);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > n) {
    throw new RangeError(`batchSize must be an integer in [1, images = ${n}], got ${batchSize}`);
  }
  const order = (k: number) => Int32Array.from({ length: batchSize }, (_, j) => (k * batchSize + j) % n);
  const labels = new Int32Array(n);

  if (!options.cold) {
    const images = new Uint8Array(n * s * s * 3);
    for (let i = 0; i < n; i++) images.set(pattern(s, prng), i * s * s * 3);
    const split = { images, labels };
    const warm = [order(0), order(1), order(2)]; // warm-up batches (JIT), not timed
    const batches = Array.from({ length: nBatches }, (_, k) => order(k));
    if ((options.workers ?? 0) === 1) {
      const pipe = new BatchPipeline(split, { imageSize: s, augment, prng, workers: 1 });
      try {
        for await (const _ of pipe.epoch(warm)) { /* the worker's start and JIT */ }
        const t0 = performance.now();
        for await (const _ of pipe.epoch(batches)) { /* consume */ }
        return result("pipeline-cached", s, batchSize, nBatches * batchSize, (performance.now() - t0) / 1000);
      } finally {
        pipe.close();
      }
    }
    for (const idx of warm) prepareBatch(split, idx, { imageSize: s, augment, prng });
    const t0 = performance.now();
    for (const idx of batches) prepareBatch(split, idx, { imageSize: s, augment, prng });
    const seconds = (performance.now() - t0) / 1000;
    return result("pipeline-cached", s, batchSize, nBatches * batchSize, seconds);
  }

  const src = options.sourceSize ?? 100;
  const dir = await Deno.makeTempDir({ prefix: "adadf-pipeline-bench-" });
  try {
    const files: string[] = [];
    for (let i = 0; i < n + batchSize; i++) { // the last batchSize files only warm up, so no decode is repeated
      const file = join(dir, `${String(i).padStart(5, "0")}.jpg`);
      await sharp(pattern(src, prng), { raw: { width: src, height: src, channels: 3 } }).jpeg({ quality: 90 }).toFile(
        file,
      );
      files.push(file);
    }
    const decode = async (idx: Int32Array) => {
      const px = s * s * 3;
      const images = new Uint8Array(idx.length * px);
      const bufs = await Promise.all(
        Array.from(idx, (i) => sharp(files[i]).resize(s, s, { fit: "fill" }).removeAlpha().raw().toBuffer()),
      );
      bufs.forEach((b, k) => images.set(b, k * px));
      return images;
    };
    await decode(Int32Array.from({ length: batchSize }, (_, j) => n + j)); // warm-up (libvips start, JIT)
    let decodeMs = 0;
    const t0 = performance.now();
    for (let k = 0; k < nBatches; k++) {
      const d0 = performance.now();
      const images = await decode(order(k));
      decodeMs += performance.now() - d0;
      const local = Int32Array.from({ length: batchSize }, (_, j) => j);
      prepareBatch({ images, labels: new Int32Array(batchSize) }, local, { imageSize: s, augment, prng });
    }
    const seconds = (performance.now() - t0) / 1000;
    return { ...result("pipeline-cold", s, batchSize, nBatches * batchSize, seconds), decodeSeconds: decodeMs / 1000 };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function result(
  kind: PipelineBenchResult["kind"],
  imageSize: number,
  batchSize: number,
  images: number,
  seconds: number,
): PipelineBenchResult {
  return { kind, imageSize, batchSize, images, seconds, imagesPerSecond: images / seconds };
}

/**
 * Per-image outputs of a trained model, what `deno task predict` prints: both branches'
 * logits, the attention weights (the official forward's (w_aux + w_tar) / 2, and each
 * branch's own) and the 7-class distribution (softmax of the target logits; inference uses
 * the target branch). Inputs are normalised NHWC batches,
 * made from aligned face files as training makes its test batches (decode to the model's
 * size, ImageNet normalisation, no augmentation), or given as a PyTorch-layout array.
 *
 * @example
 * ```ts
 * import { nchwToNhwc } from "./predict.ts";
 * // one 1x1 image, channels 0.1, 0.2, 0.3: NCHW [1, 3, 1, 1] -> NHWC [1, 1, 1, 3]
 * const x = nchwToNhwc(Float32Array.from([0.1, 0.2, 0.3]), [1, 3, 1, 1]);
 * if (x[2] !== Float32Array.from([0.3])[0]) throw new Error("channel last");
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { AdaDfNet } from "../model/adadf_net.ts";
import { decodeFace } from "../data/images.ts";
import { prepareBatch } from "../data/augment/prepare.ts";

/** One input's outputs. `probabilities` = softmax(targetLogits). */
export interface PredictionRow {
  /** [C] */
  targetLogits: number[];
  /** [C] */
  auxLogits: number[];
  /**
   * the official forward's third output, (w_aux + w_tar) / 2 (model.py); null for a plain
   * network (the baseline), which has no attention head
   */
  attention: number | null;
  /** the auxiliary branch's attention weight w_aux (sigmoid output); null for a plain network */
  attentionAux: number | null;
  /** the target branch's attention weight w_tar (sigmoid output); null for a plain network */
  attentionTarget: number | null;
  /** [C] */
  probabilities: number[];
}

/** NCHW float32 (PyTorch's layout) -> NHWC (TensorFlow.js's), values unchanged. */
export function nchwToNhwc(data: Float32Array, shape: readonly number[]): Float32Array {
  if (shape.length !== 4 || shape[1] !== 3) {
    throw new RangeError(`expected a batch of shape (N, 3, H, W), got (${shape.join(", ")})`);
  }
  const [n, c, h, w] = shape;
  if (data.length !== n * c * h * w) throw new RangeError(`${data.length} values do not fill (${shape.join(", ")})`);
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const src = (i * c + k) * h * w;
      for (let p = 0; p < h * w; p++) out[(i * h * w + p) * c + k] = data[src + p];
    }
  }
  return out;
}

/**
 * A NaN or an infinity in a model's input or output. TF.js's wasm kernels drop NaN in
 * convolution and max-pool, so they would otherwise come out as finite, plausible answers.
 */
export class NonFiniteError extends RangeError {
  override name = "NonFiniteError";
}

/** A face file that cannot be used; the message names it. */
export class FaceFileError extends RangeError {
  override name = "FaceFileError";
}

/**
 * Decodes aligned face files to `size` x `size` RGB and normalises them as training does
 * (ImageNet mean/std): [N, S, S, 3] float32. Throws a `FaceFileError` naming the first file
 * that is missing or cannot be decoded.
 */
export async function loadFaces(paths: readonly string[], size: number): Promise<Float32Array> {
  const images = await decodeFiles(paths, size);
  return prepareBatch({ images, labels: new Int32Array(paths.length) }, range(paths.length), { imageSize: size }).x;
}

/**
 * TenCrop at test time, as the official code does for SFEW: each face decoded at `decodeSize`
 * (256), cut into ten `crop` x `crop` crops (four corners and the centre, then the same of the
 * mirrored face), each normalised: [N * 10, crop, crop, 3], the crops of one face adjacent
 * (the training batches' TenCrop, `prepareBatch`). Average the rows with {@linkcode meanCropRows}.
 */
export async function loadFacesTenCrop(
  paths: readonly string[],
  options: { decodeSize: number; crop: number },
): Promise<Float32Array> {
  const images = await decodeFiles(paths, options.decodeSize);
  return prepareBatch({ images, labels: new Int32Array(paths.length) }, range(paths.length), {
    imageSize: options.decodeSize,
    tenCrop: options.crop,
  }).x;
}

const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

/**
 * One row per face from its `crops` adjacent crop rows: the logits averaged (the official
 * test-time `view(bs, ncrops, -1).mean(1)`), the attention averaged, the probabilities the
 * softmax of the mean target logits.
 */
export function meanCropRows(rows: readonly PredictionRow[], crops: number): PredictionRow[] {
  if (rows.length % crops !== 0) throw new RangeError(`${rows.length} rows are not whole groups of ${crops} crops`);
  const out: PredictionRow[] = [];
  for (let i = 0; i < rows.length; i += crops) {
    const group = rows.slice(i, i + crops);
    const mean = (pick: (r: PredictionRow) => number[]) =>
      pick(group[0]).map((_, j) => group.reduce((a, r) => a + pick(r)[j], 0) / crops);
    const targetLogits = mean((r) => r.targetLogits);
    const top = Math.max(...targetLogits);
    const e = targetLogits.map((l) => Math.exp(l - top));
    const z = e.reduce((a, b) => a + b, 0);
    const meanOf = (pick: (r: PredictionRow) => number | null) =>
      group[0] && pick(group[0]) === null ? null : group.reduce((a, r) => a + pick(r)!, 0) / crops;
    out.push({
      targetLogits,
      auxLogits: mean((r) => r.auxLogits),
      attention: meanOf((r) => r.attention),
      attentionAux: meanOf((r) => r.attentionAux),
      attentionTarget: meanOf((r) => r.attentionTarget),
      probabilities: e.map((v) => v / z),
    });
  }
  return out;
}

/** Decodes face files to [N, S, S, 3] RGB; a `FaceFileError` names the first that cannot be read. */
async function decodeFiles(paths: readonly string[], size: number): Promise<Uint8Array> {
  const px = size * size * 3;
  const out = new Uint8Array(paths.length * px);
  for (let i = 0; i < paths.length; i++) {
    try {
      out.set(await decodeFace({ kind: "file", path: paths[i] }, size), i * px);
    } catch (e) {
      const why = (e as Error).message.split("\n")[0];
      throw new FaceFileError(`image ${paths[i]} cannot be read: ${why}`);
    }
  }
  return out;
}

/**
 * Runs both branches in eval mode on `x` [N, S, S, 3] (normalised) in batches of
 * `batchSize` (default 64) and returns one row per image.
 */
export async function predictBatch(
  net: AdaDfNet,
  x: Float32Array,
  options: { imageSize: number; batchSize?: number },
): Promise<PredictionRow[]> {
  const s = options.imageSize;
  const px = s * s * 3;
  if (x.length % px !== 0) throw new RangeError(`${x.length} values are not a whole number of ${s}x${s}x3 images`);
  const n = x.length / px;
  const bad = x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new NonFiniteError(
      `input row ${
        Math.floor(bad / px)
      } holds a non-finite value (NaN or infinity); expected finite, normalised pixels`,
    );
  }
  const b = options.batchSize ?? 64;
  const c = net.config.numClasses;
  const rows: PredictionRow[] = [];
  for (let start = 0; start < n; start += b) {
    const m = Math.min(b, n - start);
    const outs = tf.tidy(() => {
      const o = net.apply(tf.tensor4d(x.subarray(start * px, (start + m) * px), [m, s, s, 3]), { training: false });
      return [o.tarLogits, o.auxLogits, o.wAux, o.wTar, tf.softmax(o.tarLogits)];
    });
    const [tar, aux, wAux, wTar, prob] = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(outs);
    for (const a of [tar, aux, wAux, wTar]) {
      const bad = a.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        const row = start + Math.floor(bad / (a.length / m));
        throw new NonFiniteError(`the model's outputs for input row ${row} are not finite (NaN or infinity)`);
      }
    }
    const plain = net.config.variant === "plain";
    for (let i = 0; i < m; i++) {
      const row = (a: Float32Array) => Array.from(a.subarray(i * c, (i + 1) * c));
      rows.push({
        targetLogits: row(tar),
        auxLogits: row(aux),
        attention: plain ? null : (wAux[i] + wTar[i]) / 2, // model.py's third output
        attentionAux: plain ? null : wAux[i],
        attentionTarget: plain ? null : wTar[i],
        probabilities: row(prob),
      });
    }
  }
  return rows;
}

/**
 * Aligning one face: the five landmarks are mapped onto the template by the weighted
 * least-squares similarity transform (similarity.ts; the eyes weigh most, see
 * `EYE_ANCHORED_WEIGHTS`), and the crop is sampled through its inverse.
 *
 * Sampling follows the data sets' decoding path (lib/data/images.ts, PIL's bilinear resize):
 * when the face must shrink (the usual case, a 300-pixel face into 100x100), the square region
 * that the crop covers is first resized with `resizeBilinear` (PIL's triangle filter, widened
 * by the scale, so the same antialiasing as `Resize((224, 224))` on a data set's image), and
 * only the rotation and the sub-pixel shift are left to a bilinear warp at scale ~1. An
 * enlarged face (a small face in a photo) is warped with bilinear interpolation directly,
 * which is what PIL's bilinear filter does when enlarging. Outside the photo is black, as in
 * OpenCV's `warpAffine` (the usual MTCNN/insightface tools). Pixel centres are at i + 0.5.
 *
 * @example
 * ```ts
 * import { alignFace } from "./align.ts";
 * import { RAF_DB_TEMPLATE } from "./template.ts";
 * // a grey 200x200 "photo" whose landmarks are the template doubled: the crop is the photo halved
 * const photo = { data: new Uint8Array(200 * 200 * 3).fill(90), width: 200, height: 200 };
 * const face = alignFace(photo, RAF_DB_TEMPLATE.map(([x, y]) => [2 * x, 2 * y]));
 * if (face.pixels.length !== 100 * 100 * 3 || face.pixels[5050 * 3] !== 90) throw new Error("bad crop");
 * ```
 * @module
 */
import { resizeBilinear } from "../data/images.ts";
import {
  applySimilarity,
  estimateSimilarity,
  invertSimilarity,
  type Point,
  type Similarity,
  similarityScale,
} from "./similarity.ts";
import { ALIGNED_SIZE, RAF_DB_TEMPLATE, templateForSize } from "./template.ts";

/** An RGB image, row-major [height, width, 3]. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** An aligned face. */
export interface AlignedFace {
  /** [size, size, 3] RGB */
  pixels: Uint8Array;
  size: number;
  /** photo coordinates -> crop coordinates */
  transform: Similarity;
}

/** Options of {@linkcode alignFace}. */
export interface AlignOptions {
  /** side of the crop (default 100, RAF-DB's) */
  size?: number;
  /** the five target points for a 100x100 crop, scaled to `size` (default `RAF_DB_TEMPLATE`) */
  template?: readonly Point[];
  /**
   * weights of the five points in the least-squares fit (default {@linkcode EYE_ANCHORED_WEIGHTS}:
   * the eyes decide; `[1, 1, 1, 1, 1]` is insightface's unweighted `estimate_norm`)
   */
  weights?: readonly number[];
}

/**
 * The default weights of the five points: eyes 1, nose tip and mouth corners 0.01 each. The
 * eyes are the points a 68-point net places best and the ones the template's framing rests
 * on; a 68-point net's nose tip and mouth corners are not quite the points the template was
 * made from (MTCNN's), so an unweighted fit lets them pull the eyes off the template (median
 * 1.2 px, worst 7.9 px on the 22 sample faces). With these weights every sample face's eyes
 * land within 0.83 px of the template (median 0.07 px), for a mouth and nose on average 5.7 px
 * from theirs instead of 4.3 px (lib/faces/README.md).
 */
export const EYE_ANCHORED_WEIGHTS: readonly number[] = [1, 1, 0.01, 0.01, 0.01];

/** Aligns the face whose five landmarks (eyes, nose tip, mouth corners, in photo pixels) are given. */
export function alignFace(photo: RgbImage, landmarks: readonly Point[], options: AlignOptions = {}): AlignedFace {
  const size = options.size ?? ALIGNED_SIZE;
  if (!(Number.isInteger(size) && size >= 1 && size <= 4096)) {
    throw new RangeError(`size must be an integer in [1, 4096], got ${size}`);
  }
  if (photo.data.length !== photo.width * photo.height * 3) {
    throw new RangeError(`${photo.data.length} bytes is not a ${photo.width}x${photo.height} RGB image`);
  }
  const template = templateForSize(size, options.template ?? RAF_DB_TEMPLATE);
  if (landmarks.length !== template.length) {
    throw new RangeError(
      `expected ${template.length} landmarks (eyes, nose tip, mouth corners), got ${landmarks.length}`,
    );
  }
  const transform = estimateSimilarity(landmarks, template, { weights: options.weights ?? EYE_ANCHORED_WEIGHTS });
  const inverse = invertSimilarity(transform); // crop -> photo
  const scale = similarityScale(transform); // crop pixels per photo pixel
  if (scale >= 1) return { pixels: warp(photo, inverse, size), size, transform };

  // shrink first with PIL's bilinear filter: the square of the photo that the crop covers
  const corners = ([[0, 0], [size, 0], [0, size], [size, size]] as Point[]).map((p) => applySimilarity(inverse, p));
  const xs = corners.map((p) => p[0]), ys = corners.map((p) => p[1]);
  const margin = 2 / scale; // the widened filter's support, so the border pixels see their neighbours
  const side = Math.ceil(Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)) + 2 * margin);
  const x0 = Math.floor((Math.max(...xs) + Math.min(...xs)) / 2 - side / 2);
  const y0 = Math.floor((Math.max(...ys) + Math.min(...ys)) / 2 - side / 2);
  const region = extract(photo, x0, y0, side);
  const small = Math.max(1, Math.round(side * scale));
  const k = small / side;
  const shrunk = resizeBilinear(region, { width: side, height: side, size: small });
  // crop -> photo -> region -> shrunk region, all similarities
  const toShrunk: Similarity = {
    a: inverse.a * k,
    b: inverse.b * k,
    tx: (inverse.tx - x0) * k,
    ty: (inverse.ty - y0) * k,
  };
  return { pixels: warp({ data: shrunk, width: small, height: small }, toShrunk, size), size, transform };
}

/** A `side` x `side` window of the photo from (x0, y0), black where it leaves the photo. */
function extract(photo: RgbImage, x0: number, y0: number, side: number): Uint8Array {
  const out = new Uint8Array(side * side * 3);
  const left = Math.max(0, x0), right = Math.min(photo.width, x0 + side);
  if (right <= left) return out;
  for (let y = Math.max(0, y0); y < Math.min(photo.height, y0 + side); y++) {
    const src = (y * photo.width + left) * 3;
    out.set(photo.data.subarray(src, src + (right - left) * 3), ((y - y0) * side + (left - x0)) * 3);
  }
  return out;
}

/** Bilinear warp: output pixel centre c -> source point `toSource(c)`; black outside. */
function warp(src: RgbImage, toSource: Similarity, size: number): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  const { data, width, height } = src;
  const px = (x: number, y: number, c: number) =>
    x < 0 || y < 0 || x >= width || y >= height ? 0 : data[(y * width + x) * 3 + c];
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const [u, v] = applySimilarity(toSource, [j + 0.5, i + 0.5]);
      const fx = u - 0.5, fy = v - 0.5; // to pixel-index space
      const x = Math.floor(fx), y = Math.floor(fy);
      const wx = fx - x, wy = fy - y;
      for (let c = 0; c < 3; c++) {
        const top = px(x, y, c) * (1 - wx) + px(x + 1, y, c) * wx;
        const bottom = px(x, y + 1, c) * (1 - wx) + px(x + 1, y + 1, c) * wx;
        out[(i * size + j) * 3 + c] = Math.round(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return out;
}

/**
 * Decoding one face image to the model's input size with sharp (libvips): JPEG, PNG (and
 * BMP/TIFF/WebP) files or raw pixels (FER2013), grey or with alpha, to a square RGB array.
 * This is the only place a data set's images are decoded.
 *
 * What the official code does (dataset.py): `Image.open(path).convert('RGB')` (grey -> RGB by
 * repeating the channel; alpha dropped), then `transforms.Resize((224, 224))`, a plain
 * bilinear resize to a square that ignores the aspect ratio. Here: sharp decodes (and crops),
 * and {@linkcode resizeBilinear} reproduces PIL's bilinear resize to the byte. EXIF
 * orientation is ignored, as PIL ignores it.
 *
 * @module
 */
import sharp from "sharp";
import { InputFileError, readRegularFile } from "../util/files.ts";
import { limit } from "../util/limits.ts";
import type { CropBox, ImageSource } from "./readers/types.ts";

/** An image that cannot be used: missing, unreadable, corrupt or truncated. `path` names it. */
export class ImageDecodeError extends Error {
  override name = "ImageDecodeError";
  /** The file (or sample) that failed. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

/** The crop box clamped to the image; null when nothing of it lies inside. */
export function clampCrop(
  box: CropBox,
  width: number,
  height: number,
): { left: number; top: number; width: number; height: number } | null {
  const left = Math.max(0, Math.round(box.x));
  const top = Math.max(0, Math.round(box.y));
  const right = Math.min(width, Math.round(box.x + box.w));
  const bottom = Math.min(height, Math.round(box.y + box.h));
  if (right - left < 1 || bottom - top < 1) return null;
  return { left, top, width: right - left, height: bottom - top };
}

/** The first line of an error's message. */
function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split("\n")[0];
}

/**
 * Decodes a face to a `size` x `size` RGB array: grey becomes RGB, alpha is dropped, the
 * AffectNet face box (if any) is cropped (clamped to the image), then the face is resized to
 * the square. Throws an {@linkcode ImageDecodeError} for a missing, unreadable, corrupt or
 * truncated file, a path that is not a regular file (a FIFO, a link to `/dev/zero`), a file
 * above ADADF_MAX_IMAGE_BYTES, an image above ADADF_MAX_IMAGE_PIXELS (checked from its
 * header, before decoding), or a face box outside the image. As PIL (the official code's loader), a
 * truncated image is an error but a recoverable glitch (libjpeg's "extraneous bytes before
 * marker") is not: sharp's `failOn: "truncated"`.
 *
 * @returns `Uint8Array` [size, size, 3], row-major RGB.
 *
 * @example
 * ```ts
 * import { decodeFace } from "./images.ts";
 * const grey = new Uint8Array(48 * 48).fill(200); // a FER2013-style grey face
 * const rgb = await decodeFace({ kind: "pixels", pixels: grey, width: 48, height: 48, channels: 1 }, 32);
 * if (rgb.length !== 32 * 32 * 3 || rgb[0] !== 200 || rgb[2] !== 200) throw new Error("grey to RGB");
 * ```
 */
export async function decodeFace(source: ImageSource, size: number): Promise<Uint8Array> {
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`size must be a positive integer, got ${size}`);
  if (source.kind === "pixels") {
    const { pixels, width, height, channels } = source;
    if (pixels.length !== width * height * channels) {
      throw new ImageDecodeError("(raw pixels)", `${pixels.length} bytes, expected ${width} x ${height} x ${channels}`);
    }
    let rgb = pixels;
    if (channels === 1) {
      rgb = new Uint8Array(width * height * 3);
      for (let i = 0; i < width * height; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = pixels[i];
    }
    return resizeBilinear(rgb, { width, height, size });
  }
  const name = source.path;
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(source.path, { maxBytes: "ADADF_MAX_IMAGE_BYTES", what: "image" });
  } catch (e) {
    if (!(e instanceof InputFileError)) throw e;
    const why = e.message.slice(`${name}: `.length);
    throw new ImageDecodeError(name, why.startsWith("image does not exist") ? "listed but missing" : why);
  }
  if (bytes.length === 0) throw new ImageDecodeError(name, "empty file");
  const maxPixels = limit("ADADF_MAX_IMAGE_PIXELS");
  let img = sharp(bytes, { failOn: "truncated", limitInputPixels: maxPixels });
  // the size from the header, before any pixel is decoded: a 775 KB PNG can hold 16000x16000
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata(); // the header only
  } catch (e) {
    throw new ImageDecodeError(name, `corrupt, truncated or not an image (${firstLine(e)})`);
  }
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > maxPixels) {
    throw new ImageDecodeError(
      name,
      `${meta.width}x${meta.height} pixels, above the limit of ${maxPixels} (raise it with ADADF_MAX_IMAGE_PIXELS)`,
    );
  }
  if (source.crop) {
    const box = clampCrop(source.crop, meta.width ?? 0, meta.height ?? 0);
    if (box === null) {
      const c = source.crop;
      throw new ImageDecodeError(
        name,
        `face box (${c.x}, ${c.y}, ${c.w}, ${c.h}) lies outside the ${meta.width}x${meta.height} image`,
      );
    }
    img = img.extract(box);
  }
  let data: Uint8Array, width: number, height: number;
  try {
    const out = await img.removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    if (out.info.channels !== 3) throw new Error(`decoded to ${out.info.channels} channels, expected 3`);
    ({ data, info: { width, height } } = out);
  } catch (e) {
    throw new ImageDecodeError(name, `corrupt, truncated or not an image (${firstLine(e)})`);
  }
  return resizeBilinear(data, { width, height, size });
}

/** PIL's fixed-point precision for 8-bit resampling (Resample.c: PRECISION_BITS = 32 - 8 - 2). */
const PRECISION_BITS = 22;

/**
 * One axis of PIL's resampling with the bilinear (triangle) filter, as Resample.c's
 * precompute_coeffs and normalize_coeffs_8bpc compute it: output pixel `o` reads `count[o]`
 * input pixels from `first[o]` with fixed-point weights `k[o * taps + j]`. When shrinking, the
 * triangle is widened by the scale (antialiasing).
 */
function bilinearTaps(
  inSize: number,
  outSize: number,
): { first: Int32Array; count: Int32Array; k: Int32Array; taps: number } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle's support is 1
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k = new Int32Array(outSize * taps);
  const w = new Float64Array(taps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - lo;
    let total = 0;
    for (let j = 0; j < n; j++) {
      const x = Math.abs((j + lo - center + 0.5) / filterScale);
      w[j] = x < 1 ? 1 - x : 0;
      total += w[j];
    }
    for (let j = 0; j < n; j++) {
      const v = total !== 0 ? w[j] / total : 0;
      k[o * taps + j] = v < 0
        ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS))
        : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    first[o] = lo;
    count[o] = n;
  }
  return { first, count, k, taps };
}

/** PIL's clip8: a fixed-point sum (an integer below 2^31: weights sum to 2^22, pixels <= 255) back to 0..255. */
function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resizes an RGB image to `size` x `size` exactly as PIL's `Image.resize((size, size),
 * Image.BILINEAR)` does (torchvision's `Resize((224, 224))` on a PIL image): a separable
 * triangle filter, widened when shrinking, horizontal pass first into an 8-bit intermediate,
 * 22-bit fixed-point weights. Returns the input itself when it already has the size.
 *
 * @param rgb `Uint8Array` [height, width, 3]
 * @returns `Uint8Array` [size, size, 3]
 *
 * @example
 * ```ts
 * import { resizeBilinear } from "./images.ts";
 * // a 2x1 black-white image stretched to 4x4: PIL gives 0, 64, 191, 255 along each row
 * const out = resizeBilinear(Uint8Array.from([0, 0, 0, 255, 255, 255]), { width: 2, height: 1, size: 4 });
 * if (out[3] !== 64 || out[6] !== 191 || out[9] !== 255) throw new Error("not PIL's bilinear");
 * ```
 */
export function resizeBilinear(rgb: Uint8Array, shape: { width: number; height: number; size: number }): Uint8Array {
  const { width, height, size } = shape;
  if (rgb.length !== width * height * 3) {
    throw new RangeError(`${rgb.length} bytes is not a ${width}x${height} RGB image`);
  }
  if (width === size && height === size) return rgb;
  // rows of the input that the vertical pass reads
  const vert = bilinearTaps(height, size);
  const y0 = vert.first[0];
  const y1 = vert.first[size - 1] + vert.count[size - 1];
  // horizontal pass over those rows: [y1 - y0, size, 3]
  let tmp: Uint8Array;
  if (width !== size) {
    const hor = bilinearTaps(width, size);
    tmp = new Uint8Array((y1 - y0) * size * 3);
    const half = 1 << (PRECISION_BITS - 1);
    for (let y = y0; y < y1; y++) {
      const row = y * width * 3;
      const out = (y - y0) * size * 3;
      for (let o = 0; o < size; o++) {
        let r = half, g = half, b = half;
        const base = o * hor.taps;
        for (let j = 0; j < hor.count[o]; j++) {
          const w = hor.k[base + j];
          const p = row + (hor.first[o] + j) * 3;
          r += rgb[p] * w;
          g += rgb[p + 1] * w;
          b += rgb[p + 2] * w;
        }
        tmp[out + o * 3] = clip8(r);
        tmp[out + o * 3 + 1] = clip8(g);
        tmp[out + o * 3 + 2] = clip8(b);
      }
    }
  } else {
    tmp = rgb.subarray(y0 * width * 3, y1 * width * 3);
  }
  if (height === size) return tmp.slice();
  // vertical pass: [size, size, 3], one output row at a time
  const out = new Uint8Array(size * size * 3);
  const half = 1 << (PRECISION_BITS - 1);
  const stride = size * 3;
  const acc = new Float64Array(stride);
  for (let o = 0; o < size; o++) {
    acc.fill(half);
    const base = o * vert.taps;
    const from = vert.first[o] - y0;
    for (let j = 0; j < vert.count[o]; j++) {
      const w = vert.k[base + j];
      const row = (from + j) * stride;
      for (let x = 0; x < stride; x++) acc[x] += tmp[row + x] * w;
    }
    const dst = o * stride;
    for (let x = 0; x < stride; x++) out[dst + x] = clip8(acc[x]);
  }
  return out;
}

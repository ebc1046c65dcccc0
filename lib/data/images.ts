/**
 * Decoding one face image to the model's input size with sharp (libvips): JPEG, PNG (and
 * BMP/TIFF/WebP) files or raw pixels (FER2013), grey or with alpha, to a square RGB array.
 * This is the only place a data set's images are decoded.
 *
 * What the official code does (dataset.py): `Image.open(path).convert('RGB')` (grey -> RGB by
 * repeating the channel; alpha dropped), then `transforms.Resize((224, 224))`, a plain
 * bilinear resize to a square that ignores the aspect ratio. Here: the same steps, sharp's
 * `fit: "fill"` with the linear kernel. EXIF orientation is ignored, as PIL ignores it.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import sharp from "sharp";
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
 * truncated file, or a face box outside the image. As PIL (the official code's loader), a
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
  let img: sharp.Sharp;
  let name: string;
  if (source.kind === "pixels") {
    name = "(raw pixels)";
    const { pixels, width, height, channels } = source;
    if (pixels.length !== width * height * channels) {
      throw new ImageDecodeError(name, `${pixels.length} bytes, expected ${width} x ${height} x ${channels}`);
    }
    if (width === size && height === size) {
      // already the size (FER2013 at 48): no resampling, grey repeated into RGB
      if (channels === 3) return new Uint8Array(pixels);
      const out = new Uint8Array(size * size * 3);
      for (let i = 0; i < size * size; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = pixels[i];
      return out;
    }
    img = sharp(pixels, { raw: { width, height, channels } });
  } else {
    name = source.path;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(source.path);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new ImageDecodeError(name, code === "ENOENT" ? "listed but missing" : `cannot be read (${firstLine(e)})`);
    }
    if (bytes.length === 0) throw new ImageDecodeError(name, "empty file");
    img = sharp(bytes, { failOn: "truncated" });
    if (source.crop) {
      let meta: sharp.Metadata;
      try {
        meta = await img.metadata();
      } catch (e) {
        throw new ImageDecodeError(name, `not a readable image (${firstLine(e)})`);
      }
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
  }
  try {
    const { data, info } = await img
      .removeAlpha()
      .toColourspace("srgb")
      .resize(size, size, { fit: "fill", kernel: "linear" })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== size || info.height !== size || data.length !== size * size * 3) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
    }
    return new Uint8Array(data); // a copy: a Node Buffer may be a view into a shared pool
  } catch (e) {
    throw new ImageDecodeError(name, `corrupt, truncated or not an image (${firstLine(e)})`);
  }
}

/**
 * Decoding an ordinary photo once: full-size RGB for the aligned crops, and a copy shrunk
 * (from the decoded pixels, not decoded again) for the detector. Reading follows the data sets'
 * rules (lib/data/images.ts): a regular file under ADADF_MAX_IMAGE_BYTES, its size checked from
 * the header against ADADF_MAX_IMAGE_PIXELS before any pixel is decoded, a truncated or corrupt
 * file an `ImageDecodeError` naming it. Unlike a data set's faces, a photo is turned upright by
 * its EXIF orientation (a phone's portrait photo is stored sideways), so boxes and landmarks are
 * in the upright photo's pixels.
 * @module
 */
import sharp from "sharp";
import { ImageDecodeError } from "../data/images.ts";
import { InputFileError, readRegularFile } from "../util/files.ts";
import { limit } from "../util/limits.ts";
import type { RgbImage } from "./align.ts";

/** The longest side the detector sees; larger photos are shrunk for detection only. */
export const DETECT_MAX_SIDE = 1024;

/** A decoded photo. */
export interface Photo extends RgbImage {
  path: string;
  /** the photo shrunk so that its longer side is at most `maxSide` (the photo itself when smaller) */
  detect: RgbImage;
  /** detect pixels per photo pixel (<= 1) */
  detectScale: number;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split("\n")[0];
}

/** Reads and decodes a photo; `maxSide` (default `DETECT_MAX_SIDE`) bounds the detector's copy. */
export async function decodePhoto(path: string, options: { maxSide?: number } = {}): Promise<Photo> {
  const maxSide = options.maxSide ?? DETECT_MAX_SIDE;
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(path, { maxBytes: "ADADF_MAX_IMAGE_BYTES", what: "image" });
  } catch (e) {
    if (!(e instanceof InputFileError)) throw e;
    throw new ImageDecodeError(path, e.message.slice(`${path}: `.length));
  }
  if (bytes.length === 0) throw new ImageDecodeError(path, "empty file");
  const maxPixels = limit("ADADF_MAX_IMAGE_PIXELS");
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata(); // the header only
  } catch (e) {
    throw new ImageDecodeError(path, `corrupt, truncated or not an image (${firstLine(e)})`);
  }
  if ((meta.width ?? 0) * (meta.height ?? 0) > maxPixels) {
    throw new ImageDecodeError(
      path,
      `${meta.width}x${meta.height} pixels, above the limit of ${maxPixels} (raise it with ADADF_MAX_IMAGE_PIXELS)`,
    );
  }
  let data: Uint8Array, width: number, height: number;
  try {
    const out = await sharp(bytes, { failOn: "truncated", limitInputPixels: maxPixels })
      .rotate() // EXIF orientation
      .removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    if (out.info.channels !== 3) throw new Error(`decoded to ${out.info.channels} channels, expected 3`);
    data = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
    ({ width, height } = out.info);
  } catch (e) {
    throw new ImageDecodeError(path, `corrupt, truncated or not an image (${firstLine(e)})`);
  }
  const scale = Math.min(1, maxSide / Math.max(width, height));
  let detect: RgbImage = { data, width, height };
  if (scale < 1) {
    const w = Math.max(1, Math.round(width * scale)), h = Math.max(1, Math.round(height * scale));
    const small = await sharp(data, { raw: { width, height, channels: 3 } }).resize(w, h, { fit: "fill" })
      .raw().toBuffer();
    detect = { data: new Uint8Array(small.buffer, small.byteOffset, small.length), width: w, height: h };
  }
  return { path, data, width, height, detect, detectScale: detect.width / width };
}

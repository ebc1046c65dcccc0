/**
 * From aligned 100x100 faces to a model's input batch, exactly as a data set's aligned faces are
 * decoded and prepared (lib/data/images.ts, lib/data/augment/prepare.ts): PIL-bilinear resize of
 * the 100x100 crop to the model's size (the official `Resize((224, 224))` of RAF-DB's aligned
 * images), ImageNet normalisation, and TenCrop when the model is tested that way. A crop fed
 * here gives the same input as the same crop saved as PNG and given to `deno task predict`.
 * @module
 */
import { resizeBilinear } from "../data/images.ts";
import { prepareBatch } from "../data/augment/prepare.ts";

/** Options of {@linkcode facesToBatch}. */
export interface FacesBatchOptions {
  /** the model's input size */
  imageSize: number;
  /** TenCrop: faces are resized to `decodeSize` (256/224 of the input) and cut into ten `imageSize` crops */
  tenCrop?: boolean;
  /** the size faces are resized to before TenCrop (required with `tenCrop`) */
  decodeSize?: number;
}

/**
 * `faces`: [N, S, S, 3] RGB crops of side `cropSize`. Returns the normalised NHWC batch
 * [N (x 10 with TenCrop), imageSize, imageSize, 3], the crops of one face adjacent.
 */
export function facesToBatch(faces: readonly Uint8Array[], cropSize: number, options: FacesBatchOptions): Float32Array {
  const resizeTo = options.tenCrop ? options.decodeSize : options.imageSize;
  if (resizeTo === undefined) throw new RangeError("decodeSize is required with tenCrop");
  const px = resizeTo * resizeTo * 3;
  const images = new Uint8Array(faces.length * px);
  faces.forEach((f, i) => images.set(resizeBilinear(f, { width: cropSize, height: cropSize, size: resizeTo }), i * px));
  const indices = Int32Array.from(faces.keys());
  return prepareBatch({ images, labels: new Int32Array(faces.length) }, indices, {
    imageSize: resizeTo,
    tenCrop: options.tenCrop ? options.imageSize : undefined,
  }).x;
}

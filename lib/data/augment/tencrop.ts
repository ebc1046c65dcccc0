/**
 * torchvision's `TenCrop(crop)` on one uint8 RGB HWC image, as the official code uses it
 * for SFEW (resize 256, TenCrop 224; METHOD.md): the four corners and the centre, then
 * the same five crops of the horizontally flipped image. At test time the crop logits are
 * averaged (`outputs.view(bs, ncrops, -1).mean(1)`): `meanOverCrops`.
 */

/** torchvision's crop order: top-left, top-right, bottom-left, bottom-right, centre (x2 with the flip). */
export const TEN_CROP_ORDER = ["tl", "tr", "bl", "br", "centre"] as const;

/** Python's round(): halves to even (torchvision's center_crop offsets). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Mirrors an HWC image left-right: [H, W, 3] -> new [H, W, 3]. */
export function flipHorizontal(img: Uint8Array, options: { width: number; height: number }): Uint8Array {
  const { width: w, height: h } = options;
  const out = new Uint8Array(img.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + (w - 1 - x)) * 3;
      const d = (y * w + x) * 3;
      out[d] = img[s];
      out[d + 1] = img[s + 1];
      out[d + 2] = img[s + 2];
    }
  }
  return out;
}

function crop(img: Uint8Array, w: number, top: number, left: number, c: number): Uint8Array {
  const out = new Uint8Array(c * c * 3);
  for (let r = 0; r < c; r++) {
    out.set(img.subarray(((top + r) * w + left) * 3, ((top + r) * w + left + c) * 3), r * c * 3);
  }
  return out;
}

/** The five crops of torchvision's `five_crop`, in its order: 5 x [crop, crop, 3]. */
export function fiveCrop(img: Uint8Array, options: { width: number; height: number; crop: number }): Uint8Array[] {
  const { width: w, height: h, crop: c } = options;
  if (img.length !== w * h * 3) throw new RangeError(`image has ${img.length} bytes, expected ${h}x${w}x3`);
  if (!Number.isInteger(c) || c < 1 || c > w || c > h) {
    throw new RangeError(`crop must be an integer in [1, min(width, height) = ${Math.min(w, h)}], got ${c}`);
  }
  const top = roundHalfEven((h - c) / 2);
  const left = roundHalfEven((w - c) / 2);
  return [
    crop(img, w, 0, 0, c),
    crop(img, w, 0, w - c, c),
    crop(img, w, h - c, 0, c),
    crop(img, w, h - c, w - c, c),
    crop(img, w, top, left, c),
  ];
}

/** torchvision's `TenCrop(crop)` (vertical_flip = False): 10 x [crop, crop, 3], the last five from the mirrored image. */
export function tenCrop(img: Uint8Array, options: { width: number; height: number; crop: number }): Uint8Array[] {
  return [...fiveCrop(img, options), ...fiveCrop(flipHorizontal(img, options), options)];
}

/**
 * Mean of the crop logits per image: [B * crops, C] (image-major, crops of one image
 * adjacent, as a TenCrop batch) -> [B, C]; the official test-time `view(bs, ncrops, -1).mean(1)`.
 */
export function meanOverCrops(logits: Float32Array, options: { crops: number; classes: number }): Float32Array {
  const { crops, classes } = options;
  if (logits.length % (crops * classes) !== 0) {
    throw new RangeError(`logits length ${logits.length} is not a multiple of crops x classes = ${crops * classes}`);
  }
  const b = logits.length / (crops * classes);
  const out = new Float32Array(b * classes);
  for (let i = 0; i < b; i++) {
    for (let k = 0; k < crops; k++) {
      for (let c = 0; c < classes; c++) out[i * classes + c] += logits[(i * crops + k) * classes + c];
    }
    for (let c = 0; c < classes; c++) out[i * classes + c] /= crops;
  }
  return out;
}

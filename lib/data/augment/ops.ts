/**
 * The 15 RandAugment image operations, one small function each, on square uint8 RGB
 * images laid out HWC (`[S, S, 3]`). Each ports the PIL call that timm's
 * `auto_augment.py` makes (Pillow 9.4 semantics, checked against PIL by the golden
 * tests in tests/data/randaugment_test.ts):
 *
 * - point ops (per-channel 256-entry tables, as `Image.point`): `ImageOps.autocontrast`,
 *   `ImageOps.equalize`, `ImageOps.invert`, `ImageOps.posterize`, `ImageOps.solarize`,
 *   timm's `solarize_add`;
 * - enhance ops (`ImageEnhance.*`, i.e. `Image.blend(degenerate, image, factor)` in C
 *   float arithmetic): Color (degenerate = greyscale), Contrast (degenerate = the
 *   rounded grey mean), Brightness (degenerate = black), Sharpness (degenerate =
 *   `ImageFilter.SMOOTH`, border pixels untouched);
 * - geometric ops (`Image.transform(AFFINE)` with bilinear or bicubic resampling and a
 *   fill colour, `Image.rotate` about the centre): Rotate, ShearX, ShearY,
 *   TranslateXRel, TranslateYRel.
 *
 * Every function returns a new array and leaves its input untouched.
 */

/** Resampling filter of the geometric ops (timm picks one of the two at random per call). */
export type Interpolation = "bilinear" | "bicubic";

/** The fill colour of geometric ops: the official code's `img_mean` (ImageNet mean x 255). */
export const FILL_RGB: readonly [number, number, number] = [124, 116, 104];

function checkImage(img: Uint8Array, size: number): void {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`image size must be a positive integer, got ${size}`);
  if (img.length !== size * size * 3) {
    throw new RangeError(`image has ${img.length} bytes, expected ${size}x${size}x3 = ${size * size * 3}`);
  }
}

/** `Image.point` with one 256-entry table per channel (`luts[c]`). */
function applyLuts(img: Uint8Array, luts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(img.length);
  const [r, g, b] = luts;
  for (let i = 0; i < img.length; i += 3) {
    out[i] = r[img[i]];
    out[i + 1] = g[img[i + 1]];
    out[i + 2] = b[img[i + 2]];
  }
  return out;
}

function sameLut(f: (v: number) => number): Uint8Array[] {
  const lut = Uint8Array.from({ length: 256 }, (_, v) => f(v));
  return [lut, lut, lut];
}

/** Per-channel histograms: [3, 256]. */
function histograms(img: Uint8Array): Int32Array[] {
  const h = [new Int32Array(256), new Int32Array(256), new Int32Array(256)];
  for (let i = 0; i < img.length; i += 3) {
    h[0][img[i]]++;
    h[1][img[i + 1]]++;
    h[2][img[i + 2]]++;
  }
  return h;
}

// ---- point operations ------------------------------------------------------------------------

/** `ImageOps.invert`: v -> 255 - v. */
export function invert(img: Uint8Array, size: number): Uint8Array {
  checkImage(img, size);
  return applyLuts(img, sameLut((v) => 255 - v));
}

/** `ImageOps.posterize(img, bits)`: keep the `bits` most significant bits (timm returns the image for bits >= 8). */
export function posterize(img: Uint8Array, size: number, bits: number): Uint8Array {
  checkImage(img, size);
  if (bits >= 8) return img.slice();
  const mask = ~(2 ** (8 - bits) - 1) & 0xff;
  return applyLuts(img, sameLut((v) => v & mask));
}

/** `ImageOps.solarize(img, threshold)`: v -> 255 - v for v >= threshold. */
export function solarize(img: Uint8Array, size: number, threshold: number): Uint8Array {
  checkImage(img, size);
  return applyLuts(img, sameLut((v) => (v < threshold ? v : 255 - v)));
}

/** timm's `solarize_add(img, add, thresh=128)`: v -> min(255, v + add) for v < 128. */
export function solarizeAdd(img: Uint8Array, size: number, add: number): Uint8Array {
  checkImage(img, size);
  return applyLuts(img, sameLut((v) => (v < 128 ? Math.min(255, v + add) : v)));
}

/** `ImageOps.autocontrast(img)` (cutoff 0): per channel, stretch [lo, hi] to [0, 255] with int() truncation. */
export function autoContrast(img: Uint8Array, size: number): Uint8Array {
  checkImage(img, size);
  const luts = histograms(img).map((h) => {
    let lo = 0;
    while (lo < 255 && h[lo] === 0) lo++;
    let hi = 255;
    while (hi > 0 && h[hi] === 0) hi--;
    const lut = new Uint8Array(256);
    if (hi <= lo) {
      for (let v = 0; v < 256; v++) lut[v] = v;
      return lut;
    }
    const scale = 255 / (hi - lo);
    const offset = -lo * scale;
    for (let v = 0; v < 256; v++) lut[v] = Math.min(255, Math.max(0, Math.trunc(v * scale + offset)));
    return lut;
  });
  return applyLuts(img, luts);
}

/** `ImageOps.equalize(img)`: per channel, step = (count - count of the last used level) // 256. */
export function equalize(img: Uint8Array, size: number): Uint8Array {
  checkImage(img, size);
  const luts = histograms(img).map((h) => {
    const lut = new Uint8Array(256);
    let used = 0;
    let total = 0;
    let last = 0;
    for (let v = 0; v < 256; v++) {
      if (h[v] > 0) {
        used++;
        total += h[v];
        last = h[v];
      }
    }
    const step = used <= 1 ? 0 : Math.floor((total - last) / 256);
    if (step === 0) {
      for (let v = 0; v < 256; v++) lut[v] = v;
      return lut;
    }
    let n = Math.floor(step / 2);
    for (let v = 0; v < 256; v++) {
      lut[v] = Math.min(255, Math.floor(n / step)); // Image.point clips the table to 0..255
      n += h[v];
    }
    return lut;
  });
  return applyLuts(img, luts);
}

// ---- enhance operations (Image.blend) -----------------------------------------------------------

const f32 = Math.fround;

/**
 * `Image.blend(degenerate, img, factor)` as PIL's C code computes it, in float32:
 * out = in1 + alpha * (in2 - in1), truncated, clipped to [0, 255] when alpha is outside [0, 1].
 */
export function blend(degenerate: Uint8Array, img: Uint8Array, factor: number): Uint8Array {
  if (degenerate.length !== img.length) {
    throw new RangeError(`blend() needs equal sizes, got ${degenerate.length} and ${img.length}`);
  }
  const alpha = f32(factor);
  // alpha * (in2 - in1) in float32 for every difference in [-255, 255]
  const scaled = new Float32Array(511);
  for (let d = -255; d <= 255; d++) scaled[d + 255] = alpha * d;
  const out = new Uint8Array(img.length);
  const inside = alpha >= 0 && alpha <= 1;
  for (let i = 0; i < img.length; i++) {
    const a = degenerate[i];
    const v = f32(a + scaled[img[i] - a + 255]);
    out[i] = inside ? Math.trunc(v) : v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
  }
  return out;
}

/** PIL's RGB -> L conversion (ITU-R 601-2 in 16-bit fixed point, rounded): [S*S]. */
export function toGrey(img: Uint8Array): Uint8Array {
  const out = new Uint8Array(img.length / 3);
  for (let p = 0, i = 0; p < out.length; p++, i += 3) {
    out[p] = (img[i] * 19595 + img[i + 1] * 38470 + img[i + 2] * 7471 + 0x8000) >>> 16;
  }
  return out;
}

/** `ImageEnhance.Color(img).enhance(factor)`: blend with the greyscale image. */
export function color(img: Uint8Array, size: number, factor: number): Uint8Array {
  checkImage(img, size);
  const grey = toGrey(img);
  const degenerate = new Uint8Array(img.length);
  for (let p = 0, i = 0; p < grey.length; p++, i += 3) {
    const g = grey[p];
    degenerate[i] = g;
    degenerate[i + 1] = g;
    degenerate[i + 2] = g;
  }
  return blend(degenerate, img, factor);
}

/** `ImageEnhance.Contrast(img).enhance(factor)`: blend with a flat image of the rounded grey mean. */
export function contrast(img: Uint8Array, size: number, factor: number): Uint8Array {
  checkImage(img, size);
  const grey = toGrey(img);
  let sum = 0;
  for (let p = 0; p < grey.length; p++) sum += grey[p];
  const mean = Math.trunc(sum / grey.length + 0.5); // int(ImageStat.Stat(L).mean[0] + 0.5)
  return blend(new Uint8Array(img.length).fill(mean), img, factor);
}

/** `ImageEnhance.Brightness(img).enhance(factor)`: blend with black. */
export function brightness(img: Uint8Array, size: number, factor: number): Uint8Array {
  checkImage(img, size);
  return blend(new Uint8Array(img.length), img, factor);
}

/**
 * `img.filter(ImageFilter.SMOOTH)`: 3x3 kernel [1 1 1; 1 5 1; 1 1 1] / 13 in float32,
 * rounded; the outermost rows and columns are copied unchanged, as PIL does.
 */
export function smooth(img: Uint8Array, size: number): Uint8Array {
  checkImage(img, size);
  const out = img.slice();
  // v * k in float32 for every v (the kernel is float32 1/13 and 5/13 in PIL)
  const k1 = new Float32Array(256).map((_, v) => v * f32(1 / 13));
  const k5 = new Float32Array(256).map((_, v) => v * f32(5 / 13));
  const row = size * 3;
  const kern1x3 = (o: number, mid: Float32Array) => f32(f32(k1[img[o - 3]] + mid[img[o]]) + k1[img[o + 3]]);
  for (let y = 1; y < size - 1; y++) {
    for (let x = 1; x < size - 1; x++) {
      for (let c = 0; c < 3; c++) {
        const o = y * row + x * 3 + c;
        let ss = 0;
        ss = f32(ss + kern1x3(o + row, k1));
        ss = f32(ss + kern1x3(o, k5));
        ss = f32(ss + kern1x3(o - row, k1));
        out[o] = ss <= 0 ? 0 : ss >= 255 ? 255 : Math.trunc(ss + 0.5);
      }
    }
  }
  return out;
}

/** `ImageEnhance.Sharpness(img).enhance(factor)`: blend with the SMOOTH-filtered image. */
export function sharpness(img: Uint8Array, size: number, factor: number): Uint8Array {
  checkImage(img, size);
  return blend(smooth(img, size), img, factor);
}

// ---- geometric operations (Image.transform AFFINE) --------------------------------------------

/** Options of the geometric ops. */
export interface GeometricOptions {
  /** default "bilinear" */
  interpolation?: Interpolation;
  /** default FILL_RGB */
  fill?: readonly [number, number, number];
}

function clampIndex(v: number, n: number): number {
  return v < 0 ? 0 : v < n ? v : n - 1;
}

/** PIL's cubic with a = -1 (Geometry.c BICUBIC) through v1..v4 at offset d in [0, 1). */
function cubic(v1: number, v2: number, v3: number, v4: number, d: number): number {
  const p1 = v2;
  const p2 = -v1 + v3;
  const p3 = 2 * (v1 - v2) + v3 - v4;
  const p4 = -v1 + v2 - v3 + v4;
  return p1 + d * (p2 + d * (p3 + d * p4));
}

/**
 * `Image.transform(size, AFFINE, m, resample, fillcolor)`: output pixel (x, y) samples the
 * input at (m0 (x+.5) + m1 (y+.5) + m2, m3 (x+.5) + m4 (y+.5) + m5); points outside the
 * image get the fill colour; neighbours beyond the border are clamped; the result is
 * truncated (bicubic also clipped) to uint8, as PIL's Geometry.c.
 */
export function affine(
  img: Uint8Array,
  size: number,
  options: { matrix: readonly number[] } & GeometricOptions,
): Uint8Array {
  checkImage(img, size);
  const [m0, m1, m2, m3, m4, m5] = options.matrix;
  const fill = options.fill ?? FILL_RGB;
  const bicubic = (options.interpolation ?? "bilinear") === "bicubic";
  const out = new Uint8Array(img.length);
  const row = size * 3;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 3;
      let xin = m0 * (x + 0.5) + m1 * (y + 0.5) + m2;
      let yin = m3 * (x + 0.5) + m4 * (y + 0.5) + m5;
      if (xin < 0 || xin >= size || yin < 0 || yin >= size) {
        out[o] = fill[0];
        out[o + 1] = fill[1];
        out[o + 2] = fill[2];
        continue;
      }
      xin -= 0.5;
      yin -= 0.5;
      const xf = Math.floor(xin);
      const yf = Math.floor(yin);
      const dx = xin - xf;
      const dy = yin - yf;
      if (!bicubic) {
        const x0 = clampIndex(xf, size) * 3;
        const x1 = clampIndex(xf + 1, size) * 3;
        const r0 = clampIndex(yf, size) * row;
        const r1 = clampIndex(yf + 1, size) * row;
        for (let c = 0; c < 3; c++) {
          const a = img[r0 + x0 + c];
          const v1 = a + (img[r0 + x1 + c] - a) * dx;
          const b = img[r1 + x0 + c];
          const v2 = b + (img[r1 + x1 + c] - b) * dx;
          out[o + c] = Math.trunc(v1 + (v2 - v1) * dy);
        }
      } else {
        const c0 = clampIndex(xf - 1, size) * 3;
        const c1 = clampIndex(xf, size) * 3;
        const c2 = clampIndex(xf + 1, size) * 3;
        const c3 = clampIndex(xf + 2, size) * 3;
        const r0 = clampIndex(yf - 1, size) * row;
        const r1 = clampIndex(yf, size) * row;
        const r2 = clampIndex(yf + 1, size) * row;
        const r3 = clampIndex(yf + 2, size) * row;
        for (let c = 0; c < 3; c++) {
          const v0 = cubic(img[r0 + c0 + c], img[r0 + c1 + c], img[r0 + c2 + c], img[r0 + c3 + c], dx);
          const v1 = cubic(img[r1 + c0 + c], img[r1 + c1 + c], img[r1 + c2 + c], img[r1 + c3 + c], dx);
          const v2 = cubic(img[r2 + c0 + c], img[r2 + c1 + c], img[r2 + c2 + c], img[r2 + c3 + c], dx);
          const v3 = cubic(img[r3 + c0 + c], img[r3 + c1 + c], img[r3 + c2 + c], img[r3 + c3 + c], dx);
          const v = cubic(v0, v1, v2, v3, dy);
          out[o + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
        }
      }
    }
  }
  return out;
}

/** Python's round(x, 15) for the rotation matrix entries (PIL rounds cos and sin so). */
function round15(x: number): number {
  return Number(x.toFixed(15));
}

/** `img.rotate(degrees, resample, fillcolor)`: counter-clockwise about the centre (S/2, S/2), same size. */
export function rotate(img: Uint8Array, size: number, degrees: number, options: GeometricOptions = {}): Uint8Array {
  checkImage(img, size);
  let angle = degrees % 360; // Python's float modulo: the result takes the divisor's sign
  if (angle !== 0 && angle < 0) angle += 360;
  if (angle === 0) return img.slice();
  const a = -angle * (Math.PI / 180);
  const m = [round15(Math.cos(a)), round15(Math.sin(a)), 0, round15(-Math.sin(a)), round15(Math.cos(a)), 0];
  const c = size / 2;
  m[2] = m[0] * -c + m[1] * -c + c;
  m[5] = m[3] * -c + m[4] * -c + c;
  return affine(img, size, { matrix: m, ...options });
}

/** timm's `shear_x`: AFFINE (1, factor, 0, 0, 1, 0). */
export function shearX(img: Uint8Array, size: number, factor: number, options: GeometricOptions = {}): Uint8Array {
  return affine(img, size, { matrix: [1, factor, 0, 0, 1, 0], ...options });
}

/** timm's `shear_y`: AFFINE (1, 0, 0, factor, 1, 0). */
export function shearY(img: Uint8Array, size: number, factor: number, options: GeometricOptions = {}): Uint8Array {
  return affine(img, size, { matrix: [1, 0, 0, factor, 1, 0], ...options });
}

/** timm's `translate_x_rel`: AFFINE (1, 0, pct * S, 0, 1, 0) (content moves left for pct > 0). */
export function translateXRel(img: Uint8Array, size: number, pct: number, options: GeometricOptions = {}): Uint8Array {
  return affine(img, size, { matrix: [1, 0, pct * size, 0, 1, 0], ...options });
}

/** timm's `translate_y_rel`: AFFINE (1, 0, 0, 0, 1, pct * S). */
export function translateYRel(img: Uint8Array, size: number, pct: number, options: GeometricOptions = {}): Uint8Array {
  return affine(img, size, { matrix: [1, 0, 0, 0, 1, pct * size], ...options });
}

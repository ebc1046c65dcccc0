/**
 * RandAugment as timm's `rand_augment_transform("rand-m5-n3-mstd0.5")` that the official
 * Ada-DF code uses (auto_augment.py; METHOD.md "Input size and augmentation"): pick `n`
 * of the 15 ops uniformly with replacement; each is applied with probability 0.5 with a
 * magnitude ~ Normal(m, mstd) clipped to [0, 10], mapped to the op's argument by timm's
 * `*_level_to_arg` (signed ops negate with probability 0.5, `_randomly_negate`).
 * Geometric ops fill with (124, 116, 104) and resample bilinear or bicubic, chosen at
 * random per call as timm does when no interpolation is configured (the official code).
 *
 * Random draws per image, in order: the n op indices; then per op: apply? (p = 0.5),
 * magnitude, sign (signed ops only), resample filter (geometric ops with "random").
 */
import type { Prng } from "../../util/prng.ts";
import * as ops from "./ops.ts";
import type { Interpolation } from "./ops.ts";

/** timm's `_RAND_TRANSFORMS`, in its order. */
export const RAND_AUGMENT_OPS = [
  "AutoContrast",
  "Equalize",
  "Invert",
  "Rotate",
  "Posterize",
  "Solarize",
  "SolarizeAdd",
  "Color",
  "Contrast",
  "Brightness",
  "Sharpness",
  "ShearX",
  "ShearY",
  "TranslateXRel",
  "TranslateYRel",
] as const;

/** One RandAugment op name. */
export type RandAugmentOp = typeof RAND_AUGMENT_OPS[number];

const SIGNED = new Set<string>(["Rotate", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel"]);
const GEOMETRIC = SIGNED;

/** timm's `_LEVEL_DENOM`: magnitudes live on [0, 10]. */
export const MAX_MAGNITUDE = 10;

/**
 * The op's argument at `magnitude` (timm's LEVEL_TO_ARG), before any sign:
 * Rotate 30 m/10 deg; Posterize int(4 m/10) bits; Solarize int(256 m/10); SolarizeAdd
 * int(110 m/10); Color/Contrast/Brightness/Sharpness 1.8 m/10 + 0.1; Shear 0.3 m/10;
 * TranslateRel 0.45 m/10; AutoContrast/Equalize/Invert none (NaN).
 */
export function opArgument(name: string, magnitude: number): number {
  const level = magnitude / MAX_MAGNITUDE;
  switch (name) {
    case "Rotate":
      return level * 30;
    case "Posterize":
      return Math.trunc(level * 4);
    case "Solarize":
      return Math.trunc(level * 256);
    case "SolarizeAdd":
      return Math.trunc(level * 110);
    case "Color":
    case "Contrast":
    case "Brightness":
    case "Sharpness":
      return level * 1.8 + 0.1;
    case "ShearX":
    case "ShearY":
      return level * 0.3;
    case "TranslateXRel":
    case "TranslateYRel":
      return level * 0.45;
    case "AutoContrast":
    case "Equalize":
    case "Invert":
      return NaN;
    default:
      throw new RangeError(`unknown RandAugment op "${name}"; expected one of ${RAND_AUGMENT_OPS.join(", ")}`);
  }
}

/** Options of `applyOp`. */
export interface ApplyOpOptions {
  /** image side S; the image is [S, S, 3] uint8 */
  size: number;
  /** on [0, 10] */
  magnitude: number;
  /** negate the argument of a signed op (Rotate, Shear*, Translate*) */
  negate?: boolean;
  /** resample filter of geometric ops; default "bilinear" */
  interpolation?: Interpolation;
  /** fill colour of geometric ops; default (124, 116, 104) */
  fill?: readonly [number, number, number];
}

/** Applies one op deterministically at a fixed magnitude (and sign): [S, S, 3] -> new [S, S, 3]. */
export function applyOp(name: string, img: Uint8Array, options: ApplyOpOptions): Uint8Array {
  const { size } = options;
  const m = options.magnitude;
  if (!(m >= 0 && m <= MAX_MAGNITUDE)) throw new RangeError(`magnitude must be in [0, 10], got ${m}`);
  let arg = opArgument(name, m);
  if (options.negate === true && SIGNED.has(name)) arg = -arg;
  const geo = { interpolation: options.interpolation, fill: options.fill };
  switch (name) {
    case "AutoContrast":
      return ops.autoContrast(img, size);
    case "Equalize":
      return ops.equalize(img, size);
    case "Invert":
      return ops.invert(img, size);
    case "Rotate":
      return ops.rotate(img, size, arg, geo);
    case "Posterize":
      return ops.posterize(img, size, arg);
    case "Solarize":
      return ops.solarize(img, size, arg);
    case "SolarizeAdd":
      return ops.solarizeAdd(img, size, arg);
    case "Color":
      return ops.color(img, size, arg);
    case "Contrast":
      return ops.contrast(img, size, arg);
    case "Brightness":
      return ops.brightness(img, size, arg);
    case "Sharpness":
      return ops.sharpness(img, size, arg);
    case "ShearX":
      return ops.shearX(img, size, arg, geo);
    case "ShearY":
      return ops.shearY(img, size, arg, geo);
    case "TranslateXRel":
      return ops.translateXRel(img, size, arg, geo);
    default: // TranslateYRel; opArgument has rejected unknown names
      return ops.translateYRel(img, size, arg, geo);
  }
}

/** Options of `randAugment`; defaults are the official RAF-DB/AffectNet setting `rand-m5-n3-mstd0.5`. */
export interface RandAugmentOptions {
  /** the source of every random choice */
  prng: Prng;
  /** ops per image (default 3; SFEW 5) */
  n?: number;
  /** mean magnitude (default 5; SFEW 3) */
  m?: number;
  /** std of the magnitude noise (default 0.5) */
  mstd?: number;
  /** probability of applying each picked op (default 0.5) */
  prob?: number;
  /** the pool to pick from (default RAND_AUGMENT_OPS) */
  ops?: readonly string[];
  /** "random" (default, as timm: bilinear or bicubic per call), "bilinear" or "bicubic" */
  interpolation?: Interpolation | "random";
  /** fill colour of geometric ops; default (124, 116, 104) */
  fill?: readonly [number, number, number];
}

/** RandAugment on one [S, S, 3] uint8 image; returns a new array (or a copy when no op fires). */
export function randAugment(img: Uint8Array, size: number, options: RandAugmentOptions): Uint8Array {
  const { prng } = options;
  const n = options.n ?? 3;
  const m = options.m ?? 5;
  const mstd = options.mstd ?? 0.5;
  const prob = options.prob ?? 0.5;
  const pool = options.ops ?? RAND_AUGMENT_OPS;
  const interp = options.interpolation ?? "random";
  if (pool.length === 0) throw new RangeError("randAugment() needs at least one op in options.ops");
  for (const name of pool) opArgument(name, 0); // validates names
  // np.random.choice(ops, n, replace=True): all picks first, then apply in order
  const picks = Array.from({ length: n }, () => pool[prng.int(pool.length)]);
  let out: Uint8Array = img.slice();
  for (const name of picks) {
    if (prob < 1 && prng.next() > prob) continue; // AugmentOp.__call__: random() > prob skips
    let magnitude = mstd > 0 ? prng.normal(m, mstd) : m;
    magnitude = Math.max(0, Math.min(magnitude, MAX_MAGNITUDE));
    const negate = SIGNED.has(name) ? prng.next() > 0.5 : false; // _randomly_negate
    let interpolation: Interpolation = "bilinear";
    if (GEOMETRIC.has(name)) {
      interpolation = interp === "random" ? (prng.next() < 0.5 ? "bilinear" : "bicubic") : interp;
    }
    out = applyOp(name, out, { size, magnitude, negate, interpolation, fill: options.fill });
  }
  return out;
}

/**
 * The expression geometry of SynthFER faces: a small set of continuous "action" parameters
 * loosely modelled on FACS action units, one prototype vector per class, and the mixture
 * that turns a label distribution into a face's geometry.
 *
 * @module
 */
import { CLASSES, type ClassName, NUM_CLASSES } from "../classes.ts";

/**
 * The expression parameters, in a fixed order (used to pack them into arrays).
 *
 * | key | meaning (FACS action unit it stands for) | neutral |
 * | --- | --- | --- |
 * | browInner | inner brow end raise in face units, negative = lowered (AU1 / AU4) | 0 |
 * | browOuter | outer brow end raise (AU2) | 0 |
 * | browKnit | brows drawn together, 0..1 (AU4), also draws the vertical frown lines | 0 |
 * | browArch | extra arch of the brow line | 0 |
 * | eyeOpen | upper eyelid opening, 1 = relaxed, >1 wide (AU5), <1 narrowed (AU7) | 1 |
 * | lowerLid | lower lid raise, 0..1 (AU6/AU7: cheek raise, squint), negative shows white below the iris | 0 |
 * | eyeTilt | outer eye corners down (>0, sadness) or up (<0, anger) | 0 |
 * | mouthCorner | lip corner height, +1 up (AU12), -1 down (AU15) | 0 |
 * | mouthOpen | mouth opening, 0 closed .. 1 jaw dropped (AU25-27) | 0 |
 * | mouthWidth | mouth width factor, <1 rounded (surprise), >1 stretched (AU20, fear; AU12, smile) | 1 |
 * | mouthSquare | shape of the opening, 0 oval .. 1 rectangular (anger, fear) | 0.3 |
 * | upperLip | upper lip raise (AU10, disgust) | 0 |
 * | sneer | one-sided upper lip raise (AU10 unilateral) | 0 |
 * | teethTop | upper teeth shown in the opening, 0..1 | 0 |
 * | teethBottom | lower teeth shown in the opening, 0..1 | 0 |
 * | noseWrinkle | nose wrinkle lines and raised nostrils (AU9) | 0 |
 * | smileLines | nasolabial folds and crow's feet (AU6 with AU12, or AU9/AU10) | 0 |
 * | foreheadLines | horizontal forehead wrinkles from raised brows (AU1+AU2) | 0 |
 * | jawDrop | chin lowered, face lengthened (AU26/27) | 0 |
 */
export const EXPRESSION_KEYS = [
  "browInner",
  "browOuter",
  "browKnit",
  "browArch",
  "eyeOpen",
  "lowerLid",
  "eyeTilt",
  "mouthCorner",
  "mouthOpen",
  "mouthWidth",
  "mouthSquare",
  "upperLip",
  "sneer",
  "teethTop",
  "teethBottom",
  "noseWrinkle",
  "smileLines",
  "foreheadLines",
  "jawDrop",
] as const;

/** One expression parameter name. */
export type ExpressionKey = typeof EXPRESSION_KEYS[number];

/** A face's expression geometry; see {@linkcode EXPRESSION_KEYS} for the meaning of each entry. */
export type ExpressionParams = Record<ExpressionKey, number>;

const NEUTRAL: ExpressionParams = {
  browInner: 0,
  browOuter: 0,
  browKnit: 0,
  browArch: 0,
  eyeOpen: 1,
  lowerLid: 0,
  eyeTilt: 0,
  mouthCorner: 0,
  mouthOpen: 0,
  mouthWidth: 1,
  mouthSquare: 0.3,
  upperLip: 0,
  sneer: 0,
  teethTop: 0,
  teethBottom: 0,
  noseWrinkle: 0,
  smileLines: 0,
  foreheadLines: 0,
  jawDrop: 0,
};

/**
 * One prototype per class, after Ekman's descriptions of the basic expressions:
 * - surprise: brows high and arched, eyes wide with white above and below the iris, a tall round open mouth, jaw dropped;
 * - fear: inner brows raised and drawn together (a flat, worried brow), eyes wide, lips stretched sideways in a wide open mouth showing lower teeth;
 * - disgust: brows lowered, eyes narrowed from below, nose wrinkled, upper lip raised on one side, corners down;
 * - happiness: corners up in a wide smile showing upper teeth, cheeks raised so the eyes narrow into crescents, smile lines;
 * - sadness: inner brows raised and outer ends lowered, drooping eyes, corners down, mouth closed;
 * - anger: brows lowered and knit into a V with frown lines, a hard stare, a squared mouth baring clenched teeth;
 * - neutral: everything relaxed.
 */
export const EXPRESSION_PROTOTYPES: Readonly<Record<ClassName, Readonly<ExpressionParams>>> = {
  surprise: {
    ...NEUTRAL,
    browInner: 6.5,
    browOuter: 6,
    browArch: 1.8,
    eyeOpen: 1.7,
    lowerLid: -0.4,
    mouthOpen: 1,
    mouthWidth: 0.62,
    mouthSquare: 0,
    teethTop: 0.15,
    foreheadLines: 1,
    jawDrop: 1,
  },
  fear: {
    ...NEUTRAL,
    browInner: 6.5,
    browOuter: 1.5,
    browKnit: 0.8,
    browArch: -1,
    eyeOpen: 1.6,
    lowerLid: 0.2,
    mouthCorner: -0.7,
    mouthOpen: 0.5,
    mouthWidth: 1.3,
    mouthSquare: 0.9,
    teethBottom: 0.8,
    foreheadLines: 0.8,
    jawDrop: 0.3,
  },
  disgust: {
    ...NEUTRAL,
    browInner: -3.5,
    browOuter: -1,
    browKnit: 0.6,
    eyeOpen: 0.5,
    lowerLid: 0.75,
    mouthCorner: -1,
    mouthOpen: 0.3,
    mouthWidth: 1,
    mouthSquare: 0.5,
    upperLip: 1.2,
    sneer: 1,
    teethTop: 0.8,
    noseWrinkle: 1,
    smileLines: 0.5,
  },
  happiness: {
    ...NEUTRAL,
    browInner: 0.5,
    browOuter: 1,
    browArch: 0.5,
    eyeOpen: 0.7,
    lowerLid: 0.85,
    mouthCorner: 1.15,
    mouthOpen: 0.5,
    mouthWidth: 1.35,
    mouthSquare: 0.2,
    teethTop: 1,
    smileLines: 1,
  },
  sadness: {
    ...NEUTRAL,
    browInner: 4.5,
    browOuter: -2.5,
    browKnit: 0.5,
    browArch: -0.5,
    eyeOpen: 0.7,
    eyeTilt: 1,
    mouthCorner: -1,
    mouthWidth: 0.9,
    mouthSquare: 0,
    foreheadLines: 0.2,
  },
  anger: {
    ...NEUTRAL,
    browInner: -5,
    browOuter: 1.5,
    browKnit: 1,
    browArch: -0.5,
    eyeOpen: 0.8,
    lowerLid: 0.45,
    eyeTilt: -0.5,
    mouthCorner: -0.4,
    mouthOpen: 0.45,
    mouthWidth: 1.05,
    mouthSquare: 1,
    upperLip: 0.3,
    teethTop: 1,
    teethBottom: 1,
    noseWrinkle: 0.4,
    smileLines: 0.2,
  },
  neutral: { ...NEUTRAL },
};

/** The neutral (relaxed) expression, the origin that intensity scales from. */
export const NEUTRAL_EXPRESSION: Readonly<ExpressionParams> = EXPRESSION_PROTOTYPES.neutral;

/**
 * The expression of a face whose true label distribution is `distribution` (length 7, in
 * {@linkcode CLASSES} order): the prototypes weighted by the distribution, so a 50/50
 * fear-surprise face sits halfway between the two geometries. `intensity` scales the
 * displacement from neutral (1 = full).
 *
 * @example
 * ```ts
 * import { mixExpression } from "./expression.ts";
 * const e = mixExpression([0, 0, 0, 1, 0, 0, 0]); // pure happiness
 * if (!(e.mouthCorner > 0.5)) throw new Error("a smile has its corners up");
 * ```
 */
export function mixExpression(
  distribution: ArrayLike<number>,
  intensity = 1,
): ExpressionParams {
  if (distribution.length !== NUM_CLASSES) {
    throw new RangeError(`a distribution has ${NUM_CLASSES} entries, got ${distribution.length}`);
  }
  let total = 0;
  for (let c = 0; c < NUM_CLASSES; c++) total += distribution[c];
  if (!(total > 0)) throw new RangeError(`a distribution must have a positive sum, got ${total}`);
  const out = {} as ExpressionParams;
  for (const key of EXPRESSION_KEYS) {
    let v = 0;
    for (let c = 0; c < NUM_CLASSES; c++) {
      v += (distribution[c] / total) * EXPRESSION_PROTOTYPES[CLASSES[c]][key];
    }
    out[key] = NEUTRAL[key] + intensity * (v - NEUTRAL[key]);
  }
  return out;
}

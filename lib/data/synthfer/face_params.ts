/**
 * Everything that decides how one SynthFER face looks: its expression (from the true label
 * distribution) and the nuisance factors (identity, pose, scene) that make the task hard.
 * All parameters are plain numbers in a fixed key order, so a face can be regenerated
 * from its seed and distribution, packed into arrays, or redrawn at any size by `faceSvg`.
 *
 * @module
 */
import { Prng } from "../../util/prng.ts";
import { EXPRESSION_KEYS, type ExpressionKey, type ExpressionParams, mixExpression } from "./expression.ts";

/** How much nuisance variation to draw: "easy" is for smoke tests. */
export type Difficulty = "easy" | "normal";

/**
 * Who the face is, in face units (the face is drawn in a 100 x 100 box centred on 50, 50).
 * Integer-valued entries are categorical codes.
 */
export const IDENTITY_KEYS = [
  "faceWidth", // half-width of the face, ~27-31.5
  "faceHeight", // half-height, ~34-38.5
  "jaw", // chin narrowness, 0.35 (pointed) .. 0.7 (square)
  "skinTone", // 0 (light) .. 1 (dark)
  "skinWarmth", // -1 .. 1, small hue shift
  "eyeSpacing", // half-distance between eye centres
  "eyeHeight", // vertical offset of the eye line
  "eyeWidth", // half-width of an eye
  "irisSize", // iris radius
  "irisColour", // 0 brown, 1 dark, 2 blue, 3 green
  "browHeight", // rest height of the brow above the eye centre
  "browThickness", // stroke width of a brow
  "browLength", // half-length of a brow
  "noseLength", // nose length
  "noseWidth", // half-width of the nostrils
  "mouthHeight", // vertical offset of the mouth
  "mouthSize", // half-width of the relaxed mouth
  "lipTone", // 0 .. 1, lip colour
  "earSize", // ear radius
  "hairStyle", // 0 bald, 1 short, 2 long, 3 fringe, 4 curly
  "hairColour", // 0 black, 1 dark brown, 2 brown, 3 blond, 4 red, 5 grey
  "hairShade", // -1 .. 1, lightness jitter of the hair
  "hairDepth", // how far the hairline comes down
  "beard", // 0 none, 1 stubble, 2 full beard
  "glasses", // 0 none, 1 round, 2 rectangular, 3 sunglasses
  "glassesHue", // frame hue 0 .. 360
  "occluder", // 0 none, 1 hand, 2 object (e.g. a cup or microphone)
  "occluderX", // -1 .. 1 position across the lower face
  "occluderY", // -1 .. 1
  "occluderSize", // 0 .. 1
  "occluderHue", // object hue 0 .. 360
  "gazeX", // pupil offset -1 .. 1
  "gazeY", // pupil offset -1 .. 1
] as const;

/** Head pose and framing. */
export const POSE_KEYS = [
  "rotation", // in-plane roll, degrees
  "yaw", // -1 .. 1: features shift sideways and the far half of the face narrows
  "scale", // overall size
  "shiftX", // translation in face units
  "shiftY",
] as const;

/** The number of background shapes a scene may hold. */
export const MAX_BACKGROUND_SHAPES = 4;

const SHAPE_FIELDS = ["Kind", "X", "Y", "Size", "Aspect", "Rot", "Hue", "Light", "Opacity"] as const;

/** Background, clothes, lighting and colour cast. */
export const SCENE_KEYS = [
  "bgHue",
  "bgSat",
  "bgLight",
  "bg2Hue", // second colour of the background gradient
  "bg2Light",
  "bgAngle", // gradient direction, degrees
  "shirtHue",
  "shirtSat",
  "shirtLight",
  "lightAngle", // direction the light comes from, degrees
  "lightStrength", // 0 .. ~0.35, strength of the light/shadow gradient overlay
  "shadeLevel", // 0 .. 1: grey level of a flat overlay (brightness/contrast change)
  "shadeOpacity", // 0 .. ~0.3
  "tintHue", // colour cast
  "tintOpacity",
  "shapeCount", // 0 .. MAX_BACKGROUND_SHAPES
  ...Array.from(
    { length: MAX_BACKGROUND_SHAPES },
    (_, i) => SHAPE_FIELDS.map((f) => `shape${i}${f}` as const),
  ).flat() as `shape${0 | 1 | 2 | 3}${typeof SHAPE_FIELDS[number]}`[],
] as const;

/** One identity parameter name. */
export type IdentityKey = typeof IDENTITY_KEYS[number];
/** One pose parameter name. */
export type PoseKey = typeof POSE_KEYS[number];
/** One scene parameter name. */
export type SceneKey = typeof SCENE_KEYS[number];

/** Who the face is; see {@linkcode IDENTITY_KEYS}. */
export type IdentityParams = Record<IdentityKey, number>;
/** How the head is posed and framed; see {@linkcode POSE_KEYS}. */
export type PoseParams = Record<PoseKey, number>;
/** Background, lighting and colour; see {@linkcode SCENE_KEYS}. */
export type SceneParams = Record<SceneKey, number>;

/** Everything `faceSvg` needs to draw one face. */
export interface FaceParams {
  expression: ExpressionParams;
  identity: IdentityParams;
  pose: PoseParams;
  scene: SceneParams;
}

/** Per-face jitter (standard deviation) of each expression parameter at "normal" difficulty. */
const EXPRESSION_JITTER: Record<ExpressionKey, number> = {
  browInner: 0.8,
  browOuter: 0.8,
  browKnit: 0.1,
  browArch: 0.4,
  eyeOpen: 0.08,
  lowerLid: 0.08,
  eyeTilt: 0.15,
  mouthCorner: 0.12,
  mouthOpen: 0.06,
  mouthWidth: 0.06,
  mouthSquare: 0.1,
  upperLip: 0.1,
  sneer: 0.1,
  teethTop: 0.1,
  teethBottom: 0.1,
  noseWrinkle: 0.1,
  smileLines: 0.1,
  foreheadLines: 0.1,
  jawDrop: 0.1,
};

/**
 * Draws the parameters of one face whose true label distribution is `distribution`
 * (length 7): the expression is the distribution-weighted mixture of the class prototypes,
 * scaled by a random intensity and jittered; identity, pose and scene are drawn
 * independently. Deterministic in (`distribution`, `seed`, `difficulty`), so a data set
 * only needs to store the seeds to redraw its faces.
 *
 * @example
 * ```ts
 * import { drawFaceParams } from "./face_params.ts";
 * const a = drawFaceParams([0, 0, 0, 1, 0, 0, 0], { seed: 7 });
 * const b = drawFaceParams([0, 0, 0, 1, 0, 0, 0], { seed: 7 });
 * if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error("not deterministic");
 * ```
 */
export function drawFaceParams(
  distribution: ArrayLike<number>,
  options: { seed: number; difficulty?: Difficulty },
): FaceParams {
  const prng = new Prng(options.seed);
  const easy = (options.difficulty ?? "normal") === "easy";
  // independent streams, so adding a nuisance factor does not change the expressions
  const exprPrng = prng.fork();
  const idPrng = prng.fork();
  const posePrng = prng.fork();
  const scenePrng = prng.fork();
  return {
    expression: drawExpression(distribution, exprPrng, easy),
    identity: drawIdentity(idPrng, easy),
    pose: drawPose(posePrng, easy),
    scene: drawScene(scenePrng, easy),
  };
}

function drawExpression(distribution: ArrayLike<number>, prng: Prng, easy: boolean): ExpressionParams {
  const intensity = easy ? prng.uniform(0.95, 1.05) : prng.uniform(0.8, 1.15);
  const e = mixExpression(distribution, intensity);
  const jitter = easy ? 0.4 : 1;
  for (const key of EXPRESSION_KEYS) e[key] += prng.normal(0, EXPRESSION_JITTER[key] * jitter);
  // keep the physically meaningful ranges
  e.mouthOpen = Math.max(0, e.mouthOpen);
  e.eyeOpen = Math.max(0.3, e.eyeOpen);
  for (
    const key of [
      "browKnit",
      "mouthSquare",
      "teethTop",
      "teethBottom",
      "upperLip",
      "noseWrinkle",
      "smileLines",
      "foreheadLines",
      "jawDrop",
    ] as const
  ) {
    e[key] = Math.min(1.2, Math.max(0, e[key]));
  }
  e.sneer = Math.max(0, e.sneer) * (prng.next() < 0.5 ? -1 : 1); // which side sneers
  return e;
}

function drawIdentity(prng: Prng, easy: boolean): IdentityParams {
  const u = (lo: number, hi: number) => prng.uniform(lo, hi);
  const pick = (weights: number[]) => prng.categorical(weights);
  const chance = (p: number) => prng.next() < p;
  const id: IdentityParams = {
    faceWidth: u(27, 31.5),
    faceHeight: u(34, 38.5),
    jaw: u(0.35, 0.7),
    skinTone: easy ? u(0.1, 0.45) : Math.pow(prng.next(), 1.3),
    skinWarmth: u(-1, 1),
    eyeSpacing: u(12.5, 15.5),
    eyeHeight: u(-1.5, 1.5),
    eyeWidth: u(5.8, 7),
    irisSize: u(2.6, 3.1),
    irisColour: pick([4, 3, 2, 1]),
    browHeight: u(8.5, 10),
    browThickness: u(2.6, 3.5),
    browLength: u(6.8, 8.3),
    noseLength: u(7, 11),
    noseWidth: u(3, 4.5),
    mouthHeight: u(-1.5, 1.5),
    mouthSize: u(9, 11),
    lipTone: prng.next(),
    earSize: u(4, 6),
    hairStyle: pick([1, 3, 3, 2, 1.5]),
    hairColour: pick([3, 3, 2, 1.5, 0.7, 0.8]),
    hairShade: u(-1, 1),
    hairDepth: u(8, 15),
    beard: 0,
    glasses: 0,
    glassesHue: u(0, 360),
    occluder: 0,
    occluderX: u(-1, 1),
    occluderY: u(-1, 1),
    occluderSize: prng.next(),
    occluderHue: u(0, 360),
    gazeX: u(-1, 1),
    gazeY: u(-1, 1),
  };
  // accessories are drawn after the rest so "easy" faces share everything else
  const beard = chance(0.14) ? (chance(0.5) ? 1 : 2) : 0;
  const glasses = chance(0.08) ? pick([3, 3, 1]) + 1 : 0;
  const occluder = chance(0.06) ? pick([2, 1]) + 1 : 0;
  if (!easy) {
    id.beard = beard;
    id.glasses = glasses;
    id.occluder = occluder;
  }
  return id;
}

function drawPose(prng: Prng, easy: boolean): PoseParams {
  const k = easy ? 0.25 : 1;
  return {
    rotation: prng.normal(0, 7) * k,
    yaw: Math.max(-1, Math.min(1, prng.normal(0, 0.45))) * k,
    scale: easy ? prng.uniform(0.98, 1.05) : prng.uniform(0.86, 1.08),
    shiftX: prng.uniform(-5, 5) * k,
    shiftY: prng.uniform(-4, 4) * k,
  };
}

function drawScene(prng: Prng, easy: boolean): SceneParams {
  const u = (lo: number, hi: number) => prng.uniform(lo, hi);
  const s = {
    bgHue: u(0, 360),
    bgSat: u(0, 0.6),
    bgLight: u(0.2, 0.9),
    bg2Hue: u(0, 360),
    bg2Light: u(0.15, 0.95),
    bgAngle: u(0, 360),
    shirtHue: u(0, 360),
    shirtSat: u(0, 0.7),
    shirtLight: u(0.15, 0.8),
    lightAngle: u(0, 360),
    lightStrength: u(0, 0.35),
    shadeLevel: prng.next(),
    shadeOpacity: u(0, 0.3),
    tintHue: u(0, 360),
    tintOpacity: u(0, 0.12),
    shapeCount: prng.int(MAX_BACKGROUND_SHAPES + 1),
  } as SceneParams;
  for (let i = 0; i < MAX_BACKGROUND_SHAPES; i++) {
    const p = `shape${i}` as "shape0";
    s[`${p}Kind`] = prng.int(4); // circle, rectangle, stripe, triangle
    s[`${p}X`] = u(0, 100);
    s[`${p}Y`] = u(0, 100);
    s[`${p}Size`] = u(6, 35);
    s[`${p}Aspect`] = u(0.3, 1.5);
    s[`${p}Rot`] = u(0, 180);
    s[`${p}Hue`] = u(0, 360);
    s[`${p}Light`] = u(0.1, 0.95);
    s[`${p}Opacity`] = u(0.3, 1);
  }
  if (easy) {
    // a plain, evenly lit background
    s.bg2Hue = s.bgHue;
    s.bg2Light = s.bgLight;
    s.bgSat *= 0.5;
    s.lightStrength *= 0.2;
    s.shadeOpacity *= 0.2;
    s.tintOpacity = 0;
    s.shapeCount = 0;
  }
  return s;
}

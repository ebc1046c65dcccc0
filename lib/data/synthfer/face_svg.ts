/**
 * Draws a SynthFER face as an SVG string. Pure: the same parameters always give the same
 * string, which sharp/librsvg rasterises into the pixels the networks see.
 *
 * The drawing lives in a 100 x 100 box; the face is centred on (50, 50) before the pose
 * transform. The eyes sit near y = 47, the nose tip near y = 58, the mouth near y = 71.
 *
 * @module
 */
import type { FaceParams } from "./face_params.ts";
import { MAX_BACKGROUND_SHAPES } from "./face_params.ts";

/** Rounds to two decimals for a compact, stable SVG. */
function n(x: number): string {
  const r = Math.round(x * 100) / 100;
  return Object.is(r, -0) ? "0" : String(r);
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

type Rgb = [number, number, number];

function hex([r, g, b]: Rgb): string {
  const h = (v: number) => clamp(Math.round(v), 0, 255).toString(16).padStart(2, "0");
  return `#${h(r)}${h(g)}${h(b)}`;
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function scaleRgb(a: Rgb, k: number): Rgb {
  return [a[0] * k, a[1] * k, a[2] * k];
}

/** HSL (hue in degrees, s and l in [0, 1]) to RGB in [0, 255]. */
function hsl(h: number, s: number, l: number): Rgb {
  h = ((h % 360) + 360) % 360;
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] = h < 60
    ? [c, x, 0]
    : h < 120
    ? [x, c, 0]
    : h < 180
    ? [0, c, x]
    : h < 240
    ? [0, x, c]
    : h < 300
    ? [x, 0, c]
    : [c, 0, x];
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}

/** Skin tones from light to dark, interpolated by `skinTone`. */
const SKIN: Rgb[] = [
  [252, 226, 206],
  [240, 198, 164],
  [218, 166, 122],
  [184, 128, 86],
  [140, 92, 60],
  [104, 68, 45],
];

/** Hair colours by `hairColour` code: black, dark brown, brown, blond, red, grey. */
const HAIR: Rgb[] = [
  [32, 26, 24],
  [66, 43, 29],
  [115, 77, 46],
  [206, 170, 106],
  [158, 72, 38],
  [168, 166, 162],
];

const IRIS: Rgb[] = [[110, 70, 40], [45, 30, 25], [70, 120, 170], [80, 130, 80]];

const INK: Rgb = [38, 26, 20];

function skinColour(tone: number, warmth: number): Rgb {
  const t = clamp(tone, 0, 1) * (SKIN.length - 1);
  const i = Math.min(SKIN.length - 2, Math.floor(t));
  const c = mix(SKIN[i], SKIN[i + 1], t - i);
  return [c[0] + 6 * warmth, c[1], c[2] - 8 * warmth];
}

/**
 * The SVG of one face at `size` x `size` pixels (the drawing is resolution independent,
 * so the same parameters can be shown large in a figure and small in training).
 *
 * @example
 * ```ts
 * import { drawFaceParams } from "./face_params.ts";
 * import { faceSvg } from "./face_svg.ts";
 * const svg = faceSvg(drawFaceParams([1, 0, 0, 0, 0, 0, 0], { seed: 1 }), 96);
 * if (!svg.startsWith("<svg")) throw new Error("not an svg");
 * ```
 */
export function faceSvg(params: FaceParams, size: number): string {
  if (!(Number.isInteger(size) && size > 0)) {
    throw new RangeError(`size must be a positive integer number of pixels, got ${size}`);
  }
  const { expression: e, identity: id, pose, scene } = params;
  const defs: string[] = [];
  const out: string[] = [];

  // --- colours
  const skin = skinColour(id.skinTone, id.skinWarmth);
  const skinShade = scaleRgb(skin, 0.8);
  const skinLine = mix(skin, INK, 0.55);
  const hairBase = HAIR[clamp(Math.round(id.hairColour), 0, HAIR.length - 1)];
  const hair = scaleRgb(hairBase, 1 + 0.15 * id.hairShade);
  const browColour = mix(hair, INK, 0.55);
  const lip = mix(mix(skin, [170, 60, 60], 0.35 + 0.2 * id.lipTone), INK, 0.25);
  const lipLine = mix(lip, INK, 0.45);

  // --- background: gradient, a few shapes
  const bg1 = hsl(scene.bgHue, scene.bgSat, scene.bgLight);
  const bg2 = hsl(scene.bg2Hue, scene.bgSat, scene.bg2Light);
  const [gx1, gy1, gx2, gy2] = direction(scene.bgAngle);
  defs.push(
    `<linearGradient id="sfbg" gradientUnits="userSpaceOnUse" x1="${gx1}" y1="${gy1}" x2="${gx2}" y2="${gy2}">` +
      `<stop offset="0" stop-color="${hex(bg1)}"/><stop offset="1" stop-color="${hex(bg2)}"/></linearGradient>`,
  );
  out.push(`<rect width="100" height="100" fill="url(#sfbg)"/>`);
  const shapes = clamp(Math.round(scene.shapeCount), 0, MAX_BACKGROUND_SHAPES);
  for (let i = 0; i < shapes; i++) {
    const p = `shape${i}` as "shape0";
    const x = scene[`${p}X`], y = scene[`${p}Y`], r = scene[`${p}Size`];
    const a = scene[`${p}Aspect`], rot = scene[`${p}Rot`];
    const fill = `fill="${hex(hsl(scene[`${p}Hue`], 0.5, scene[`${p}Light`]))}" opacity="${n(scene[`${p}Opacity`])}"`;
    const tf = `transform="rotate(${n(rot)} ${n(x)} ${n(y)})"`;
    switch (Math.round(scene[`${p}Kind`])) {
      case 0:
        out.push(`<ellipse cx="${n(x)}" cy="${n(y)}" rx="${n(r)}" ry="${n(r * a)}" ${fill} ${tf}/>`);
        break;
      case 1:
        out.push(
          `<rect x="${n(x - r)}" y="${n(y - r * a)}" width="${n(2 * r)}" height="${n(2 * r * a)}" ${fill} ${tf}/>`,
        );
        break;
      case 2:
        out.push(`<rect x="-50" y="${n(y - r * a * 0.2)}" width="200" height="${n(r * a * 0.4)}" ${fill} ${tf}/>`);
        break;
      default:
        out.push(
          `<polygon points="${n(x)},${n(y - r)} ${n(x + r)},${n(y + r * a)} ${n(x - r)},${
            n(y + r * a)
          }" ${fill} ${tf}/>`,
        );
    }
  }

  // --- the head, in a posed group
  const cx = 50, cy = 50;
  const fw = id.faceWidth, fhTop = id.faceHeight;
  const fhBottom = id.faceHeight + 3.5 * clamp(e.jawDrop, 0, 1.2);
  const yaw = clamp(pose.yaw, -1, 1);
  // yaw: features slide towards the side the head turns to, and that side narrows
  const fx = (dx: number, depth: number) => cx + 4 * yaw * depth + dx * (1 - 0.15 * yaw * Math.sign(dx));
  const sideScale = (side: number) => 1 - 0.15 * yaw * side;
  const g: string[] = [];
  g.push(
    `<g transform="translate(${n(cx + pose.shiftX)} ${n(cy + pose.shiftY)}) rotate(${n(pose.rotation)}) scale(${
      n(pose.scale)
    }) translate(${-cx} ${-cy})">`,
  );

  // shirt and neck
  const shirt = hsl(scene.shirtHue, scene.shirtSat, scene.shirtLight);
  g.push(`<ellipse cx="${cx}" cy="${n(cy + fhBottom + 26)}" rx="46" ry="22" fill="${hex(shirt)}"/>`);
  g.push(
    `<rect x="${n(cx - fw * 0.42)}" y="${n(cy + 20)}" width="${n(fw * 0.84)}" height="${n(fhBottom + 2)}" fill="${
      hex(skinShade)
    }"/>`,
  );

  const eyeY = 47 + id.eyeHeight;
  const top = cy - fhTop;
  const templeY = eyeY - 7;

  // hair behind the head (long hair, curls)
  const style = Math.round(id.hairStyle);
  if (style === 2) {
    g.push(
      `<path d="M${n(cx - fw - 5)} ${n(templeY)} C${n(cx - fw - 7)} ${n(top - 10)} ${n(cx + fw + 7)} ${n(top - 10)} ${
        n(cx + fw + 5)
      } ${n(templeY)} L${n(cx + fw + 6)} ${n(eyeY + 30)} L${n(cx - fw - 6)} ${n(eyeY + 30)} Z" fill="${hex(hair)}"/>`,
    );
  } else if (style === 4) {
    for (let k = 0; k <= 8; k++) {
      const t = Math.PI * (1 + k / 8);
      g.push(
        `<circle cx="${n(cx + (fw + 1) * Math.cos(t))}" cy="${n(cy - 6 + (fhTop - 2) * Math.sin(t))}" r="${
          n(6.5 + (k % 2))
        }" fill="${hex(hair)}"/>`,
      );
    }
  }

  // ears
  const earY = eyeY + 4;
  for (const side of [-1, 1]) {
    g.push(
      `<ellipse cx="${n(cx + side * (fw - 0.5) - 2 * yaw)}" cy="${n(earY)}" rx="${n(id.earSize * 0.6)}" ry="${
        n(id.earSize)
      }" fill="${hex(skin)}" stroke="${hex(skinShade)}" stroke-width="0.8"/>`,
    );
  }

  // face outline: an egg, wider at the cheeks, narrowing to the chin
  const faceD = `M${cx} ${n(top)} ` +
    `C${n(cx + 0.56 * fw)} ${n(top)} ${n(cx + fw)} ${n(cy - 0.6 * fhTop)} ${n(cx + fw)} ${n(cy - 2)} ` +
    `C${n(cx + fw)} ${n(cy + 0.45 * fhBottom)} ${n(cx + id.jaw * fw)} ${n(cy + fhBottom)} ${cx} ${n(cy + fhBottom)} ` +
    `C${n(cx - id.jaw * fw)} ${n(cy + fhBottom)} ${n(cx - fw)} ${n(cy + 0.45 * fhBottom)} ${n(cx - fw)} ${n(cy - 2)} ` +
    `C${n(cx - fw)} ${n(cy - 0.6 * fhTop)} ${n(cx - 0.56 * fw)} ${n(top)} ${cx} ${n(top)} Z`;
  defs.push(`<clipPath id="sfface"><path d="${faceD}"/></clipPath>`);
  g.push(`<path d="${faceD}" fill="${hex(skin)}" stroke="${hex(skinShade)}" stroke-width="0.8"/>`);

  // geometry shared by several parts
  const noseX = fx(0, 1.6);
  const noseY = eyeY + id.noseLength + 3 - 1.2 * clamp(e.noseWrinkle, 0, 1.2);
  const mouthY = 71 + id.mouthHeight + 1.5 * clamp(e.jawDrop, 0, 1.2);
  const mouthW = id.mouthSize * clamp(e.mouthWidth, 0.4, 1.6);
  const open = 12 * clamp(e.mouthOpen, 0, 1.3);

  // beard / stubble around the mouth and jaw; the mouth stays visible on top of it
  const beard = Math.round(id.beard);
  if (beard > 0) {
    g.push(
      `<g clip-path="url(#sfface)"><ellipse cx="${n(fx(0, 0.8))}" cy="${n(mouthY + 9)}" rx="${n(fw * 1.05)}" ry="${
        n(mouthY + 9 - noseY - 1)
      }" fill="${hex(hair)}" opacity="${beard === 1 ? 0.3 : 0.92}"/></g>`,
    );
  }

  // forehead wrinkles from raised brows (drawn before the hair, which may cover them)
  const browBase = eyeY - id.browHeight;
  const browTop = browBase - Math.max(e.browInner, e.browOuter);
  const fl = clamp(e.foreheadLines, 0, 1);
  if (fl > 0.05) {
    for (const dy of [4.5, 8]) {
      const y = browTop - dy;
      g.push(
        `<path d="M${n(fx(-11, 0.6))} ${n(y + 1)} Q${n(fx(0, 0.6))} ${n(y - 1.5)} ${n(fx(11, 0.6))} ${
          n(y + 1)
        }" fill="none" stroke="${hex(skinLine)}" stroke-width="0.8" stroke-linecap="round" opacity="${n(0.75 * fl)}"/>`,
      );
    }
  }

  // hair on top of the head
  if (style !== 0) {
    const hairline = Math.min(top + id.hairDepth, browTop - 6);
    const outerC = templeY + (top - 3 - templeY) / 0.75;
    const left = cx - fw - 2, right = cx + fw + 2;
    let inner: string;
    if (style === 3) {
      // a side-swept fringe, lower on one side
      const low = Math.min(hairline + 5, browTop - 4);
      inner = `C${n(cx + fw * 0.6)} ${n(hairline - 6)} ${n(cx - fw * 0.3)} ${n(low + 2)} ${n(left + 3)} ${n(templeY)}`;
    } else {
      const innerC = templeY + (hairline - templeY) / 0.75;
      inner = `C${n(right - 3)} ${n(innerC)} ${n(left + 3)} ${n(innerC)} ${n(left + 3)} ${n(templeY)}`;
    }
    g.push(
      `<path d="M${n(left)} ${n(templeY)} C${n(left)} ${n(outerC)} ${n(right)} ${n(outerC)} ${n(right)} ${
        n(templeY)
      } L${n(right - 3)} ${n(templeY)} ${inner} Z" fill="${hex(hair)}"/>`,
    );
  }

  // brows: a thick arched stroke from the inner to the outer end (AU1, AU2, AU4)
  const knit = clamp(e.browKnit, 0, 1.2);
  for (const side of [-1, 1]) {
    const ex = side * id.eyeSpacing;
    const innerDx = ex - side * (id.browLength * 0.8 - 1.8 * knit);
    const outerDx = ex + side * (id.browLength * 1.05 - 1.0 * knit);
    const iy = browBase - e.browInner;
    const oy = browBase + 0.5 - e.browOuter;
    const mx = fx((innerDx + outerDx) / 2, 1), my = (iy + oy) / 2 - (2.2 + 1.2 * e.browArch);
    g.push(
      `<path d="M${n(fx(innerDx, 1))} ${n(iy)} Q${n(mx)} ${n(my)} ${n(fx(outerDx, 1))} ${n(oy)}" fill="none" stroke="${
        hex(browColour)
      }" stroke-width="${n(id.browThickness)}" stroke-linecap="round"/>`,
    );
  }
  // vertical frown lines between lowered, knit brows
  const frown = knit * clamp(-e.browInner / 4, 0, 1);
  if (frown > 0.05) {
    for (const side of [-1, 1]) {
      const x = fx(side * 1.7, 1);
      g.push(
        `<path d="M${n(x)} ${n(browBase - e.browInner - 1)} L${n(x - side * 0.4)} ${
          n(browBase - e.browInner + 4)
        }" stroke="${hex(skinLine)}" stroke-width="0.8" stroke-linecap="round" opacity="${n(0.8 * frown)}"/>`,
      );
    }
  }

  // eyes: an almond of two quadratic lids, iris clipped by it (AU5, AU6, AU7)
  const upper = 3.4 * Math.max(0.25, e.eyeOpen);
  let lower = 2.4 * (1 - e.lowerLid);
  lower = Math.max(lower, -0.6 * upper); // a smiling crescent at most
  const iris = hex(IRIS[clamp(Math.round(id.irisColour), 0, IRIS.length - 1)]);
  for (const side of [-1, 1]) {
    const ex = fx(side * id.eyeSpacing, 1);
    const w = id.eyeWidth * sideScale(side);
    const tilt = side * clamp(e.eyeTilt, -1.5, 1.5) * 10;
    const shape = `M${n(-w)} 0 Q0 ${n(-2 * upper)} ${n(w)} 0 Q0 ${n(2 * lower)} ${n(-w)} 0 Z`;
    const clipId = `sfeye${side < 0 ? "l" : "r"}`;
    defs.push(`<clipPath id="${clipId}"><path d="${shape}"/></clipPath>`);
    const gazeX = id.gazeX * 1.3 + 2 * yaw, gazeY = id.gazeY * 0.6 + 0.2;
    const r = id.irisSize;
    g.push(`<g transform="translate(${n(ex)} ${n(eyeY)}) rotate(${n(tilt)})">`);
    g.push(`<path d="${shape}" fill="#f5f2ec"/>`);
    g.push(
      `<g clip-path="url(#${clipId})"><circle cx="${n(gazeX)}" cy="${n(gazeY)}" r="${n(r)}" fill="${iris}"/>` +
        `<circle cx="${n(gazeX)}" cy="${n(gazeY)}" r="${n(r * 0.48)}" fill="#111"/>` +
        `<circle cx="${n(gazeX + r * 0.35)}" cy="${n(gazeY - r * 0.35)}" r="${n(r * 0.2)}" fill="#fff"/></g>`,
    );
    g.push(
      `<path d="M${n(-w - 0.4)} 0.2 Q0 ${n(-2 * upper)} ${n(w + 0.4)} 0.2" fill="none" stroke="${
        hex(INK)
      }" stroke-width="1.3" stroke-linecap="round"/>`,
    );
    g.push(
      `<path d="M${n(-w)} 0 Q0 ${n(2 * lower)} ${n(w)} 0" fill="none" stroke="${
        hex(skinLine)
      }" stroke-width="0.6" opacity="0.8"/>`,
    );
    g.push(`</g>`);
  }

  // crow's feet and cheek raise of a genuine smile (AU6)
  const smile = clamp(e.smileLines, 0, 1.2) * clamp(e.mouthCorner, 0, 1);
  if (smile > 0.05) {
    for (const side of [-1, 1]) {
      const x0 = fx(side * (id.eyeSpacing + id.eyeWidth + 1.2), 1);
      for (const dy of [-1.5, 0.5, 2.5]) {
        g.push(
          `<path d="M${n(x0)} ${n(eyeY + dy * 0.5)} L${n(x0 + side * 2.6)} ${n(eyeY + dy)}" stroke="${
            hex(skinLine)
          }" stroke-width="0.6" stroke-linecap="round" opacity="${n(0.7 * smile)}"/>`,
        );
      }
      g.push(
        `<ellipse cx="${n(fx(side * (id.eyeSpacing + 1), 1))}" cy="${
          n(eyeY + 9)
        }" rx="5.5" ry="3.5" fill="#e0605a" opacity="${n(0.22 * smile)}"/>`,
      );
    }
  }

  // nose: nostril arc, a bridge line, wrinkles across the bridge (AU9)
  const nw = id.noseWidth * (1 + 0.25 * clamp(e.noseWrinkle, 0, 1.2));
  const wrinkle = clamp(e.noseWrinkle, 0, 1.2);
  const bridgeSide = yaw >= 0 ? -1 : 1;
  g.push(
    `<path d="M${n(noseX + bridgeSide * 1.5)} ${n(eyeY + 3)} Q${n(noseX + bridgeSide * 2.2)} ${n(noseY - 3)} ${
      n(noseX + bridgeSide * nw * 0.7)
    } ${n(noseY - 1)}" fill="none" stroke="${hex(skinLine)}" stroke-width="0.7" opacity="0.45"/>`,
  );
  g.push(
    `<path d="M${n(noseX - nw)} ${n(noseY - 1)} Q${n(noseX - nw - 1.2)} ${n(noseY + 1.2)} ${n(noseX - nw * 0.45)} ${
      n(noseY + 1)
    } Q${n(noseX)} ${n(noseY + 2.2)} ${n(noseX + nw * 0.45)} ${n(noseY + 1)} Q${n(noseX + nw + 1.2)} ${
      n(noseY + 1.2)
    } ${n(noseX + nw)} ${n(noseY - 1)}" fill="none" stroke="${
      hex(skinLine)
    }" stroke-width="1" stroke-linecap="round"/>`,
  );
  for (const side of [-1, 1]) {
    g.push(
      `<ellipse cx="${n(noseX + side * nw * 0.5)}" cy="${n(noseY + 0.6)}" rx="${
        n(0.9 + 0.3 * wrinkle)
      }" ry="0.5" fill="${hex(mix(skinLine, INK, 0.4))}"/>`,
    );
  }
  if (wrinkle > 0.05) {
    for (let k = 0; k < 3; k++) {
      const y = eyeY + 1.5 + k * 1.9;
      g.push(
        `<path d="M${n(noseX - 3.2)} ${n(y + 0.7)} Q${n(noseX)} ${n(y - 0.9)} ${n(noseX + 3.2)} ${
          n(y + 0.7)
        }" fill="none" stroke="${hex(mix(skinLine, INK, 0.3))}" stroke-width="1.2" stroke-linecap="round" opacity="${
          n(0.85 * clamp(wrinkle, 0, 1))
        }"/>`,
      );
    }
  }

  // mouth: two lips from corner to corner; the opening is filled, teeth are clipped to it
  const corner = clamp(e.mouthCorner, -1.3, 1.3);
  const sneer = clamp(e.sneer, -1.2, 1.2);
  const leftX = fx(-mouthW, 1.1), rightX = fx(mouthW, 1.1), midX = fx(0, 1.1);
  const leftY = mouthY - 4.5 * corner - (sneer < 0 ? -sneer * 2 : 0);
  const rightY = mouthY - 4.5 * corner - (sneer > 0 ? sneer * 2 : 0);
  const yTop = mouthY - 0.35 * open - 2.2 * clamp(e.upperLip, 0, 1.2);
  const yBottom = mouthY + 0.65 * open;
  const sq = clamp(e.mouthSquare, 0, 1);
  const k = 0.55 + 0.45 * sq; // 0.55: quarter ellipse (oval), 1: square corner
  // one lip: corner -> middle -> corner as two cubics; `lift` raises one half (a sneer)
  const lipCurve = (yL: number, yM: number, yR: number, liftL: number, liftR: number, forward: boolean) => {
    const l1 = `${n(leftX)} ${n(yL + k * (yM - yL) - liftL)}`, l2 = `${n(midX - k * (midX - leftX))} ${n(yM - liftL)}`;
    const r1 = `${n(midX + k * (rightX - midX))} ${n(yM - liftR)}`,
      r2 = `${n(rightX)} ${n(yR + k * (yM - yR) - liftR)}`;
    const mid = `${n(midX)} ${n(yM)}`;
    return forward
      ? `C${l1} ${l2} ${mid} C${r1} ${r2} ${n(rightX)} ${n(yR)}`
      : `C${r2} ${r1} ${mid} C${l2} ${l1} ${n(leftX)} ${n(yL)}`;
  };
  const lift = 3 * Math.abs(sneer) * clamp(e.upperLip, 0, 1.2);
  const liftL = sneer < 0 ? lift : 0, liftR = sneer > 0 ? lift : 0;
  const start = `M${n(leftX)} ${n(leftY)}`;
  const mouthD = `${start} ${lipCurve(leftY, yTop, rightY, liftL, liftR, true)} ` +
    `${lipCurve(leftY, yBottom, rightY, 0, 0, false)} Z`;
  const gap = yBottom - Math.min(yTop, leftY, rightY);
  if (open > 0.6 || e.upperLip > 0.3) {
    defs.push(`<clipPath id="sfmouth"><path d="${mouthD}"/></clipPath>`);
    g.push(`<path d="${mouthD}" fill="#3a1414"/>`);
    const tTop = clamp(e.teethTop, 0, 1), tBottom = clamp(e.teethBottom, 0, 1);
    const teeth: string[] = [];
    if (tTop > 0.05) {
      // a band under the upper lip, as deep as teethTop asks
      const d = 0.5 * gap * tTop + 0.6;
      teeth.push(
        `<path d="${start} ${lipCurve(leftY, yTop, rightY, liftL, liftR, true)} L${n(rightX)} ${n(rightY + d)} ${
          lipCurve(leftY + d, yTop + d, rightY + d, liftL, liftR, false)
        } Z" fill="#f6f3ea"/>`,
      );
    }
    if (tBottom > 0.05) {
      const d = 0.45 * gap * tBottom + 0.4;
      teeth.push(
        `<path d="${start} ${lipCurve(leftY, yBottom, rightY, 0, 0, true)} L${n(rightX)} ${n(rightY - d)} ${
          lipCurve(leftY - d, yBottom - d, rightY - d, 0, 0, false)
        } Z" fill="#ece8dc"/>`,
      );
    }
    if (teeth.length > 0) g.push(`<g clip-path="url(#sfmouth)">${teeth.join("")}</g>`);
  }
  const lipWidth = open > 1.5 ? 1.3 : 1.9;
  g.push(
    `<path d="${mouthD}" fill="none" stroke="${hex(open > 1.5 ? lip : lipLine)}" stroke-width="${
      n(lipWidth)
    }" stroke-linejoin="round" stroke-linecap="round"/>`,
  );
  // a hint of the lower lip
  g.push(
    `<path d="M${n(midX - mouthW * 0.45)} ${n(yBottom + 2.4)} Q${n(midX)} ${n(yBottom + 3.6)} ${
      n(midX + mouthW * 0.45)
    } ${n(yBottom + 2.4)}" fill="none" stroke="${hex(skinShade)}" stroke-width="0.9" stroke-linecap="round"/>`,
  );

  // nasolabial folds: deep in smiles and sneers (AU6+AU12, AU9/AU10)
  const fold = clamp(e.smileLines, 0, 1.2);
  if (fold > 0.05) {
    for (const side of [-1, 1]) {
      const x0 = noseX + side * (nw + 1.6);
      const x1 = side < 0 ? leftX - 2.2 : rightX + 2.2;
      const y1 = (side < 0 ? leftY : rightY) + 2.5;
      g.push(
        `<path d="M${n(x0)} ${n(noseY - 1)} Q${n(x0 + side * 4.5)} ${n(noseY + 3)} ${n(x1)} ${
          n(y1)
        }" fill="none" stroke="${hex(skinLine)}" stroke-width="0.9" stroke-linecap="round" opacity="${
          n(0.65 * clamp(fold, 0, 1))
        }"/>`,
      );
    }
  }

  // glasses
  const glasses = Math.round(id.glasses);
  if (glasses > 0) {
    const frame = hex(hsl(id.glassesHue, 0.35, 0.18));
    const lens = glasses === 3 ? `fill="#151515" fill-opacity="0.88"` : `fill="#ffffff" fill-opacity="0.12"`;
    const xs = [-1, 1].map((side) => fx(side * id.eyeSpacing, 1));
    const rw = id.eyeWidth + 2.6;
    for (const [i, x] of xs.entries()) {
      const w = rw * sideScale(i === 0 ? -1 : 1);
      g.push(
        glasses === 1
          ? `<ellipse cx="${n(x)}" cy="${n(eyeY)}" rx="${n(w)}" ry="${
            n(rw * 0.85)
          }" ${lens} stroke="${frame}" stroke-width="1.1"/>`
          : `<rect x="${n(x - w)}" y="${n(eyeY - 4.6)}" width="${
            n(2 * w)
          }" height="9.2" rx="2" ${lens} stroke="${frame}" stroke-width="1.1"/>`,
      );
    }
    g.push(
      `<path d="M${n(xs[0] + rw - 0.5)} ${n(eyeY - 1)} Q${n((xs[0] + xs[1]) / 2)} ${n(eyeY - 3)} ${
        n(xs[1] - rw + 0.5)
      } ${n(eyeY - 1)}" fill="none" stroke="${frame}" stroke-width="1.1"/>`,
    );
  }

  // an occluder in front of the lower face: a hand or an object
  const occluder = Math.round(id.occluder);
  if (occluder > 0) {
    const ox = cx + 18 * id.occluderX, oy = 78 + 8 * id.occluderY;
    const s = 0.8 + 0.6 * id.occluderSize;
    if (occluder === 1) {
      g.push(
        `<g transform="translate(${n(ox)} ${n(oy)}) rotate(${n(25 * id.occluderX)}) scale(${n(s)})">` +
          `<rect x="-7" y="-9" width="14" height="20" rx="6" fill="${hex(skin)}" stroke="${
            hex(skinShade)
          }" stroke-width="0.8"/>` +
          [-3.5, 0, 3.5].map((x) => `<path d="M${x} -8 L${x} -1" stroke="${hex(skinShade)}" stroke-width="0.6"/>`).join(
            "",
          ) +
          `</g>`,
      );
    } else {
      g.push(
        `<g transform="translate(${n(ox)} ${n(oy + 4)}) rotate(${n(15 * id.occluderY)}) scale(${n(s)})">` +
          `<rect x="-6" y="-8" width="12" height="18" rx="1.5" fill="${hex(hsl(id.occluderHue, 0.6, 0.45))}"/>` +
          `<ellipse cx="0" cy="-8" rx="6" ry="1.8" fill="${hex(hsl(id.occluderHue, 0.5, 0.3))}"/></g>`,
      );
    }
  }
  g.push(`</g>`);
  out.push(...g);

  // lighting: a light-to-shadow gradient, a flat grey overlay (brightness/contrast), a colour cast
  if (scene.lightStrength > 0.005) {
    const [lx1, ly1, lx2, ly2] = direction(scene.lightAngle);
    defs.push(
      `<linearGradient id="sflight" gradientUnits="userSpaceOnUse" x1="${lx1}" y1="${ly1}" x2="${lx2}" y2="${ly2}">` +
        `<stop offset="0" stop-color="#fff" stop-opacity="${n(scene.lightStrength)}"/>` +
        `<stop offset="0.5" stop-color="#888" stop-opacity="0"/>` +
        `<stop offset="1" stop-color="#000" stop-opacity="${n(scene.lightStrength)}"/></linearGradient>`,
    );
    out.push(`<rect width="100" height="100" fill="url(#sflight)"/>`);
  }
  if (scene.shadeOpacity > 0.005) {
    const v = Math.round(255 * clamp(scene.shadeLevel, 0, 1));
    out.push(`<rect width="100" height="100" fill="${hex([v, v, v])}" opacity="${n(scene.shadeOpacity)}"/>`);
  }
  if (scene.tintOpacity > 0.005) {
    out.push(
      `<rect width="100" height="100" fill="${hex(hsl(scene.tintHue, 0.8, 0.5))}" opacity="${n(scene.tintOpacity)}"/>`,
    );
  }

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 100 100">` +
    `<defs>${defs.join("")}</defs>${out.join("")}</svg>`;
}

/** Endpoints of a gradient line across the 100 x 100 box at `angle` degrees. */
function direction(angle: number): [string, string, string, string] {
  const a = (angle * Math.PI) / 180;
  const dx = 50 * Math.cos(a), dy = 50 * Math.sin(a);
  return [n(50 - dx), n(50 - dy), n(50 + dx), n(50 + dy)];
}

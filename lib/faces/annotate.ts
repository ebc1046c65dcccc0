/**
 * The annotated photo of `predict --detect --annotate OUT.png` and notebook 07: every face's
 * box, its top expression and a small bar of its 7-class distribution, drawn as SVG over the
 * photo and rasterised by sharp (librsvg), the toolkit's one drawing path (lib/viz/render.ts).
 * @module
 */
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { CLASS_COLORS, FONT } from "../viz/palette.ts";
import type { RgbImage } from "./align.ts";

/** One face to draw: its box [x, y, w, h] in photo pixels and its class distribution. */
export interface AnnotatedFace {
  box: readonly number[];
  probabilities: readonly number[];
}

/** The longest side of the annotated PNG (the photo is shrunk to it; default 1280). */
export const ANNOTATE_MAX_SIDE = 1280;

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The photo with every face's box, top class and distribution bar, as PNG bytes. */
export async function annotatePhoto(
  photo: RgbImage,
  faces: readonly AnnotatedFace[],
  options: { classes: readonly string[]; maxSide?: number },
): Promise<Uint8Array> {
  const k = Math.min(1, (options.maxSide ?? ANNOTATE_MAX_SIDE) / Math.max(photo.width, photo.height));
  const w = Math.round(photo.width * k), h = Math.round(photo.height * k);
  const font = Math.max(12, Math.round(Math.max(w, h) / 70));
  const parts: string[] = [];
  for (const f of faces) {
    const [x, y, bw, bh] = f.box.map((v) => v * k);
    const p = f.probabilities;
    const top = p.indexOf(Math.max(...p));
    const colour = CLASS_COLORS[top] ?? "#ffcc00";
    parts.push(
      `<rect x="${x}" y="${y}" width="${bw}" height="${bh}" fill="none" stroke="${colour}" stroke-width="${
        Math.max(2, font / 6)
      }"/>`,
    );
    const label = `${options.classes[top]} ${(p[top] * 100).toFixed(0)}%`;
    const ly = Math.max(font + 4, y - 4);
    parts.push(
      `<rect x="${x}" y="${ly - font - 2}" width="${label.length * font * 0.6 + 8}" height="${
        font + 6
      }" fill="#000" fill-opacity="0.6"/>`,
      `<text x="${x + 4}" y="${ly}" font-family="${FONT}" font-size="${font}" fill="#fff">${escape(label)}</text>`,
    );
    // the distribution: one segment per class, its width the probability, below the box
    const barH = Math.max(6, font / 2);
    let bx = x;
    p.forEach((v, c) => {
      parts.push(
        `<rect x="${bx}" y="${y + bh + 2}" width="${v * bw}" height="${barH}" fill="${CLASS_COLORS[c] ?? "#888"}"/>`,
      );
      bx += v * bw;
    });
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${parts.join("")}</svg>`;
  const base = sharp(photo.data, { raw: { width: photo.width, height: photo.height, channels: 3 } });
  const png = await (k < 1 ? base.resize(w, h) : base)
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.length);
}

/**
 * Notebook 07's pictures: each detected face's 7-class distribution from our model beside
 * another model's estimate (face-api's own expression net), as a vega-lite spec; and the
 * aligned crops as one PNG strip.
 * @module
 */
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { CLASSES } from "../data/classes.ts";
import { baseConfig, checkClasses, VEGA_LITE_SCHEMA } from "../viz/palette.ts";
import type { VegaLiteSpec } from "../viz/render.ts";

/** One face's distributions: `ours` from the Ada-DF model, `other` (optional) from another model. */
export interface FaceDistributions {
  ours: readonly number[];
  other?: readonly number[];
}

/**
 * Grouped bars, one panel per face: our model's distribution and, beside it, the other model's.
 * `oursName` and `otherName` label the two (default "Ada-DF (ours)" and "face-api (another model)").
 */
export function faceDistributionsFigure(
  faces: readonly FaceDistributions[],
  options: { classes?: readonly string[]; oursName?: string; otherName?: string; title?: string } = {},
): VegaLiteSpec {
  const classes = checkClasses(options.classes ?? CLASSES, "faceDistributionsFigure()");
  const ours = options.oursName ?? "Ada-DF (ours)";
  const other = options.otherName ?? "face-api expression net (another model)";
  const values = faces.flatMap((f, i) => {
    for (const d of [f.ours, f.other]) {
      if (d !== undefined && d.length !== classes.length) {
        throw new RangeError(
          `faceDistributionsFigure(): face ${i} has ${d.length} entries, expected ${classes.length}`,
        );
      }
    }
    return [
      ...f.ours.map((p, k) => ({ face: `face ${i}`, class: classes[k], model: ours, p })),
      ...(f.other ?? []).map((p, k) => ({ face: `face ${i}`, class: classes[k], model: other, p })),
    ];
  });
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: options.title ?? "Each face's expression distribution", subtitle: `${ours} beside ${other}` },
    data: { values },
    facet: { column: { field: "face", type: "nominal", title: null, sort: faces.map((_, i) => `face ${i}`) } },
    spec: {
      width: 150,
      height: 150,
      mark: { type: "bar" },
      encoding: {
        x: { field: "class", type: "nominal", sort: [...classes], title: null, axis: { labelAngle: -45 } },
        xOffset: { field: "model", type: "nominal", sort: [ours, other] },
        y: { field: "p", type: "quantitative", title: "probability", scale: { domain: [0, 1] } },
        color: {
          field: "model",
          type: "nominal",
          sort: [ours, other],
          scale: { range: ["#4477AA", "#BBBBBB"] },
          title: null,
        },
        tooltip: [{ field: "model" }, { field: "class" }, { field: "p", format: ".3f" }],
      },
    },
    config: { ...baseConfig(), legend: { orient: "bottom", labelFontSize: 11, labelLimit: 400 } },
  };
}

/** The aligned crops ([S, S, 3] RGB each) side by side, `gap` pixels apart, enlarged `scale` times: PNG bytes. */
export async function facesStripPng(
  crops: readonly Uint8Array[],
  options: { size?: number; scale?: number; gap?: number } = {},
): Promise<Uint8Array> {
  const size = options.size ?? 100, scale = options.scale ?? 1.5, gap = options.gap ?? 6;
  const s = Math.round(size * scale);
  const n = Math.max(1, crops.length);
  const tiles = await Promise.all(
    crops.map((c) =>
      sharp(Buffer.from(c), { raw: { width: size, height: size, channels: 3 } }).resize(s, s).png().toBuffer()
    ),
  );
  const png = await sharp({ create: { width: n * s + (n - 1) * gap, height: s, channels: 3, background: "#ffffff" } })
    .composite(tiles.map((t, i) => ({ input: t, left: i * (s + gap), top: 0 })))
    .png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.length);
}

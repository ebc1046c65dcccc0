/**
 * One colour per class, the same in every figure, and the fonts and background every
 * figure shares. The palette is Paul Tol's "bright" qualitative scheme (seven colours,
 * distinguishable under the common colour-vision deficiencies and on white).
 *
 * @module
 */
import { CLASSES } from "../data/classes.ts";

/** Hex colour of each class, in `CLASSES` order. [C] */
export const CLASS_COLORS: readonly string[] = [
  "#66CCEE", // surprise: cyan
  "#AA3377", // fear: purple
  "#228833", // disgust: green
  "#CCBB44", // happiness: yellow
  "#4477AA", // sadness: blue
  "#EE6677", // anger: red
  "#BBBBBB", // neutral: grey
];

/** Font family every figure uses: librsvg (sharp) finds DejaVu Sans; viewers fall back to sans-serif. */
export const FONT = "DejaVu Sans, sans-serif";

/** The vega-lite v5 schema URL; the Deno Jupyter kernel only draws v4/v5 specs natively. */
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** Colours of the other series (distribution kinds, loss parts, models), from the same scheme. */
export const SERIES_COLORS: readonly string[] = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377"];

/**
 * The vega-lite colour scale of the classes: fixed domain (all seven, in order) and range,
 * so a class keeps its colour even when a figure shows only some classes.
 */
export function classColorScale(classes: readonly string[] = CLASSES): { domain: string[]; range: string[] } {
  if (classes.length > CLASS_COLORS.length) {
    throw new RangeError(`classColorScale() has ${CLASS_COLORS.length} colours, got ${classes.length} classes`);
  }
  return { domain: [...classes], range: CLASS_COLORS.slice(0, classes.length) };
}

/** The config block of every figure: white background, one font, legible sizes. */
export function baseConfig(): Record<string, unknown> {
  return {
    background: "white",
    padding: 8,
    font: FONT,
    title: { fontSize: 15, subtitleFontSize: 12, anchor: "start", offset: 8 },
    axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 160 },
    legend: { labelFontSize: 11, titleFontSize: 12 },
    header: { labelFontSize: 12, titleFontSize: 12 },
    view: { stroke: "#dddddd" },
  };
}

/** Checks that `classes` is a non-empty list of names; returns it. */
export function checkClasses(classes: readonly string[], where: string): readonly string[] {
  if (!Array.isArray(classes) || classes.length === 0 || classes.some((c) => typeof c !== "string")) {
    throw new TypeError(`${where}: classes must be a non-empty array of names`);
  }
  return classes;
}

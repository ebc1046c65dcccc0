/**
 * Fig. 3: 2-D t-SNE embeddings of the target branch's final features of the test set,
 * one panel per model (baseline and Ada-DF side by side), points coloured by class.
 * The embedding is computed elsewhere (`lib/analysis/tsne.ts`); this builder only draws.
 *
 * @module
 */
import { CLASSES } from "../data/classes.ts";
import type { VegaLiteSpec } from "./render.ts";
import { checkClasses, classColorScale, VEGA_LITE_SCHEMA } from "./palette.ts";

/** One panel of Fig. 3. */
export interface TsnePanel {
  /** Panel title, e.g. "Baseline" or "Ada-DF". */
  title: string;
  /** 2-D embedding, row-major. [N, 2] */
  embedding: Float32Array | readonly number[];
  /** Class index of each point. [N] */
  labels: ArrayLike<number>;
  /** Optional second header line, e.g. "test accuracy 58.0 %". */
  note?: string;
}

/** Options of {@linkcode tsneFigure}. */
export interface TsneFigureOptions {
  classes?: readonly string[];
  title?: string;
  subtitle?: string;
  /** Side of each panel in pixels (default 320). */
  size?: number;
}

/** The Fig. 3 spec: one scatter panel per model. */
export function tsneFigure(panels: readonly TsnePanel[], options: TsneFigureOptions = {}): VegaLiteSpec {
  const classes = checkClasses(options.classes ?? CLASSES, "tsneFigure()");
  if (panels.length === 0) throw new RangeError("tsneFigure(): needs at least one panel");
  const values: { panel: string; x: number; y: number; class: string }[] = [];
  const names: string[] = [];
  for (const p of panels) {
    const n = p.labels.length;
    if (p.embedding.length !== 2 * n) {
      throw new RangeError(
        `tsneFigure(): panel "${p.title}" has ${n} labels but an embedding of ${p.embedding.length} numbers (expected [${n}, 2])`,
      );
    }
    const name = p.note ? `${p.title} (${p.note})` : p.title;
    names.push(name);
    for (let i = 0; i < n; i++) {
      const k = p.labels[i];
      if (!(k >= 0 && k < classes.length)) {
        throw new RangeError(`tsneFigure(): label ${k} at ${i} is not a class index`);
      }
      values.push({ panel: name, x: p.embedding[2 * i], y: p.embedding[2 * i + 1], class: classes[k] });
    }
  }
  const size = options.size ?? 320;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? "Fig. 3 · t-SNE of the target branch's final features (test set)",
      subtitle: options.subtitle ?? "each point is one test face, coloured by its label",
    },
    data: { values },
    facet: {
      column: {
        field: "panel",
        type: "nominal",
        sort: names,
        title: null,
        header: { labelFontWeight: "bold", labelFontSize: 13 },
      },
    },
    spec: {
      width: size,
      height: size,
      mark: { type: "circle", size: 16, opacity: 0.8 },
      encoding: {
        x: { field: "x", type: "quantitative", axis: null, scale: { zero: false, nice: false, padding: 8 } },
        y: { field: "y", type: "quantitative", axis: null, scale: { zero: false, nice: false, padding: 8 } },
        color: { field: "class", type: "nominal", scale: classColorScale(classes), sort: [...classes], title: "class" },
      },
    },
    resolve: { scale: { x: "independent", y: "independent" } },
    spacing: 16,
  };
}

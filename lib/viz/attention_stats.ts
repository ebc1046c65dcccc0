/**
 * Per-class statistics of the normalised attention weights w (eq. 11) over the training
 * set across epochs (`attention.jsonl`): the mean as a line, min to max as a band, one
 * small panel per class.
 *
 * @module
 */
import { CLASSES } from "../data/classes.ts";
import type { VegaLiteSpec } from "./render.ts";
import type { AttentionRecord } from "../run/records.ts";
import { checkClasses, classColorScale, VEGA_LITE_SCHEMA } from "./palette.ts";

/** Options of {@linkcode attentionStatsFigure}. */
export interface AttentionStatsFigureOptions {
  classes?: readonly string[];
  title?: string;
}

const finite = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

/** The attention-statistics spec of a run's `attention.jsonl` records. */
export function attentionStatsFigure(
  records: readonly AttentionRecord[],
  options: AttentionStatsFigureOptions = {},
): VegaLiteSpec {
  const classes = checkClasses(options.classes ?? CLASSES, "attentionStatsFigure()");
  if (records.length === 0) throw new RangeError("attentionStatsFigure(): needs at least one epoch");
  const values = records.flatMap((r) => {
    if (r.mean.length !== classes.length) {
      throw new RangeError(
        `attentionStatsFigure(): epoch ${r.epoch} has ${r.mean.length} classes, expected ${classes.length}`,
      );
    }
    return classes.flatMap((name, j) =>
      finite(r.mean[j])
        ? [{ epoch: r.epoch, class: name, mean: r.mean[j], min: r.min[j] ?? r.mean[j], max: r.max[j] ?? r.mean[j] }]
        : []
    );
  });
  const x = { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1, format: "d" } };
  const color = { field: "class", type: "nominal", scale: classColorScale(classes), legend: null };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? "Attention weights per class across epochs",
      subtitle: "normalised weight w (eq. 11) over the training set: line = mean, band = min to max",
    },
    data: { values },
    facet: { field: "class", type: "nominal", sort: [...classes], title: null, header: { labelFontWeight: "bold" } },
    columns: 4,
    spec: {
      width: 170,
      height: 120,
      layer: [
        {
          mark: { type: "area", opacity: 0.3 },
          encoding: {
            x,
            y: { field: "min", type: "quantitative", scale: { domain: [0, 1] }, title: "w" },
            y2: { field: "max" },
            color,
          },
        },
        {
          mark: { type: "line", strokeWidth: 2.5 },
          encoding: { x, y: { field: "mean", type: "quantitative" }, color },
        },
      ],
    },
    spacing: 14,
  };
}

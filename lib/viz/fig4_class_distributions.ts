/**
 * Fig. 4: the CxC class distributions of one epoch as an annotated heatmap. Row c is the
 * class distribution of class c (the mean label distribution of the training samples
 * labelled c, eq. 4-6); rows whose diagonal fell below the threshold t were replaced by the
 * threshold row (eq. 7) and are outlined, and a column on the right says of each row
 * whether it was mined or is a threshold row.
 *
 * @module
 */
import { CLASSES } from "../data/classes.ts";
import type { VegaLiteSpec } from "./render.ts";
import type { ClassDistributionRecord } from "../run/records.ts";
import { checkClasses, VEGA_LITE_SCHEMA } from "./palette.ts";

/** Colour of the threshold-row outline and status text (vermillion: apart from the blue cells). */
export const THRESHOLD_ROW_COLOR = "#D55E00";

/** Options of {@linkcode classDistributionsFigure}. */
export interface ClassDistributionsFigureOptions {
  /** Class names, in row order (default `CLASSES`). */
  classes?: readonly string[];
  /** The threshold t of eq. 7, shown in the subtitle when given. */
  threshold?: number;
  /** Title (default "Fig. 4 · Class distributions after epoch E"). */
  title?: string;
  /** Side of one cell in pixels (default 52). */
  cellSize?: number;
}

/** The heatmap spec of one `class_distributions.jsonl` record. rows [C, C]. */
export function classDistributionsFigure(
  record: ClassDistributionRecord,
  options: ClassDistributionsFigureOptions = {},
): VegaLiteSpec {
  const classes = checkClasses(options.classes ?? CLASSES, "classDistributionsFigure()");
  const c = classes.length;
  if (record.rows.length !== c || record.rows.some((r) => r.length !== c)) {
    throw new RangeError(
      `classDistributionsFigure(): rows must be ${c}x${c} (one per class), got ${record.rows.length} rows`,
    );
  }
  const cell = options.cellSize ?? 52;
  const cells = record.rows.flatMap((row, i) =>
    row.map((value, j) => ({ row: classes[i], col: classes[j], value, diagonal: i === j }))
  );
  const rows = classes.map((name, i) => {
    const mined = record.mined[i] && !record.replaced[i];
    const diag = record.diagonal[i];
    const diagText = diag === null || diag === undefined || !Number.isFinite(diag) ? "" : `diagonal ${diag.toFixed(3)}`;
    const status = mined ? "mined" : "threshold row";
    const detail = [diagText, record.counts[i] ? `n = ${record.counts[i]}` : ""].filter((s) => s).join(", ");
    return { row: name, status: mined ? "mined" : "threshold", label: status, detail };
  });
  const t = options.threshold;
  const epochText = record.epoch === 0 ? "before training (epoch 0)" : `after epoch ${record.epoch}`;
  const y = { field: "row", type: "nominal", sort: [...classes], title: "class c (row)" };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? `Fig. 4 · Class distributions ${epochText}`,
      subtitle: [
        "row c: mean label distribution of the training faces labelled c (auxiliary branch, eq. 4-6)",
        record.epoch === 0
          ? `dashed outline: threshold row (eq. 7): t${
            t === undefined ? "" : ` = ${t}`
          } on the diagonal; every row starts so`
          : `dashed outline: threshold row (eq. 7), the mined diagonal was below t${t === undefined ? "" : ` = ${t}`}`,
      ],
    },
    data: { name: "cells", values: cells },
    hconcat: [
      {
        width: cell * c,
        height: cell * c,
        layer: [
          {
            mark: { type: "rect", stroke: "white", strokeWidth: 1 },
            encoding: {
              x: {
                field: "col",
                type: "nominal",
                sort: [...classes],
                title: "probability of class (column)",
                axis: { labelAngle: -35, orient: "bottom" },
              },
              y,
              color: {
                field: "value",
                type: "quantitative",
                scale: { scheme: "blues", domain: [0, 1] },
                legend: { title: "probability", orient: "left", gradientLength: cell * c * 0.6 },
              },
            },
          },
          {
            mark: { type: "text", fontSize: 12 },
            encoding: {
              x: { field: "col", type: "nominal", sort: [...classes] },
              y,
              text: { field: "value", type: "quantitative", format: ".2f" },
              color: { condition: { test: "datum.value > 0.5", value: "white" }, value: "#222222" },
            },
          },
          {
            data: { values: rows.filter((r) => r.status === "threshold") },
            mark: {
              type: "rect",
              fill: null,
              stroke: THRESHOLD_ROW_COLOR,
              strokeWidth: 3,
              strokeDash: [7, 4],
              x: 1.5,
              x2: cell * c - 1.5,
            },
            encoding: { y: { ...y, bandPosition: 0 } },
          },
        ],
      },
      {
        width: 175,
        height: cell * c,
        data: { values: rows },
        view: { stroke: null },
        layer: [
          {
            mark: { type: "text", align: "left", x: 6, dy: -7, fontSize: 12, fontWeight: "bold" },
            encoding: {
              y: { ...y, axis: null },
              text: { field: "label" },
              color: {
                field: "status",
                type: "nominal",
                scale: { domain: ["mined", "threshold"], range: ["#225588", THRESHOLD_ROW_COLOR] },
                legend: null,
              },
            },
          },
          {
            mark: { type: "text", align: "left", x: 6, dy: 8, fontSize: 11, color: "#555555" },
            encoding: { y: { ...y, axis: null }, text: { field: "detail" } },
          },
        ],
      },
    ],
    spacing: 4,
    resolve: { scale: { y: "shared", color: "independent" } },
  };
}

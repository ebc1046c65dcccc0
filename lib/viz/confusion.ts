/**
 * The confusion matrix of a classifier on a test set: counts and row-normalised rates
 * (pure), and its annotated heatmap (rows: true class, columns: predicted class).
 *
 * @module
 */
import { CLASSES } from "../data/classes.ts";
import type { VegaLiteSpec } from "./render.ts";
import { checkClasses, VEGA_LITE_SCHEMA } from "./palette.ts";

/** Counts of (true, predicted) pairs: entry [t][p]. [C, C] */
export function confusionMatrix(
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  numClasses: number,
): number[][] {
  if (labels.length !== predictions.length) {
    throw new RangeError(`confusionMatrix(): ${labels.length} labels but ${predictions.length} predictions`);
  }
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i];
    const p = predictions[i];
    if (!(Number.isInteger(t) && t >= 0 && t < numClasses && Number.isInteger(p) && p >= 0 && p < numClasses)) {
      throw new RangeError(`confusionMatrix(): pair ${i} (${t}, ${p}) is not two class indices in [0, ${numClasses})`);
    }
    m[t][p]++;
  }
  return m;
}

/** Options of {@linkcode confusionFigure}. */
export interface ConfusionFigureOptions {
  classes?: readonly string[];
  title?: string;
  /** Side of one cell in pixels (default 52). */
  cellSize?: number;
}

/** The confusion-matrix heatmap spec: colour = share of the true class's faces, text = share and count. */
export function confusionFigure(
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  options: ConfusionFigureOptions = {},
): VegaLiteSpec {
  const classes = checkClasses(options.classes ?? CLASSES, "confusionFigure()");
  const m = confusionMatrix(labels, predictions, classes.length);
  const correct = m.reduce((s, row, i) => s + row[i], 0);
  const acc = labels.length ? correct / labels.length : 0;
  const cells = m.flatMap((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((count, p) => ({
      truth: classes[t],
      predicted: classes[p],
      count,
      rate: total ? count / total : 0,
    }));
  });
  const cell = options.cellSize ?? 52;
  const x = {
    field: "predicted",
    type: "nominal",
    sort: [...classes],
    title: "predicted class",
    axis: { labelAngle: -35 },
  };
  const y = { field: "truth", type: "nominal", sort: [...classes], title: "true class" };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? "Confusion matrix (test set)",
      subtitle: `accuracy ${
        (100 * acc).toFixed(1)
      } % of ${labels.length} faces; colour and % per true class (row), count below`,
    },
    data: { values: cells },
    width: cell * classes.length,
    height: cell * classes.length,
    layer: [
      {
        mark: { type: "rect", stroke: "white", strokeWidth: 1 },
        encoding: {
          x,
          y,
          color: {
            field: "rate",
            type: "quantitative",
            scale: { scheme: "blues", domain: [0, 1] },
            legend: { title: "share of row", format: ".0%" },
          },
        },
      },
      {
        mark: { type: "text", fontSize: 12, dy: -6 },
        encoding: {
          x,
          y,
          text: { field: "rate", type: "quantitative", format: ".0%" },
          color: { condition: { test: "datum.rate > 0.5", value: "white" }, value: "#222222" },
        },
      },
      {
        mark: { type: "text", fontSize: 9, dy: 9 },
        encoding: {
          x,
          y,
          text: { field: "count", type: "quantitative" },
          color: { condition: { test: "datum.rate > 0.5", value: "white" }, value: "#555555" },
        },
      },
    ],
  };
}

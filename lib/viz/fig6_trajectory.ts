/**
 * Fig. 6: one tracked training sample across epochs: its label distribution (what the
 * auxiliary branch says), its fused distribution (the target the target branch learns,
 * eq. 12) and its attention weight w.
 *
 * @module
 */
import { CLASSES } from "../data/classes.ts";
import type { VegaLiteSpec } from "./render.ts";
import type { TrackedRecord } from "../run/records.ts";
import { checkClasses, classColorScale, VEGA_LITE_SCHEMA } from "./palette.ts";

/** Options of {@linkcode trajectoryFigure}. */
export interface TrajectoryFigureOptions {
  classes?: readonly string[];
  title?: string;
}

/** The Fig. 6 spec of the tracked sample with training index `sampleIndex`. */
export function trajectoryFigure(
  records: readonly TrackedRecord[],
  sampleIndex: number,
  options: TrajectoryFigureOptions = {},
): VegaLiteSpec {
  const classes = checkClasses(options.classes ?? CLASSES, "trajectoryFigure()");
  const points: { epoch: number; kind: string; class: string; p: number }[] = [];
  const weights: { epoch: number; w: number }[] = [];
  const sources: (string | undefined)[] = [];
  let label = -1;
  let truth: number[] | null | undefined;
  for (const r of records) {
    const s = r.samples.find((x) => x.index === sampleIndex);
    if (!s) continue;
    label = s.label;
    truth = s.trueDistribution;
    for (const [kind, d] of [["label distribution", s.labelDistribution], ["fused distribution", s.fused]] as const) {
      if (d.length !== classes.length) {
        throw new RangeError(
          `trajectoryFigure(): epoch ${r.epoch} ${kind} has ${d.length} entries, expected ${classes.length}`,
        );
      }
      d.forEach((p, j) => points.push({ epoch: r.epoch, kind, class: classes[j], p }));
    }
    weights.push({ epoch: r.epoch, w: s.w });
    sources.push(s.source);
  }
  if (weights.length === 0) {
    const known = [...new Set(records.flatMap((r) => r.samples.map((s) => s.index)))].slice(0, 20);
    throw new RangeError(`trajectoryFigure(): sample ${sampleIndex} is not tracked; tracked: ${known.join(", ")}`);
  }
  const truthText = truth
    ? `true distribution: ${
      truth.map((p, j) => [p, j] as const).filter(([p]) => p >= 0.1).sort((a, b) => b[0] - a[0])
        .map(([p, j]) => `${classes[j]} ${p.toFixed(2)}`).join(", ")
    }`
    : "";
  const x = { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1, format: "d" } };
  const color = {
    field: "class",
    type: "nominal",
    scale: classColorScale(classes),
    sort: [...classes],
    title: "class",
  };
  // the true distribution (where known) as dashed levels, for the classes that carry >= 5 %
  const truthLevels = truth ? truth.flatMap((p, j) => (p >= 0.05 ? [{ class: classes[j], p }] : [])) : [];
  const distChart = (kind: string) => ({
    width: 260,
    height: 200,
    title: { text: kind, anchor: "middle", fontSize: 12 },
    layer: [
      ...(truthLevels.length
        ? [{
          data: { values: truthLevels },
          mark: { type: "rule", strokeDash: [6, 4], strokeWidth: 1.5, opacity: 0.9 },
          encoding: { y: { field: "p", type: "quantitative" }, color },
        }]
        : []),
      {
        transform: [{ filter: `datum.kind === ${JSON.stringify(kind)}` }],
        mark: { type: "line", point: { size: 22 }, strokeWidth: 2 },
        encoding: {
          x,
          y: { field: "p", type: "quantitative", scale: { domain: [0, 1] }, title: "probability" },
          color,
        },
      },
    ],
  });
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? `Fig. 6 · Training face #${sampleIndex} (label: ${classes[label] ?? label}) across epochs`,
      // one clause a line: a single long line made the figure over 1000 px wide, cut off in a notebook
      subtitle: [
        "label distribution of the auxiliary branch and fused target of the target branch",
        ...(truthText ? [`${truthText} (dashed)`] : []),
        ...sourceText(sources, weights.map((w) => w.epoch)).split("; "),
      ],
    },
    data: { values: points },
    hconcat: [
      distChart("label distribution"),
      distChart("fused distribution"),
      {
        width: 160,
        height: 200,
        title: { text: "attention weight w", anchor: "middle", fontSize: 12 },
        data: { values: weights },
        mark: { type: "line", point: { size: 22, color: "#444444" }, color: "#444444", strokeWidth: 2 },
        encoding: { x, y: { field: "w", type: "quantitative", scale: { domain: [0, 1] }, title: "w (eq. 11)" } },
      },
    ],
    resolve: { scale: { color: "shared" } },
  };
}

/** What the plotted values are, from the records' `source` fields (see `TrackedSample.source`). */
export function sourceText(sources: readonly (string | undefined)[], epochs: readonly number[]): string {
  if (sources.every((s) => s === undefined)) {
    return "eval-mode view after each epoch, w normalised over the whole training set (not the loss's own batch values)";
  }
  const notDrawn = epochs.filter((_, i) => sources[i] !== "batch");
  return "as the loss used them: the face's row of its training batch each epoch (w normalised over that batch)" +
    (notDrawn.length ? `; epochs ${notDrawn.join(", ")} drew no batch with it: eval-mode view there` : "");
}

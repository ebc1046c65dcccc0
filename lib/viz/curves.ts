/**
 * Training curves of a run (`metrics.jsonl`): each loss part (total, L_ce, L_kld, L_RR;
 * eq. 14), the loss weights a1 and a2 (eq. 15-16), the learning rate, and train and test
 * accuracy per epoch. One small panel each.
 *
 * @module
 */
import type { VegaLiteSpec } from "./render.ts";
import type { MetricsRecord } from "../run/records.ts";
import { SERIES_COLORS, VEGA_LITE_SCHEMA } from "./palette.ts";

/** Options of {@linkcode trainingCurvesFigure}. */
export interface TrainingCurvesFigureOptions {
  title?: string;
  /** Panel width and height in pixels (default 210 x 140). */
  panelWidth?: number;
  panelHeight?: number;
}

const finite = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

/** The training-curves spec of a run's metrics (one record per epoch). */
export function trainingCurvesFigure(
  metrics: readonly MetricsRecord[],
  options: TrainingCurvesFigureOptions = {},
): VegaLiteSpec {
  if (metrics.length === 0) throw new RangeError("trainingCurvesFigure(): needs at least one epoch of metrics");
  const w = options.panelWidth ?? 210;
  const h = options.panelHeight ?? 140;
  const series = (keys: [keyof MetricsRecord, string][]) =>
    metrics.flatMap((m) =>
      keys.flatMap(([k, name]) => finite(m[k]) ? [{ epoch: m.epoch, series: name, value: m[k] as number }] : [])
    );
  const x = { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1, format: "d" } };
  const panel = (title: string, keys: [keyof MetricsRecord, string][], yOpts: Record<string, unknown> = {}) => {
    const values = series(keys);
    const names = keys.map(([, n]) => n).filter((n) => values.some((v) => v.series === n));
    const multi = names.length > 1;
    return {
      width: w,
      height: h,
      title: { text: title, fontSize: 12, anchor: "start" },
      data: { values },
      mark: { type: "line", point: { size: 14 }, strokeWidth: 2, ...(multi ? {} : { color: SERIES_COLORS[0] }) },
      encoding: {
        x,
        y: { field: "value", type: "quantitative", title: null, scale: { zero: false }, ...yOpts },
        ...(multi
          ? {
            color: {
              field: "series",
              type: "nominal",
              sort: names,
              scale: { domain: names, range: SERIES_COLORS.slice(0, names.length) },
              legend: {
                title: null,
                orient: "top",
                direction: "horizontal",
                labelFontSize: 10,
                symbolSize: 60,
                offset: 4,
              },
            },
          }
          : {}),
      },
    };
  };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: options.title ?? "Training curves", subtitle: "L = L_RR + a1·L_ce + a2·L_kld (eq. 14-16)" },
    columns: 4,
    concat: [
      panel("total loss L", [["loss", "L"]]),
      panel("L_ce (auxiliary, eq. 3)", [["lossCe", "L_ce"]]),
      panel("L_kld (target, eq. 13)", [["lossKld", "L_kld"]]),
      panel("L_RR (eq. 10)", [["lossRr", "L_RR"]]),
      panel("loss weights", [["a1", "a1"], ["a2", "a2"]], { scale: { domain: [0, 1.05] } }),
      panel("learning rate", [["lr", "lr"]], { axis: { format: ".1e" } }),
      panel("accuracy", [["trainAccuracy", "train"], ["testAccuracy", "test"], ["testAccuracyTrue", "test (true)"]], {
        axis: { format: ".0%" },
      }),
    ],
    resolve: { scale: { color: "independent" } },
    spacing: 18,
  };
}

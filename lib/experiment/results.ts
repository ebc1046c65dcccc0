/**
 * Result tables of an experiment: per row, the mean and sample standard deviation over the
 * finished seeds of the final and best test accuracy (and against the true argmax where the
 * data set knows it), as JSON, a markdown table and a vega-lite chart. Pure: the caller
 * reads the run folders' `summary.json` files and writes the outputs.
 *
 * @example
 * ```ts
 * import { meanStd } from "./results.ts";
 * const { mean, std } = meanStd([0.5, 0.7]);
 * if (Math.abs(mean - 0.6) > 1e-12 || Math.abs(std - Math.SQRT1_2 * 0.2) > 1e-12) throw new Error("sample std");
 * ```
 * @module
 */
import type { ExperimentPlan } from "./plan.ts";
import { EXPERIMENT_TABLE } from "./plan.ts";

/** Mean and sample standard deviation (n - 1; 0 for one value, NaN for none). */
export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  if (xs.length === 0) return { mean: NaN, std: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, std: Math.sqrt(v) };
}

/** What the results read of a finished run (its `summary.json`). */
export interface RunSummaryLike {
  testAccuracy: number;
  bestTestAccuracy: number;
  testAccuracyTrue?: number;
  bestTestAccuracyTrue?: number;
  wallSeconds: number;
}

const MEASURES = ["testAccuracy", "bestTestAccuracy", "testAccuracyTrue", "bestTestAccuracyTrue"] as const;
export type Measure = typeof MEASURES[number];

export interface ResultRow {
  id: string;
  label: string;
  group: string;
  /** finished seeds */
  seeds: number[];
  /** per measure: mean, std and the per-seed values (in seed order) */
  measures: Partial<Record<Measure, { mean: number; std: number; values: number[] }>>;
  wallSeconds: number;
}

export interface ExperimentResults {
  experiment: string;
  table: string;
  quick: boolean;
  finished: number;
  planned: number;
  /** the sum of the finished runs' wall times (their CPU time on a machine running one at a time) */
  wallSeconds: number;
  rows: ResultRow[];
}

/** The results of the finished runs of a plan; `summaries` maps run ids to their summaries. */
export function experimentResults(
  plan: ExperimentPlan,
  summaries: ReadonlyMap<string, RunSummaryLike>,
): ExperimentResults {
  const rows: ResultRow[] = plan.rows.map((row) => {
    const runs = plan.runs.filter((r) => r.row === row.id && summaries.has(r.id));
    const measures: ResultRow["measures"] = {};
    for (const m of MEASURES) {
      const values = runs.map((r) => summaries.get(r.id)![m]).filter((v): v is number => typeof v === "number");
      if (values.length === runs.length && values.length > 0) measures[m] = { ...meanStd(values), values };
    }
    return {
      id: row.id,
      label: row.label,
      group: row.group,
      seeds: runs.map((r) => r.seed),
      measures,
      wallSeconds: runs.reduce((a, r) => a + summaries.get(r.id)!.wallSeconds, 0),
    };
  });
  return {
    experiment: plan.experiment,
    table: EXPERIMENT_TABLE[plan.experiment],
    quick: plan.quick,
    finished: plan.runs.filter((r) => summaries.has(r.id)).length,
    planned: plan.runs.length,
    wallSeconds: rows.reduce((a, r) => a + r.wallSeconds, 0),
    rows,
  };
}

// one seed has no spread to show
const pct = (m: { mean: number; std: number; values: number[] } | undefined) =>
  m === undefined
    ? "–"
    : m.values.length === 1
    ? (100 * m.mean).toFixed(1)
    : `${(100 * m.mean).toFixed(1)} ± ${(100 * m.std).toFixed(1)}`;

/** The markdown table: one line per row, accuracies in % as mean ± std over the finished seeds. */
export function resultsMarkdown(r: ExperimentResults): string {
  const truth = r.rows.some((row) => row.measures.testAccuracyTrue);
  const head = [
    "row",
    "seeds",
    "test % (last epoch)",
    "best epoch %",
    ...(truth ? ["vs true argmax %"] : []),
    "s (sum)",
  ];
  const lines = [
    `**${r.experiment}** (the paper's ${r.table}${
      r.quick ? ", --quick" : ""
    }): ${r.finished} of ${r.planned} runs finished, ` +
    `${Math.round(r.wallSeconds)} s of training in all; mean ± sample std over seeds`,
    "",
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
  ];
  for (const row of r.rows) {
    lines.push(
      `| ${
        [
          row.label,
          row.seeds.length ? row.seeds.join(", ") : "none yet",
          pct(row.measures.testAccuracy),
          pct(row.measures.bestTestAccuracy),
          ...(truth ? [pct(row.measures.testAccuracyTrue)] : []),
          String(Math.round(row.wallSeconds)),
        ].join(" | ")
      } |`,
    );
  }
  return lines.join("\n") + "\n";
}

/** A vega-lite bar chart: each row's mean final test accuracy with a ± std error bar. */
export function resultsChart(r: ExperimentResults): Record<string, unknown> {
  const values = r.rows.flatMap((row) => {
    const m = row.measures.testAccuracy;
    return m
      ? [{
        row: row.label,
        group: row.group,
        mean: 100 * m.mean,
        lo: 100 * (m.mean - m.std),
        hi: 100 * (m.mean + m.std),
      }]
      : [];
  });
  const order = r.rows.map((row) => row.label);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: {
      text: `${r.experiment} (the paper's ${r.table})${r.quick ? ", --quick" : ""}`,
      subtitle: `test accuracy at the last epoch, mean ± std over seeds; ${r.finished} of ${r.planned} runs`,
    },
    data: { values },
    width: 420,
    height: { step: 22 },
    layer: [
      {
        mark: { type: "bar", color: "#4c78a8" },
        encoding: {
          y: { field: "row", type: "nominal", sort: order, title: null },
          x: { field: "mean", type: "quantitative", title: "test accuracy %", scale: { zero: true } },
        },
      },
      {
        mark: { type: "rule", color: "#222222" },
        encoding: {
          y: { field: "row", type: "nominal", sort: order },
          x: { field: "lo", type: "quantitative" },
          x2: { field: "hi" },
        },
      },
      {
        mark: { type: "text", align: "left", dx: 4, fontSize: 11 },
        encoding: {
          y: { field: "row", type: "nominal", sort: order },
          x: { field: "hi", type: "quantitative" },
          text: { field: "mean", type: "quantitative", format: ".1f" },
        },
      },
    ],
  };
}

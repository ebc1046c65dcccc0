/**
 * Experiment plans: the paper's Tables 1, 2 and 4 as lists of ordinary training runs.
 * A plan names each row (one configuration), and each run (a row and a seed) with the
 * configuration layer `deno task train --config` takes. TF-free and I/O-free.
 *
 * @example
 * ```ts
 * import { planExperiment } from "./plan.ts";
 * const plan = planExperiment("ablation", { seeds: 2 });
 * if (plan.runs.length !== 8) throw new Error("4 rows x 2 seeds");
 * if (plan.runs[0].id !== "baseline-s1") throw new Error("rows in Table 2's order");
 * ```
 * @module
 */
import { type Layer, resolveConfig } from "../config.ts";

/** The experiments, by the paper's tables. */
export const EXPERIMENTS = ["ablation", "sensitivity", "noise"] as const;
export type ExperimentName = typeof EXPERIMENTS[number];

/** Which table of the paper each experiment reproduces. */
export const EXPERIMENT_TABLE: Record<ExperimentName, string> = {
  ablation: "Table 2",
  sensitivity: "Table 1",
  noise: "Table 4",
};

/** One row of a table: a configuration layer over the experiment's base. */
export interface PlanRow {
  id: string;
  label: string;
  /** what the row changes (for a sweep: the swept hyper-parameter) */
  group: string;
  layer: Layer;
}

/** One run: a row and a seed. `layer` is the whole configuration layer the run trains with. */
export interface PlannedRun {
  id: string;
  row: string;
  seed: number;
  layer: Layer;
}

export interface ExperimentPlan {
  experiment: ExperimentName;
  quick: boolean;
  seeds: number[];
  /** the layer every run starts from (the data set flags, the quick preset) */
  base: Layer;
  rows: PlanRow[];
  runs: PlannedRun[];
}

/**
 * `--quick`: SynthFER at 32x32, 280 training and 140 test faces, a ResNet-18 narrowed to
 * width 4, 4 epochs (beta 2): a run takes seconds, so a whole experiment fits in a few
 * minutes on 2 cores. Its numbers show that the machinery works, not the method's effect.
 */
export const QUICK_LAYER: Layer = {
  imageSize: 32,
  width: 4,
  epochs: 4,
  batchSize: 32,
  beta: 2,
  trackedSamples: 4,
  synth: { trainSize: 280, testSize: 140 },
};

/** Options of {@linkcode planExperiment}. */
export interface PlanOptions {
  /** how many seeds (1..K); default 3 */
  seeds?: number;
  quick?: boolean;
  /** the data set flags and any other layer every run shares */
  base?: Layer;
}

/** The sweeps of Table 1, one hyper-parameter at a time. */
export const SENSITIVITY_SWEEPS = {
  minWeight: [0, 0.1, 0.2, 0.3, 0.4],
  threshold: [0.4, 0.5, 0.6, 0.7, 0.8],
  beta: [1, 3, 5, 7, 9],
} as const;

/** Label noise rates of Table 4. */
export const NOISE_RATES = [0, 0.1, 0.2, 0.3] as const;

const SWEEP_NAMES: Record<keyof typeof SENSITIVITY_SWEEPS, string> = {
  minWeight: "w_min",
  threshold: "t",
  beta: "beta",
};

function rowsOf(name: ExperimentName, base: Layer): PlanRow[] {
  switch (name) {
    case "ablation":
      return [
        {
          id: "baseline",
          label: "baseline (y only: plain ResNet, CE)",
          group: "ablation",
          layer: { mode: "baseline" },
        },
        { id: "class", label: "y + d_class", group: "ablation", layer: { mode: "class" } },
        { id: "label", label: "y + d_label", group: "ablation", layer: { mode: "label" } },
        { id: "adadf", label: "Ada-DF (adaptive fusion)", group: "ablation", layer: { mode: "adadf" } },
      ];
    case "noise":
      return NOISE_RATES.flatMap((rate) =>
        (["baseline", "adadf"] as const).map((mode) => ({
          id: `${mode}-noise${Math.round(rate * 100)}`,
          label: `${mode === "adadf" ? "Ada-DF" : "baseline"}, ${Math.round(rate * 100)} % noise`,
          group: `${Math.round(rate * 100)} %`,
          layer: { mode, noise: rate } as Layer,
        }))
      );
    case "sensitivity": {
      // the data set's own defaults first; a sweep value equal to the default is that row
      const d = resolveConfig(base);
      const rows: PlanRow[] = [{
        id: "default",
        label: `defaults (w_min ${d.minWeight}, t ${d.threshold}, beta ${d.beta})`,
        group: "default",
        layer: {},
      }];
      for (
        const [key, values] of Object.entries(SENSITIVITY_SWEEPS) as [
          keyof typeof SENSITIVITY_SWEEPS,
          readonly number[],
        ][]
      ) {
        for (const v of values) {
          if (d[key] === v) continue;
          rows.push({
            id: `${key === "minWeight" ? "min-weight" : key}-${v}`,
            label: `${SWEEP_NAMES[key]} = ${v}`,
            group: SWEEP_NAMES[key],
            layer: { [key]: v } as Layer,
          });
        }
      }
      return rows;
    }
  }
}

/**
 * The plan of an experiment: its rows, and one run per row and seed (seeds 1..K), each with
 * the layer `{...QUICK_LAYER (with --quick), ...base, ...row, seed}`.
 * @throws {RangeError} for an unknown experiment or a seed count below 1; a `ConfigError`
 *   when a run's configuration is invalid (checked here, before anything runs)
 */
export function planExperiment(name: ExperimentName, options: PlanOptions = {}): ExperimentPlan {
  if (!EXPERIMENTS.includes(name)) {
    throw new RangeError(`experiment must be one of ${EXPERIMENTS.join(", ")}, got '${name}'`);
  }
  const k = options.seeds ?? 3;
  if (!Number.isInteger(k) || k < 1 || k > 100) throw new RangeError(`seeds must be an integer in [1, 100], got ${k}`);
  const quick = options.quick ?? false;
  const base = mergeLayers(quick ? QUICK_LAYER : {}, options.base ?? {});
  const rows = rowsOf(name, base);
  const seeds = Array.from({ length: k }, (_, i) => i + 1);
  const runs: PlannedRun[] = [];
  for (const row of rows) {
    for (const seed of seeds) {
      const layer = mergeLayers(base, row.layer, { seed });
      resolveConfig(layer); // every run's configuration is valid before anything starts
      runs.push({ id: `${row.id}-s${seed}`, row: row.id, seed, layer });
    }
  }
  return { experiment: name, quick, seeds, base, rows, runs };
}

/** Later layers win; `synth` and `augment` merge key by key (as resolveConfig merges them). */
export function mergeLayers(...layers: Layer[]): Layer {
  const out: Layer = Object.assign({}, ...layers);
  const synth: NonNullable<Layer["synth"]> = {};
  const augment: NonNullable<Layer["augment"]> = {};
  for (const l of layers) {
    Object.assign(synth, l.synth ?? {});
    Object.assign(augment, l.augment ?? {});
  }
  delete out.synth;
  delete out.augment;
  if (Object.keys(synth).length) out.synth = synth;
  if (Object.keys(augment).length) out.augment = augment;
  return out;
}

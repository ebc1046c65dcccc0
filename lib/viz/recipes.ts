/**
 * Figure recipes: which records of a run folder make each figure, shared by
 * `deno task figures` and the notebooks. Each recipe returns a vega-lite spec, or a string
 * saying why the run folder cannot make that figure (the figure is then skipped). No I/O
 * besides reading SynthFER's cache for Fig. 1; nothing is printed (progress goes to a callback).
 *
 * @example
 * ```ts
 * import { FIGURE_NAMES } from "./recipes.ts";
 * if (FIGURE_NAMES[0] !== "fig1_votes") throw new Error("Fig. 1 comes first");
 * ```
 * @module
 */
import { CLASSES } from "../data/classes.ts";
import type { VegaLiteSpec } from "./render.ts";
import type { RunFolder } from "../run/reader.ts";
import { architectureFigure } from "./fig2_architecture.ts";
import { tsneFigure, type TsnePanel } from "./fig3_tsne.ts";
import { classDistributionsFigure } from "./fig4_class_distributions.ts";
import { fusionExampleFigure, pickTrackedSample } from "./fig5_fusion_example.ts";
import { trajectoryFigure } from "./fig6_trajectory.ts";
import { trainingCurvesFigure } from "./curves.ts";
import { attentionStatsFigure } from "./attention_stats.ts";
import { confusionFigure } from "./confusion.ts";
import { attentionRocFigure, nearestTargetFigure } from "./fig_measures.ts";
import { pickAmbiguousFace, svgToPngDataUrl, votesFigure } from "./fig1_votes.ts";

export { FIGURE_NAMES, type FigureName } from "./figure_names.ts";
import type { FigureName } from "./figure_names.ts";

/** A choice the run folder cannot satisfy (an epoch or a sample it lacks); the message says what it has. */
export class FigureRecipeError extends RangeError {
  override name = "FigureRecipeError";
}

/** Options of {@linkcode figureRecipes}. */
export interface FigureRecipeOptions {
  /** a baseline run on the same data: Fig. 3 shows both side by side */
  baseline?: RunFolder;
  /** epoch of Fig. 4 and Fig. 5 (default: the last) */
  epoch?: number;
  /** training index of the tracked sample of Fig. 5 and 6 (default: the most ambiguous) */
  sample?: number;
  /** t-SNE perplexity of Fig. 3 (default 30, less for small test sets) */
  perplexity?: number;
  /** t-SNE iterations of Fig. 3 */
  tsneIterations?: number;
  /** SynthFER's cache folder for Fig. 1 */
  synthCacheDir?: string;
  /** progress of the long recipes (t-SNE) */
  onProgress?: (text: string) => void;
}

/** "Ada-DF", "Baseline" or "mode X" from a run's config. */
export function modeTitle(config: Record<string, unknown>): string {
  return config.mode === "adadf" ? "Ada-DF" : config.mode === "baseline" ? "Baseline" : `mode ${String(config.mode)}`;
}

const pct = (x: unknown) => (typeof x === "number" ? `test ${(100 * x).toFixed(1)} %` : undefined);

/** One run of a t-SNE comparison (Fig. 3). */
export interface TsneRun {
  title: string;
  run: RunFolder;
}

/**
 * Fig. 3: a Barnes-Hut t-SNE of each run's test features, side by side, with each run's test
 * accuracy and the 10-NN accuracy of its map. Returns the spec and one summary line per run.
 * @throws {FigureRecipeError} when a run has no features.npy/features.json
 */
export async function tsneComparison(
  runs: readonly TsneRun[],
  options: { perplexity?: number; iterations?: number; seed?: number; onProgress?: (text: string) => void } = {},
): Promise<{ spec: VegaLiteSpec; lines: string[] }> {
  const { tsne, knnAccuracy } = await import("../analysis/mod.ts");
  const panels: TsnePanel[] = [];
  const lines: string[] = [];
  let info = "";
  for (const { title, run } of runs) {
    if (!run.features) throw new FigureRecipeError(`${run.dir} has no features.npy/features.json`);
    const [n, d] = run.features.shape;
    const perplexity = options.perplexity ?? Math.min(30, Math.max(1, Math.floor((n - 1) / 3)));
    const res = await tsne(run.features.data, [n, d], {
      perplexity,
      iterations: options.iterations,
      seed: options.seed ?? 1,
      onProgress: (it, total) => options.onProgress?.(`fig3_tsne: t-SNE of ${title} ${it}/${total}`),
    });
    const knn = knnAccuracy(res.embedding, run.features.labels, Math.min(10, n - 1));
    const acc = run.summary?.testAccuracy;
    panels.push({
      title,
      embedding: res.embedding,
      labels: run.features.labels,
      note: [pct(acc), `10-NN ${(100 * knn).toFixed(1)} %`].filter((s) => s).join(", "),
    });
    lines.push(
      `${title.padEnd(8)}: ${n} test faces x ${d} features${
        typeof acc === "number" ? `, test accuracy ${(100 * acc).toFixed(1)} %` : ""
      }, 10-NN accuracy in the t-SNE map ${(100 * knn).toFixed(1)} %  (t-SNE ${res.seconds.toFixed(1)} s)`,
    );
    info = `perplexity ${perplexity}, ${res.iterations} iterations`;
  }
  const epoch = runs.at(-1)?.run.features?.epoch;
  const spec = tsneFigure(panels, {
    classes: classesOf(runs.at(-1)!.run),
    subtitle: `each point is one test face${
      epoch !== undefined ? ` (epoch ${epoch})` : ""
    }, coloured by its label; ${info}`,
  });
  return { spec, lines };
}

function classesOf(run: RunFolder): string[] {
  return Array.isArray(run.config.classes) ? (run.config.classes as string[]) : [...CLASSES];
}

/**
 * The figure recipes of one run folder. Validates `epoch` and `sample` against the run's
 * records first.
 * @throws {FigureRecipeError} when `epoch` or `sample` is not in the run's records
 */
export function figureRecipes(
  run: RunFolder,
  options: FigureRecipeOptions = {},
): Record<FigureName, () => Promise<VegaLiteSpec | string>> {
  const cfg = run.config;
  const classes = classesOf(run);
  const { epoch } = options;
  // the record of Fig. 4 and 5 (default: the last); a figure whose file lacks that epoch is
  // skipped, and an epoch that no file has is an error
  const atEpoch = <T extends { epoch: number }>(records: readonly T[] | undefined): T | undefined =>
    records && (epoch === undefined ? records[records.length - 1] : records.find((x) => x.epoch === epoch));
  const range = (records: readonly { epoch: number }[] | undefined, what: string) =>
    records ? [`${what} for epochs ${records[0].epoch}..${records[records.length - 1].epoch}`] : [];
  if (epoch !== undefined && !atEpoch(run.classDistributions) && !atEpoch(run.tracked)) {
    const has = [...range(run.classDistributions, "class distributions"), ...range(run.tracked, "tracked samples")];
    throw new FigureRecipeError(
      `--epoch ${epoch}: the run has ${has.length ? has.join(" and ") : "no per-epoch records"}`,
    );
  }
  const missingEpoch = (file: string) => `${file} has no epoch ${epoch}`;

  // Fig. 5 and 6 show the same tracked sample
  let sampleIndex: number | undefined;
  if (run.tracked) {
    const rec = atEpoch(run.tracked) ?? run.tracked[run.tracked.length - 1];
    if (options.sample !== undefined) {
      if (!rec.samples.some((s) => s.index === options.sample)) {
        throw new FigureRecipeError(
          `--sample ${options.sample} is not tracked; tracked training indices: ${
            rec.samples.map((s) => s.index).join(", ")
          }`,
        );
      }
      sampleIndex = options.sample;
    } else if (rec.samples.length) sampleIndex = pickTrackedSample(rec.samples);
  }
  const now = <T>(x: T) => Promise.resolve(x);

  return {
    fig1_votes: async () => {
      if (cfg.dataset !== "synth") {
        return `needs SynthFER's simulated votes (this run's data set: ${String(cfg.dataset)})`;
      }
      const { loadSynthFer, faceSvg } = await import("../data/synthfer.ts");
      const synth = (cfg.synth ?? {}) as Record<string, unknown>;
      const ds = await loadSynthFer({
        ...synth,
        imageSize: typeof cfg.imageSize === "number" ? cfg.imageSize : undefined,
        ...(options.synthCacheDir ? { cacheDir: options.synthCacheDir } : {}),
      });
      const te = ds.test;
      const c = classes.length;
      const i = pickAmbiguousFace(te.votes, c, te.trueDistributions);
      return votesFigure({
        imageUrl: await svgToPngDataUrl(faceSvg(te.params[i], 400)),
        votes: te.votes.subarray(i * c, (i + 1) * c),
        trueDistribution: te.trueDistributions.subarray(i * c, (i + 1) * c),
        caption: `SynthFER test face #${i}`,
      }, { classes });
    },
    fig2_architecture: () =>
      now(architectureFigure({
        backbone: typeof cfg.backbone === "string" ? cfg.backbone : undefined,
        stemFrozen: typeof cfg.stemFrozen === "boolean" ? cfg.stemFrozen : undefined,
        featureDim: run.features?.shape[1],
        imageSize: typeof cfg.imageSize === "number" ? cfg.imageSize : undefined,
        attentionOn: typeof cfg.attentionOn === "string" ? cfg.attentionOn : undefined,
      })),
    fig3_tsne: async () => {
      if (!run.features) return "needs features.npy and features.json";
      const runs = options.baseline ? [options.baseline, run] : [run];
      const { spec } = await tsneComparison(runs.map((r) => ({ title: modeTitle(r.config), run: r })), {
        perplexity: options.perplexity,
        iterations: options.tsneIterations,
        onProgress: options.onProgress,
      });
      return spec;
    },
    fig4_class_distributions: () => {
      if (!run.classDistributions) return now("needs class_distributions.jsonl");
      const rec = atEpoch(run.classDistributions);
      if (!rec) return now(missingEpoch("class_distributions.jsonl"));
      return now(classDistributionsFigure(rec, {
        classes,
        threshold: typeof cfg.threshold === "number" ? cfg.threshold : undefined,
      }));
    },
    fig5_fusion_example: () => {
      if (!run.tracked || sampleIndex === undefined) return now("needs tracked.jsonl with samples");
      const rec = atEpoch(run.tracked);
      if (!rec) return now(missingEpoch("tracked.jsonl"));
      const s = rec.samples.find((x) => x.index === sampleIndex);
      if (!s) return now(`sample ${sampleIndex} is not tracked at epoch ${rec.epoch}`);
      return now(fusionExampleFigure(s, { classes, epoch: rec.epoch }));
    },
    fig6_trajectory: () => {
      if (!run.tracked || sampleIndex === undefined) return now("needs tracked.jsonl with samples");
      return now(trajectoryFigure(run.tracked, sampleIndex, { classes }));
    },
    training_curves: () => now(trainingCurvesFigure(run.metrics, { title: `Training curves · ${modeTitle(cfg)}` })),
    attention_stats: () => {
      if (!run.attention) return now("needs attention.jsonl");
      if (cfg.mode === "baseline") return now("a plain network (the baseline) has no attention head");
      return now(attentionStatsFigure(run.attention, { classes }));
    },
    nearest_target: () => {
      if (!run.distributions?.length) return now("needs distributions.jsonl (runs on data with true distributions)");
      return now(nearestTargetFigure(run.distributions));
    },
    attention_roc: () => {
      if (!run.distributions?.length) return now("needs distributions.jsonl (runs on data with true distributions)");
      if (cfg.mode === "baseline") return now("a plain network (the baseline) has no attention weight");
      return now(attentionRocFigure(run.distributions));
    },
    confusion_matrix: () => {
      const f = run.features;
      if (!f?.predictions) return now("needs features.json with predictions");
      return now(confusionFigure(f.labels, f.predictions, {
        classes,
        title: `Confusion matrix · ${modeTitle(cfg)}, test set, epoch ${f.epoch}`,
      }));
    },
  };
}

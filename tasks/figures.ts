/** `deno task figures`: every figure of a run folder as .vl.json, .svg and .png. See --help. */
import { mkdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { numberFlag, parseFlags, ProgressBar, runTask, UsageError } from "./_cli.ts";
import type { VegaLiteSpec } from "../lib/viz/render.ts";

const HELP = `Write every figure of a run folder as .vl.json (vega-lite v5), .svg and .png.

Usage: deno task figures --run DIR [flags]

  --run DIR               a run folder of deno task train (required)
  --baseline DIR          a baseline run on the same data: Fig. 3 shows both side by side
  --out DIR               where the figures go (default DIR/figures)
  --epoch N               epoch of Fig. 4 and Fig. 5 (default: the last)
  --sample K              training index of the tracked sample of Fig. 5 and 6 (default: the most ambiguous)
  --only a,b,...          only these figures (names below)
  --perplexity P          t-SNE perplexity of Fig. 3 (default 30, less for small test sets)
  --tsne-iterations N     t-SNE iterations (default 1000)
  --synth-cache DIR       SynthFER cache folder for Fig. 1 (default data/cache/synthfer)
  -h, --help

Figures: fig1_votes (SynthFER runs), fig2_architecture, fig3_tsne, fig4_class_distributions,
fig5_fusion_example, fig6_trajectory, training_curves, attention_stats, confusion_matrix.
A figure whose inputs the run folder lacks is skipped with a note.

Exit codes: 0 done, 2 bad usage or a missing/invalid run folder (one 'error:' line), 1 failure while running.`;

/** Every figure name, in the order they are written. */
export const FIGURE_NAMES = [
  "fig1_votes",
  "fig2_architecture",
  "fig3_tsne",
  "fig4_class_distributions",
  "fig5_fusion_example",
  "fig6_trajectory",
  "training_curves",
  "attention_stats",
  "confusion_matrix",
] as const;

async function main(args: string[]): Promise<void> {
  const parsed = parseFlags(args, {
    run: { type: "string" },
    baseline: { type: "string" },
    out: { type: "string" },
    epoch: { type: "string" },
    sample: { type: "string" },
    only: { type: "string" },
    perplexity: { type: "string" },
    "tsne-iterations": { type: "string" },
    "synth-cache": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  const v = parsed.values;
  if (v.help) return console.log(HELP);
  if (parsed.positionals.length) throw new UsageError(`unexpected argument '${parsed.positionals[0]}' (see --help)`);
  if (!v.run) throw new UsageError("--run DIR is required (a run folder of deno task train); see --help");
  const epochFlag = numberFlag("epoch", v.epoch, true);
  const sampleFlag = numberFlag("sample", v.sample, true);
  const perplexityFlag = numberFlag("perplexity", v.perplexity);
  const iterationsFlag = numberFlag("tsne-iterations", v["tsne-iterations"], true);
  if (perplexityFlag !== undefined && !(perplexityFlag > 0)) throw new UsageError("--perplexity must be > 0");
  if (iterationsFlag !== undefined && iterationsFlag < 1) throw new UsageError("--tsne-iterations must be >= 1");
  const only = v.only?.split(",").map((s) => s.trim()).filter((s) => s);
  for (const name of only ?? []) {
    if (!(FIGURE_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`--only: unknown figure '${name}'; figures: ${FIGURE_NAMES.join(", ")}`);
    }
  }

  const names = FIGURE_NAMES.filter((n) => !only || only.includes(n));

  // the implementation is imported lazily, so --help and usage errors are instant
  const viz = await import("../lib/viz/mod.ts");
  const bar = new ProgressBar();
  let current = 0;
  const progress = (text: string) => bar.update(text, current / names.length);
  const { writeFileAtomic } = await import("../lib/util/files.ts");
  const { CLASSES } = await import("../lib/data/classes.ts");

  const read = (dir: string, flag: string) => {
    try {
      return viz.readRunFolder(resolve(dir));
    } catch (e) {
      if (e instanceof viz.RunFolderError) throw new UsageError(`--${flag}: ${e.message}`);
      throw e;
    }
  };
  const run = read(v.run, "run");
  const baseline = v.baseline ? read(v.baseline, "baseline") : undefined;
  const cfg = run.config;
  const classes = Array.isArray(cfg.classes) ? (cfg.classes as string[]) : [...CLASSES];
  const outDir = resolve(v.out ?? join(run.dir, "figures"));
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw new UsageError(`--out ${outDir}: cannot create the folder (${(e as Error).message})`);
  }
  if (!statSync(outDir).isDirectory()) throw new UsageError(`--out ${outDir} is not a folder`);

  // --epoch picks the record of Fig. 4 and Fig. 5 (default: the last); a figure whose file
  // lacks that epoch is skipped, and an epoch that no file has is a usage error
  const atEpoch = <T extends { epoch: number }>(records: readonly T[] | undefined): T | undefined =>
    records && (epochFlag === undefined ? records[records.length - 1] : records.find((x) => x.epoch === epochFlag));
  const range = (records: readonly { epoch: number }[] | undefined, what: string) =>
    records ? [`${what} for epochs ${records[0].epoch}..${records[records.length - 1].epoch}`] : [];
  if (epochFlag !== undefined && !atEpoch(run.classDistributions) && !atEpoch(run.tracked)) {
    const has = [...range(run.classDistributions, "class distributions"), ...range(run.tracked, "tracked samples")];
    throw new UsageError(
      `--epoch ${epochFlag}: the run has ${has.length ? has.join(" and ") : "no per-epoch records"}`,
    );
  }
  const missingEpoch = (file: string) => `${file} has no epoch ${epochFlag}`;
  const modeName = (c: Record<string, unknown>) =>
    c.mode === "adadf" ? "Ada-DF" : c.mode === "baseline" ? "Baseline" : `mode ${String(c.mode)}`;
  const pct = (x: unknown) => (typeof x === "number" ? `test ${(100 * x).toFixed(1)} %` : undefined);

  // Fig. 5 and 6 show the same tracked sample
  let sampleIndex: number | undefined;
  if (run.tracked) {
    const rec = atEpoch(run.tracked) ?? run.tracked[run.tracked.length - 1];
    if (sampleFlag !== undefined) {
      if (!rec.samples.some((s) => s.index === sampleFlag)) {
        throw new UsageError(
          `--sample ${sampleFlag} is not tracked; tracked training indices: ${
            rec.samples.map((s) => s.index).join(", ")
          }`,
        );
      }
      sampleIndex = sampleFlag;
    } else if (rec.samples.length) sampleIndex = viz.pickTrackedSample(rec.samples);
  }

  type Maker = () => Promise<VegaLiteSpec | string>; // a string: skipped, and why
  const makers: Record<(typeof FIGURE_NAMES)[number], Maker> = {
    fig1_votes: async () => {
      if (cfg.dataset !== "synth") {
        return `needs SynthFER's simulated votes (this run's data set: ${String(cfg.dataset)})`;
      }
      const { loadSynthFer, faceSvg } = await import("../lib/data/synthfer.ts");
      const synth = (cfg.synth ?? {}) as Record<string, unknown>;
      const ds = await loadSynthFer({
        ...synth,
        imageSize: typeof cfg.imageSize === "number" ? cfg.imageSize : undefined,
        ...(v["synth-cache"] ? { cacheDir: resolve(v["synth-cache"]) } : {}),
      });
      const te = ds.test;
      const c = classes.length;
      const i = viz.pickAmbiguousFace(te.votes, c, te.trueDistributions);
      return viz.votesFigure({
        imageUrl: await viz.svgToPngDataUrl(faceSvg(te.params[i], 400)),
        votes: te.votes.subarray(i * c, (i + 1) * c),
        trueDistribution: te.trueDistributions.subarray(i * c, (i + 1) * c),
        caption: `SynthFER test face #${i}`,
      }, { classes });
    },
    fig2_architecture: () =>
      Promise.resolve(viz.architectureFigure({
        backbone: typeof cfg.backbone === "string" ? cfg.backbone : undefined,
        stemFrozen: typeof cfg.stemFrozen === "boolean" ? cfg.stemFrozen : undefined,
        featureDim: run.features?.shape[1],
        imageSize: typeof cfg.imageSize === "number" ? cfg.imageSize : undefined,
        attentionOn: typeof cfg.attentionOn === "string" ? cfg.attentionOn : undefined,
      })),
    fig3_tsne: async () => {
      if (!run.features) return "needs features.npy and features.json";
      const { tsne, knnAccuracy } = await import("../lib/analysis/mod.ts");
      const runs = baseline ? [baseline, run] : [run];
      const panels = [];
      let info = "";
      for (const r of runs) {
        if (!r.features) throw new UsageError(`--baseline ${r.dir} has no features.npy/features.json`);
        const [n, d] = r.features.shape;
        const perplexity = perplexityFlag ?? Math.min(30, Math.max(1, Math.floor((n - 1) / 3)));
        const res = await tsne(r.features.data, [n, d], {
          perplexity,
          iterations: iterationsFlag,
          seed: 1,
          onProgress: (it, total) => progress(`fig3_tsne: t-SNE of ${modeName(r.config)} ${it}/${total}`),
        });
        const knn = knnAccuracy(res.embedding, r.features.labels, Math.min(10, n - 1));
        panels.push({
          title: modeName(r.config),
          embedding: res.embedding,
          labels: r.features.labels,
          note: [pct(r.summary?.testAccuracy), `10-NN ${(100 * knn).toFixed(1)} %`].filter((s) => s).join(", "),
        });
        info = `perplexity ${perplexity}, ${res.iterations} iterations`;
      }
      return viz.tsneFigure(panels, {
        classes,
        subtitle: `each point is one test face (epoch ${run.features.epoch}), coloured by its label; ${info}`,
      });
    },
    fig4_class_distributions: () => {
      if (!run.classDistributions) return Promise.resolve("needs class_distributions.jsonl");
      const rec = atEpoch(run.classDistributions);
      if (!rec) return Promise.resolve(missingEpoch("class_distributions.jsonl"));
      return Promise.resolve(
        viz.classDistributionsFigure(rec, {
          classes,
          threshold: typeof cfg.threshold === "number" ? cfg.threshold : undefined,
        }),
      );
    },
    fig5_fusion_example: () => {
      if (!run.tracked || sampleIndex === undefined) return Promise.resolve("needs tracked.jsonl with samples");
      const rec = atEpoch(run.tracked);
      if (!rec) return Promise.resolve(missingEpoch("tracked.jsonl"));
      const s = rec.samples.find((x) => x.index === sampleIndex);
      if (!s) return Promise.resolve(`sample ${sampleIndex} is not tracked at epoch ${rec.epoch}`);
      return Promise.resolve(viz.fusionExampleFigure(s, { classes, epoch: rec.epoch }));
    },
    fig6_trajectory: () => {
      if (!run.tracked || sampleIndex === undefined) return Promise.resolve("needs tracked.jsonl with samples");
      return Promise.resolve(viz.trajectoryFigure(run.tracked, sampleIndex, { classes }));
    },
    training_curves: () =>
      Promise.resolve(viz.trainingCurvesFigure(run.metrics, { title: `Training curves · ${modeName(cfg)}` })),
    attention_stats: () => {
      if (!run.attention) return Promise.resolve("needs attention.jsonl");
      return Promise.resolve(viz.attentionStatsFigure(run.attention, { classes }));
    },
    confusion_matrix: () => {
      const f = run.features;
      if (!f?.predictions) return Promise.resolve("needs features.json with predictions");
      return Promise.resolve(viz.confusionFigure(f.labels, f.predictions, {
        classes,
        title: `Confusion matrix · ${modeName(cfg)}, test set, epoch ${f.epoch}`,
      }));
    },
  };

  const written: [string, number][] = [];
  const skipped: string[] = [];
  for (const [k, name] of names.entries()) {
    const t0 = performance.now();
    current = k;
    bar.update(`[${k + 1}/${names.length}] ${name}`, k / names.length, true);
    const spec = await makers[name]();
    if (typeof spec === "string") {
      skipped.push(`${name}: ${spec}`);
      bar.done(`[${k + 1}/${names.length}] ${name}: skipped, ${spec}`);
      continue;
    }
    const fig = await viz.renderFigure(spec);
    const files: [string, string | Uint8Array][] = [
      [`${name}.vl.json`, JSON.stringify(fig.spec, null, 1) + "\n"],
      [`${name}.svg`, fig.svg],
      [`${name}.png`, fig.png],
    ];
    for (const [file, data] of files) {
      const path = join(outDir, file);
      writeFileAtomic(path, data);
      written.push([path, typeof data === "string" ? new TextEncoder().encode(data).length : data.length]);
    }
    bar.done(`[${k + 1}/${names.length}] ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  console.log(`wrote ${written.length} files to ${outDir}:`);
  for (const [path, bytes] of written) console.log(`  ${path}  ${(bytes / 1024).toFixed(1)} KiB`);
  for (const s of skipped) console.log(`skipped ${s}`);
}

if (import.meta.main) await runTask(main);

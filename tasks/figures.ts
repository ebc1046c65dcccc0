/** `deno task figures`: every figure of a run folder as .vl.json, .svg and .png. See --help. */
import { mkdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { numberFlag, parseFlags, ProgressBar, runTask, UsageError } from "./_cli.ts";
import { FIGURE_NAMES } from "../lib/viz/figure_names.ts";

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
fig5_fusion_example, fig6_trajectory, training_curves, attention_stats, confusion_matrix,
nearest_target and attention_roc (runs on data with true distributions: distributions.jsonl).
A figure whose inputs the run folder lacks is skipped with a note.

Exit codes: 0 done, 2 bad usage or a missing/invalid run folder (one 'error:' line), 1 failure while running.`;

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
  const { readRunFolder, RunFolderError } = await import("../lib/run/reader.ts");
  const bar = new ProgressBar();
  let current = 0;
  const { writeFileAtomic } = await import("../lib/util/files.ts");

  const read = (dir: string, flag: string) => {
    try {
      return readRunFolder(resolve(dir));
    } catch (e) {
      if (e instanceof RunFolderError) throw new UsageError(`--${flag}: ${e.message}`);
      throw e;
    }
  };
  const run = read(v.run, "run");
  const baseline = v.baseline ? read(v.baseline, "baseline") : undefined;
  if (baseline && !baseline.features) {
    throw new UsageError(`--baseline ${baseline.dir} has no features.npy/features.json`);
  }
  const outDir = resolve(v.out ?? join(run.dir, "figures"));
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw new UsageError(`--out ${outDir}: cannot create the folder (${(e as Error).message})`);
  }
  if (!statSync(outDir).isDirectory()) throw new UsageError(`--out ${outDir} is not a folder`);

  let makers: ReturnType<typeof viz.figureRecipes>;
  try {
    makers = viz.figureRecipes(run, {
      baseline,
      epoch: epochFlag,
      sample: sampleFlag,
      perplexity: perplexityFlag,
      tsneIterations: iterationsFlag,
      synthCacheDir: v["synth-cache"] ? resolve(v["synth-cache"]) : undefined,
      onProgress: (text) => bar.update(text, current / names.length),
    });
  } catch (e) {
    if (e instanceof viz.FigureRecipeError) throw new UsageError(e.message);
    throw e;
  }

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

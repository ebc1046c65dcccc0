/**
 * Figures: builders that turn run-folder records into vega-lite v5 specs (pure, no I/O),
 * and one rendering layer (spec to SVG, PNG and the Deno Jupyter display bundle). The records
 * they draw and the run folder's readers are lib/run's (records.ts, reader.ts).
 *
 * @example
 * ```ts
 * import { figureBundle, fusionExampleFigure } from "./mod.ts";
 * const d = [0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1];
 * const spec = fusionExampleFigure({ index: 3, label: 3, labelDistribution: d, classDistribution: d, fused: d, w: 0.4 });
 * const bundle = await figureBundle(spec); // vega-lite + PNG + text; displayFigure(spec) shows it in a notebook
 * if (!(bundle.metadata["image/png"].width > 0)) throw new Error("no CSS size");
 * ```
 *
 * @module
 */
export { CLASS_COLORS, classColorScale, FONT, SERIES_COLORS, VEGA_LITE_SCHEMA } from "./palette.ts";
export {
  compileSpec,
  DEFAULT_DENSITY,
  type DisplayBundle,
  displayFigure,
  displayOutput,
  type FigureBundle,
  figureBundle,
  imageBundle,
  type ImageBundleOptions,
  markdownBundle,
  pngSize,
  renderFigure,
  type RenderOptions,
  renderPng,
  renderSvg,
  svgToPng,
  toDisplayBundle,
  type VegaLiteSpec,
  withDefaults,
} from "./render.ts";
export { pickAmbiguousFace, rgbToPngDataUrl, svgToPngDataUrl, type VotedFace, votesFigure } from "./fig1_votes.ts";
export { architectureFigure, type ArchitectureFigureOptions } from "./fig2_architecture.ts";
export { tsneFigure, type TsnePanel } from "./fig3_tsne.ts";
export { classDistributionsFigure } from "./fig4_class_distributions.ts";
export { fusionExampleFigure, pickTrackedSample } from "./fig5_fusion_example.ts";
export { trajectoryFigure } from "./fig6_trajectory.ts";
export { trainingCurvesFigure } from "./curves.ts";
export { attentionStatsFigure } from "./attention_stats.ts";
export { confusionFigure, confusionMatrix } from "./confusion.ts";
export { attentionRocFigure, nearestTargetFigure } from "./fig_measures.ts";
export {
  FIGURE_NAMES,
  type FigureName,
  FigureRecipeError,
  type FigureRecipeOptions,
  figureRecipes,
  modeTitle,
  tsneComparison,
  type TsneRun,
} from "./recipes.ts";

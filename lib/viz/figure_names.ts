/**
 * The names of the figures `deno task figures` writes, in order (a module of its own so that
 * the task's flag checks load no rendering code).
 * @module
 */

/** Every figure name, in the order `deno task figures` writes them. */
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
  "nearest_target",
  "attention_roc",
] as const;
export type FigureName = typeof FIGURE_NAMES[number];

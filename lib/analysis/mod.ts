/**
 * Post-hoc analysis: t-SNE of feature vectors (Figure 3) and measures of an embedding.
 *
 * - {@linkcode tsne}: the fast Barnes-Hut engine (default) or `tsne-js`.
 * - {@linkcode tsneAffinities}: the input affinities P; {@linkcode klDivergence}: exact KL(P || Q).
 * - {@linkcode knnAccuracy}: leave-one-out k-NN class accuracy in an embedding.
 *
 * @module
 */
export { tsne, TSNE_DEFAULTS, type TsneOptions, type TsneResult } from "./tsne.ts";
export {
  DEFAULT_PERPLEXITY,
  neighbourCount,
  type TsneAffinities,
  tsneAffinities,
  type TsneAffinitiesOptions,
  validateTsneInput,
} from "./tsne_affinities.ts";
export { klDivergence, knnAccuracy } from "./tsne_quality.ts";

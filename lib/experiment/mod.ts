/**
 * Experiments: the paper's tables as plans of ordinary runs (plan.ts), run locally or as a
 * Slurm job array (runner.ts), and their result tables (results.ts).
 *
 * @example
 * ```ts
 * import { planExperiment } from "./mod.ts";
 * const plan = planExperiment("noise", { seeds: 1, quick: true });
 * if (plan.runs.map((r) => r.layer.noise).join() !== "0,0,0.1,0.1,0.2,0.2,0.3,0.3") throw new Error("Table 4's rates");
 * ```
 * @module
 */
export * from "./plan.ts";
export * from "./results.ts";
export * from "./runner.ts";

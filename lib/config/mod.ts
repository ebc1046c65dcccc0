/**
 * Configuration: one typed `TrainConfig` with named defaults, the data set presets, the
 * data-only `DataConfig`, and the flag table every task's `--help`, parser and mapping come
 * from. Loads no TF.js.
 *
 * @example Layers: defaults < data set preset < file < flags, validated once
 * ```ts
 * import { flagsToLayer, resolveConfig, TRAIN_FLAGS } from "./mod.ts";
 * const cfg = resolveConfig({ epochs: 3 }, flagsToLayer(TRAIN_FLAGS, { mode: "baseline" }));
 * if (cfg.epochs !== 3 || cfg.mode !== "baseline") throw new Error("layers");
 * ```
 * @module
 */
export * from "../config.ts";
export * from "./flags.ts";
export * from "./presets.ts";

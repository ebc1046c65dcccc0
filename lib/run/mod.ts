/**
 * Run folders: training into one (`runTraining`, resumable `resumeTraining`), the one set of
 * record types, the typed config.json round trip, checkpoints, reading a folder back, and the
 * cached runs notebooks share.
 *
 * @example The records a run folder holds, read back
 * ```ts
 * import { RunFolderError, readRunFolder } from "./mod.ts";
 * let missing = false;
 * try { readRunFolder("/nonexistent/run"); } catch (e) { missing = e instanceof RunFolderError; }
 * if (!missing) throw new Error("a missing folder is a RunFolderError");
 * ```
 * @module
 */
export type {
  AttentionRecord,
  ClassDistributionRecord,
  EpochMetrics,
  FeaturesFile,
  MetricsRecord,
  RunSummary,
  TrackedRecord,
  TrackedSample,
  TrackedSampleRecord,
} from "./records.ts";
export {
  readAttention,
  readClassDistributions,
  readDistributions,
  readFeatures,
  readMetrics,
  readRunFolder,
  readTracked,
  type RunFolder,
  RunFolderError,
} from "./reader.ts";
export { readRunConfig, readRunConfigJson, runConfigFromJson, type RunConfigJson } from "./config_json.ts";
export {
  configDifference,
  defaultRunDir,
  resumeTraining,
  type RunEvent,
  type RunOptions,
  runTraining,
} from "./training_run.ts";
export { claimRunFolder } from "./writer.ts";
export { checkpointDigest, listCheckpoints, loadLatestCheckpoint, readCheckpoint } from "./checkpoint.ts";
export {
  cachedRun,
  cachedRunWithProgress,
  cacheKey,
  NOTEBOOK_PRESET,
  notebookProgress,
  type ProgressSink,
} from "./cached_run.ts";

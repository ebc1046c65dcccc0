/** `deno task eval`: accuracy, per-class accuracy and the confusion matrix of a trained model on a test split. */
import { modelSourceFlags, parseFlags, ProgressBar, runTask, UsageError } from "./_cli.ts";
import {
  type BackendName,
  BACKENDS,
  ConfigError,
  type DataConfig,
  type DataLayer,
  DEFAULT_CONFIG,
  type Layer,
  resolveDataConfig,
  type TrainConfig,
} from "../lib/config.ts";
import { flagOptions, flagsToLayer, helpText, pickFlags } from "../lib/config/flags.ts";

/** eval's flags: its own, then the data-set flags of the table (lib/config/flags.ts) with eval's meaning. */
export const EVAL_FLAGS = pickFlags([
  "run",
  "which",
  "weights",
  "checkpoint-classes",
  "dataset",
  "data-path",
  "image-size",
  "ten-crop",
  "cache",
  "affectnet-classes",
  "batch-size",
  "backend",
  "json",
  "quiet",
  "help",
], {
  "run": {
    kind: "string",
    value: "DIR",
    help: "a run folder: its config.json decides the data set, input size and TenCrop\n" +
      "unless the flags below override them",
  },
  "which": {
    kind: "string",
    value: "last|best",
    help: "which weights of the run (default last: weights_last.safetensors)",
  },
  "weights": {
    kind: "string",
    value: "FILE",
    help: "a weights file instead: a run's weights_*.safetensors, a toolkit export, or an\n" +
      "official Ada-DF checkpoint (.pth.tar; its input size defaults to the code's 224)",
  },
  "checkpoint-classes": {
    kind: "string",
    value: "raf-db|affectnet|sfew",
    help: "the data set an official checkpoint was trained on, whose\n" +
      "own class order its outputs follow (default: --dataset if affectnet or sfew, else raf-db)",
  },
  "dataset": { help: "(default: the run's, else synth)" },
  "data-path": { help: "where the data set lies (default: the run's)" },
  "image-size": { help: "the model's input size (default: the run's or the file's record)" },
  "ten-crop": { help: "mean of the ten crops' logits at test time (default true for sfew)" },
  "cache": { help: "where decoded faces live (default: the run's, else auto)" },
  "affectnet-classes": { help: "AffectNet-7 or 8 (default: the run's, else 7)" },
  "batch-size": { help: "images per forward pass (default 64)", showDefault: undefined },
  "backend": { help: "", showDefault: undefined },
  "json": { kind: "switch", help: "print {accuracy, perClassAccuracy, confusion, count, dataset, weights, ...}" },
});

const HELP = helpText({
  title: "Evaluate a trained Ada-DF model (target branch) on a data set's test split.",
  usage: "deno task eval (--run DIR | --weights FILE) [dataset flags] [--json]",
  flags: EVAL_FLAGS,
});

/** What eval runs with: the data set to load (data settings only), the forward pass's batch size and the backend. */
export interface EvalSettings {
  data: DataConfig;
  /** images per forward pass; only speed depends on it */
  batchSize: number;
  backend: BackendName;
}

/**
 * The data settings: the run's (unless --dataset names another), then the flags (`run`
 * undefined: the flags alone, to check them before the heavy imports); and the batch size and
 * backend of the flags.
 */
export function evalConfig(
  run: TrainConfig | undefined,
  v: Record<string, string | boolean | undefined>,
  modelSize: number | undefined,
): EvalSettings {
  let flags: Layer;
  try {
    flags = flagsToLayer(EVAL_FLAGS, v);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  if (flags.imageSize === undefined && modelSize !== undefined) flags.imageSize = modelSize;
  const { batchSize = 64, backend = run?.backend ?? DEFAULT_CONFIG.backend, ...dataFlags } = flags;
  const same = run !== undefined && (flags.dataset === undefined || flags.dataset === run.dataset);
  const base: DataLayer = same
    ? {
      dataset: run.dataset,
      dataPath: run.dataPath,
      tenCrop: run.tenCrop,
      cache: run.cache,
      affectnetClasses: run.affectnetClasses,
      synth: run.synth,
    }
    : {};
  try {
    const data = resolveDataConfig(base, dataFlags as DataLayer);
    if (!BACKENDS.includes(backend)) {
      throw new UsageError(`backend must be one of ${BACKENDS.join(", ")}, got '${backend}'`);
    }
    if (batchSize < 1) throw new UsageError(`--batch-size must be >= 1, got ${batchSize}`);
    return { data, batchSize, backend };
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

async function main(args: string[]) {
  const parsed = parseFlags(args, flagOptions(EVAL_FLAGS));
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) return console.log(HELP);
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument '${parsed.positionals[0]}'; eval takes flags only (see --help)`);
  }
  const source = modelSourceFlags(v, v.dataset === "affectnet" || v.dataset === "sfew" ? v.dataset : "raf-db");
  // check the flags before the heavy imports
  const flagsOnly = evalConfig(undefined, v, undefined);

  const { initBackend } = await import("../lib/backend/backend.ts");
  const { loadTrainedModel, OFFICIAL_IMAGE_SIZE } = await import("../lib/infer/trained_model.ts");
  const { loadData } = await import("../lib/data/load.ts");
  const { evaluateModel, formatEvaluation } = await import("../lib/infer/evaluate.ts");
  const json = v.json === true;
  const quiet = v.quiet === true || json;
  const bar = new ProgressBar();
  const log = (m: string) => {
    if (!json) console.error(m);
  };

  // the backend first: the weights are loaded onto it
  const choice = await initBackend(v.backend !== undefined ? flagsOnly.backend : "auto");
  // printed once the inputs are known to be good: bad input gives one error: line only
  const backendLine = `backend: ${choice.backend} (${choice.reason})`;
  const model = await loadTrainedModel(source, { onNotice: log });
  model.net.kernels = choice.layerKernels;
  try {
    const { data: cfg, batchSize } = evalConfig(
      model.runConfig,
      v,
      model.imageSize ?? (model.kind === "adadf" ? OFFICIAL_IMAGE_SIZE : undefined),
    );
    const data = await loadData(cfg, {
      log,
      onProgress: (done, total, phase) => {
        if (!quiet) bar.update(`${phase === "decode" ? "decoding faces" : phase}: ${done}/${total}`, done / total);
      },
      testOnly: true,
    });
    try {
      if (data.numClasses !== model.net.config.numClasses) {
        throw new RangeError(
          `the model has ${model.net.config.numClasses} classes, the data set ${data.numClasses} (${
            data.classes.join(", ")
          })`,
        );
      }
      if (!quiet) bar.done(`${cfg.dataset}: ${data.test.labels.length} test images`);
      log(backendLine);
      const tenCrop = cfg.tenCrop ? cfg.imageSize : undefined;
      const report = await evaluateModel(model.net, data.test, {
        imageSize: data.imageSize,
        batchSize,
        classes: data.classes,
        tenCrop,
      });
      if (json) {
        console.log(JSON.stringify({
          ...report,
          dataset: cfg.dataset,
          dataPath: cfg.dataPath,
          weights: model.weightsPath,
          classes: data.classes,
          imageSize: cfg.imageSize,
          tenCrop: cfg.tenCrop,
          backend: choice.backend,
        }));
      } else {
        console.log(
          `${cfg.dataset} test split, ${model.weightsPath}, input ${cfg.imageSize}x${cfg.imageSize}${
            tenCrop ? ", TenCrop" : ""
          }\n`,
        );
        console.log(formatEvaluation(report, data.classes));
      }
    } finally {
      data.close();
    }
  } finally {
    model.net.dispose();
  }
}

if (import.meta.main) await runTask(main);

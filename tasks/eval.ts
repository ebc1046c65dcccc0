/** `deno task eval`: accuracy, per-class accuracy and the confusion matrix of a trained model on a test split. */
import { boolFlag, modelSourceFlags, numberFlag, parseFlags, ProgressBar, runTask, UsageError } from "./_cli.ts";
import { ConfigError, DATASETS, resolveConfig, type TrainConfig } from "../lib/config.ts";

const HELP = `Evaluate a trained Ada-DF model (target branch) on a data set's test split.

Usage: deno task eval (--run DIR | --weights FILE) [dataset flags] [--json]

  --run DIR                a run folder: its config.json decides the data set, input size and TenCrop
                           unless the flags below override them
  --which last|best        which weights of the run (default last: weights_last.safetensors)
  --weights FILE           a weights file instead: a run's weights_*.safetensors, a toolkit export, or an
                           official Ada-DF checkpoint (.pth.tar; its input size defaults to the code's 224)
  --checkpoint-classes raf-db|affectnet|sfew   the data set an official checkpoint was trained on, whose
                           own class order its outputs follow (default: --dataset if affectnet or sfew, else raf-db)
  --dataset ${DATASETS.join("|")}   (default: the run's, else synth)
  --data-path DIR          where the data set lies (default: the run's)
  --image-size S           the model's input size (default: the run's or the file's record)
  --ten-crop true|false    mean of the ten crops' logits at test time (default true for sfew)
  --cache memory|disk|auto   --affectnet-classes 7|8
  --batch-size N           images per forward pass (default 64)
  --backend auto|tensorflow|webgpu|wasm|cpu
  --json                   print {accuracy, perClassAccuracy, confusion, count, dataset, weights, ...}
  --quiet                  no progress bar
  -h, --help

Exit codes: 0 done, 2 bad usage or input (one 'error:' line), 1 failure while running.`;

const STRING_FLAGS = [
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
];

/** The data-set part of a configuration: the run's (unless --dataset names another), then the flags. */
function evalConfig(
  run: TrainConfig | undefined,
  v: Record<string, string | boolean | undefined>,
  modelSize: number | undefined,
): TrainConfig {
  const s = (k: string) => v[k] as string | undefined;
  const flags: Record<string, unknown> = {
    dataset: s("dataset"),
    dataPath: s("data-path"),
    imageSize: numberFlag("image-size", s("image-size"), true) ?? modelSize,
    tenCrop: boolFlag("ten-crop", s("ten-crop")),
    cache: s("cache"),
    affectnetClasses: numberFlag("affectnet-classes", s("affectnet-classes"), true),
    batchSize: numberFlag("batch-size", s("batch-size"), true),
    backend: s("backend"),
  };
  for (const k of Object.keys(flags)) if (flags[k] === undefined) delete flags[k];
  let base: Record<string, unknown> = {};
  if (run !== undefined) {
    const same = flags.dataset === undefined || flags.dataset === run.dataset;
    base = same
      ? {
        dataset: run.dataset,
        dataPath: run.dataPath,
        tenCrop: run.tenCrop,
        cache: run.cache,
        affectnetClasses: run.affectnetClasses,
        synth: run.synth,
        backend: run.backend,
      }
      : { backend: run.backend };
  }
  try {
    // batch size only matters for speed here; the rank-group check of training must not refuse it
    const cfg = resolveConfig(base as Partial<TrainConfig>, { ...flags, batchSize: 64 } as Partial<TrainConfig>);
    const batchSize = (flags.batchSize as number | undefined) ?? 64;
    if (batchSize < 1) throw new UsageError(`--batch-size must be >= 1, got ${batchSize}`);
    return { ...cfg, batchSize, noise: 0, noiseFile: null };
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

async function main(args: string[]) {
  const options = Object.fromEntries(STRING_FLAGS.map((f) => [f, { type: "string" as const }]));
  const parsed = parseFlags(args, {
    ...options,
    json: { type: "boolean" },
    quiet: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) return console.log(HELP);
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument '${parsed.positionals[0]}'; eval takes flags only (see --help)`);
  }
  const source = modelSourceFlags(v, v.dataset === "affectnet" || v.dataset === "sfew" ? v.dataset : "raf-db");
  // check the flags before the heavy imports
  const flagsOnly = evalConfig(undefined, v, undefined);

  const { initBackend } = await import("../lib/backend/backend.ts");
  const { loadTrainedModel, OFFICIAL_IMAGE_SIZE } = await import("../lib/train/trained_model.ts");
  const { loadData } = await import("../lib/train/run.ts");
  const { evaluateModel, formatEvaluation } = await import("../lib/train/evaluate.ts");
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
  try {
    const cfg = evalConfig(
      model.runConfig,
      v,
      model.imageSize ?? (model.kind === "adadf" ? OFFICIAL_IMAGE_SIZE : undefined),
    );
    const data = await loadData(cfg, log, (done, total, phase) => {
      if (!quiet) bar.update(`${phase === "decode" ? "decoding faces" : phase}: ${done}/${total}`, done / total);
    }, { testOnly: true });
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
        batchSize: cfg.batchSize,
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

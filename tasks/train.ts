/** `deno task train`: train Ada-DF (or an ablation) and write a run folder. See --help. */
import { existsSync, readFileSync } from "node:fs";
import { boolFlag, numberFlag, parseFlags, ProgressBar, runTask, UsageError } from "./_cli.ts";
import { ConfigError, resolveConfig, type TrainConfig } from "../lib/config.ts";
import type { RunEvent } from "../lib/train/run.ts";

const HELP = `Train Ada-DF and write a run folder.

Usage: deno task train [flags]

  --dataset synth|raf-db|affectnet|sfew|fer2013|ferplus|folder   (default synth, generated)
                           a data set brings its published t, beta, batch size, sampling, TenCrop
                           (raf-db t .7 beta 3; affectnet t .5 beta 5, class-balanced epochs;
                           sfew t .5 beta 5, batch 16, TenCrop 224 from 256); flags override them
  --data-path DIR          where a real data set lies, in its distributed layout (data/README.md)
  --cache memory|disk|auto where decoded faces live (auto: memory under 2 GiB; disk: data/cache/datasets)
  --affectnet-classes 7|8  AffectNet-7 (default, contempt dropped) or 8
  --balanced-sampling true|false   class-balanced epochs (default true for affectnet)
  --ten-crop true|false    TenCrop in training and at test time (default true for sfew)
  --mode adadf|baseline|class|label   the method or an ablation row of Table 2 (default adadf)
  --backbone resnet18|resnet50        (default resnet18)
  --width N                channels of conv1/layer1 (64 = torchvision; SynthFER default 16)
  --epochs N  --batch-size N  --lr X  --lr-gamma X
  --threshold T  --beta B  --min-weight W  --max-weight W  --margin D  --tops F
  --threshold-rows paper|code   --detach-targets true|false   --attention-on logits|features
  --image-size S           model input size (default 100; SynthFER 48; SFEW 224, the crop of a 256 face)
  --freeze-stem true|false|auto   (auto: frozen with pretrained weights, trained from random ones)
  --noise RATE             flip this fraction of training labels per class (seeded)
  --noise-file FILE        a noisy label list (EAC's EmoLabel/noise01.txt format) for the training images
  --pretrained FILE        start from weights: a ResNet state_dict (resnet18_msceleb.pth), an official
                           Ada-DF checkpoint, or a toolkit .safetensors; the stem is then frozen
  --seed N                 (default 1)
  --backend auto|tensorflow|webgpu|wasm|cpu   (default auto)
  --synth-seed N (data set seed, default 0)  --synth-train N  --synth-test N  --synth-annotators K  --synth-ambiguous F  --synth-difficulty easy|normal
  --out DIR                run folder (default runs/<dataset>-<mode>-s<seed>-<time>)
  --resume DIR             continue a run from its last complete epoch, with its own config.json (Ctrl-C
                           stops a run after the current step and prints this command)
  --config FILE.json       a configuration file (defaults < file < flags)
  --quiet                  no progress bar
  -h, --help

Exit codes: 0 done, 2 bad usage or input (one 'error:' line), 1 failure while running.`;

function flagsToLayer(v: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const s = (k: string) => v[k] as string | undefined;
  const layer: Record<string, unknown> = {
    dataset: s("dataset"),
    dataPath: s("data-path"),
    mode: s("mode"),
    backbone: s("backbone"),
    width: numberFlag("width", s("width"), true),
    epochs: numberFlag("epochs", s("epochs"), true),
    batchSize: numberFlag("batch-size", s("batch-size"), true),
    lr: numberFlag("lr", s("lr")),
    lrGamma: numberFlag("lr-gamma", s("lr-gamma")),
    threshold: numberFlag("threshold", s("threshold")),
    beta: numberFlag("beta", s("beta")),
    minWeight: numberFlag("min-weight", s("min-weight")),
    maxWeight: numberFlag("max-weight", s("max-weight")),
    margin: numberFlag("margin", s("margin")),
    tops: numberFlag("tops", s("tops")),
    thresholdRows: s("threshold-rows"),
    detachTargets: boolFlag("detach-targets", s("detach-targets")),
    attentionOn: s("attention-on"),
    imageSize: numberFlag("image-size", s("image-size"), true),
    noise: numberFlag("noise", s("noise")),
    noiseFile: s("noise-file"),
    cache: s("cache"),
    affectnetClasses: numberFlag("affectnet-classes", s("affectnet-classes"), true),
    balancedSampling: boolFlag("balanced-sampling", s("balanced-sampling")),
    tenCrop: boolFlag("ten-crop", s("ten-crop")),
    seed: numberFlag("seed", s("seed"), true),
    backend: s("backend"),
    pretrained: s("pretrained"),
    out: s("out"),
  };
  const fs = s("freeze-stem");
  if (fs !== undefined) layer.freezeStem = fs === "auto" ? "auto" : boolFlag("freeze-stem", fs);
  const synth: Record<string, unknown> = {
    seed: numberFlag("synth-seed", s("synth-seed"), true),
    trainSize: numberFlag("synth-train", s("synth-train"), true),
    testSize: numberFlag("synth-test", s("synth-test"), true),
    annotators: numberFlag("synth-annotators", s("synth-annotators"), true),
    ambiguousFraction: numberFlag("synth-ambiguous", s("synth-ambiguous")),
    difficulty: s("synth-difficulty"),
  };
  for (const k of Object.keys(synth)) if (synth[k] === undefined) delete synth[k];
  if (Object.keys(synth).length > 0) layer.synth = synth;
  for (const k of Object.keys(layer)) if (layer[k] === undefined) delete layer[k];
  return layer;
}

const STRING_FLAGS = [
  "dataset",
  "data-path",
  "mode",
  "backbone",
  "width",
  "epochs",
  "batch-size",
  "lr",
  "lr-gamma",
  "threshold",
  "beta",
  "min-weight",
  "max-weight",
  "margin",
  "tops",
  "threshold-rows",
  "detach-targets",
  "attention-on",
  "image-size",
  "freeze-stem",
  "noise",
  "noise-file",
  "cache",
  "affectnet-classes",
  "balanced-sampling",
  "ten-crop",
  "seed",
  "backend",
  "pretrained",
  "out",
  "resume",
  "config",
  "synth-train",
  "synth-test",
  "synth-seed",
  "synth-annotators",
  "synth-ambiguous",
  "synth-difficulty",
];

async function main(args: string[]) {
  const options = Object.fromEntries(STRING_FLAGS.map((f) => [f, { type: "string" as const }]));
  const parsed = parseFlags(args, {
    ...options,
    quiet: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const positionals = parsed.positionals;
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument '${positionals[0]}'; train takes flags only (see --help)`);
  }
  let fileLayer: Partial<TrainConfig> = {};
  if (values.config !== undefined) {
    const path = values.config as string;
    if (!existsSync(path)) throw new UsageError(`--config file ${path} does not exist`);
    try {
      fileLayer = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      throw new UsageError(`--config file ${path} is not valid JSON (${(e as Error).message})`);
    }
    if (typeof fileLayer !== "object" || fileLayer === null || Array.isArray(fileLayer)) {
      throw new UsageError(`--config file ${path} must hold a JSON object of configuration keys`);
    }
  }
  let cfg: TrainConfig;
  try {
    cfg = resolveConfig(fileLayer, flagsToLayer(values) as Partial<TrainConfig>);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  // the heavy imports only once the flags are known to be good
  const { runTraining, resumeTraining, defaultRunDir, readRunConfig } = await import("../lib/train/run.ts");
  const resumeDir = values.resume as string | undefined;
  if (resumeDir !== undefined) {
    const others = args.filter((a) => a.startsWith("--") && !["--resume", "--quiet"].includes(a.split("=")[0]));
    if (others.length > 0) {
      throw new UsageError(`--resume continues a run with its own config.json; drop ${others[0]}`);
    }
  }
  const out = resumeDir ?? cfg.out ?? defaultRunDir(cfg);
  let epochs = String(cfg.epochs);
  if (resumeDir !== undefined) {
    try {
      epochs = String(readRunConfig(resumeDir).epochs);
    } catch {
      epochs = "?"; // resumeTraining reports what is wrong with the folder
    }
  }
  const bar = new ProgressBar();
  const quiet = values.quiet === true;
  // named once training starts: bad input (data, weights, folder) is one error: line with no folder
  let announced = false;
  const announce = () => {
    if (announced) return;
    announced = true;
    bar.done(`run folder: ${out}`);
  };
  // Ctrl-C: stop after the current step (the epoch is redone on resume); a second one quits at once
  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) Deno.exit(130);
    stopRequested = true;
    bar.done("stopping after this step (Ctrl-C again to quit at once)");
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const fault = Deno.env.get("ADADF_FAULT_NAN_AT_EPOCH");
  const runOptions = {
    shouldStop: () => stopRequested,
    faultNanAtEpoch: fault !== undefined ? Number(fault) : undefined,
    onEvent: (e: RunEvent) => {
      if (e.type === "phase" || e.type === "step" || e.type === "epoch") announce();
      if (e.type === "log") console.error(e.message);
      else if (e.type === "load" && !quiet) {
        const what = e.phase === "generate"
          ? "generating SynthFER faces"
          : e.phase === "decode"
          ? "decoding faces"
          : e.phase === "check"
          ? "finding the image files"
          : "reading the labels";
        bar.update(`${what}: ${e.done}/${e.total}`, e.total > 0 ? e.done / e.total : 1, e.done === e.total);
        if (e.phase === "decode" && e.done === e.total) bar.done(`decoded ${e.total} faces`);
      } else if (e.type === "step" && !quiet) {
        bar.update(
          `epoch ${e.epoch}/${epochs} step ${e.step}/${e.steps} loss ${e.loss.toFixed(4)} acc ${
            (e.accuracy * 100).toFixed(1)
          }%`,
          e.step / e.steps,
          e.step === e.steps,
        );
      } else if (e.type === "phase" && e.phase !== "train" && !quiet) {
        bar.update(
          `epoch ${e.epoch}/${epochs} ${e.phase === "mine" ? "mining class distributions" : "testing"}`,
          1,
          true,
        );
      } else if (e.type === "epoch") {
        const m = e.metrics;
        bar.done(
          `epoch ${m.epoch}/${epochs}  loss ${m.loss.toFixed(4)} (ce ${m.lossCe.toFixed(3)} kld ${
            m.lossKld.toFixed(3)
          } rr ${m.lossRr.toFixed(3)})` +
            `  a1 ${m.a1.toFixed(2)} a2 ${m.a2.toFixed(2)}  train ${(m.trainAccuracy * 100).toFixed(1)}%  test ${
              (m.testAccuracy * 100).toFixed(1)
            }%` +
            (m.testAccuracyTrue !== undefined ? ` (true ${(m.testAccuracyTrue * 100).toFixed(1)}%)` : "") +
            `  ${m.seconds.toFixed(1)} s`,
        );
      }
    },
  };
  let summary;
  try {
    summary = resumeDir !== undefined
      ? await resumeTraining(resumeDir, runOptions)
      : await runTraining(cfg, out, runOptions);
  } catch (e) {
    if ((e as Error).name === "InterruptedError") {
      const { epoch, step } = e as Error & { epoch: number; step: number };
      bar.done(
        `interrupted at epoch ${epoch}, step ${step}: epochs before ${epoch} are saved; continue with: deno task train --resume ${out}`,
      );
      Deno.exit(130);
    }
    throw e;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
  console.log(JSON.stringify({ out, ...summary }));
}

if (import.meta.main) await runTask(main);

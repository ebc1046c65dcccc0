/** `deno task train`: train Ada-DF (or an ablation) and write a run folder. See --help. */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { InputFileError, readJsonFileSync } from "../lib/util/files.ts";
import { parseFlags, ProgressBar, runTask, UsageError } from "./_cli.ts";
import { ConfigError, type Layer, resolveConfig, type TrainConfig } from "../lib/config.ts";
import { flagOptions, flagsToLayer, helpText, TRAIN_FLAGS } from "../lib/config/flags.ts";
import type { RunEvent } from "../lib/run/training_run.ts";

const HELP = helpText({
  title: "Train Ada-DF and write a run folder.",
  usage: "deno task train [flags]",
  flags: TRAIN_FLAGS,
});

/** What the command line asks for: `--help`, or a resolved configuration and the flags' values. */
export type TrainArgs =
  | { help: true }
  | { help: false; cfg: TrainConfig; values: Record<string, string | boolean | undefined> };

/**
 * Parses train's flags with the flag table (lib/config/flags.ts) and resolves the
 * configuration: defaults < the data set's preset < `--config` file < flags, validated once.
 * Throws a UsageError naming the bad flag or value. Loads no TF.js.
 */
export function parseTrainArgs(args: string[]): TrainArgs {
  const parsed = parseFlags(args, flagOptions(TRAIN_FLAGS));
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { help: true };
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument '${parsed.positionals[0]}'; train takes flags only (see --help)`);
  }
  let fileLayer: Layer = {};
  if (values.config !== undefined) {
    const path = values.config as string;
    if (!existsSync(path)) throw new UsageError(`--config file ${path} does not exist`);
    try {
      fileLayer = readJsonFileSync(path, { what: "--config file" }) as Layer; // a regular file under a size cap
    } catch (e) {
      if (e instanceof InputFileError) throw new UsageError(e.message);
      throw e;
    }
    if (typeof fileLayer !== "object" || fileLayer === null || Array.isArray(fileLayer)) {
      throw new UsageError(`--config file ${path} must hold a JSON object of configuration keys`);
    }
  }
  try {
    return { help: false, cfg: resolveConfig(fileLayer, flagsToLayer(TRAIN_FLAGS, values)), values };
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

async function main(args: string[]) {
  const parsed = parseTrainArgs(args);
  if (parsed.help) {
    console.log(HELP);
    return;
  }
  const { cfg, values } = parsed;
  // the heavy imports only once the flags are known to be good
  const { runTraining, resumeTraining, defaultRunDir } = await import("../lib/run/training_run.ts");
  const { readRunConfig } = await import("../lib/run/config_json.ts");
  const resumeDir = values.resume as string | undefined;
  if (resumeDir !== undefined) {
    const others = args.filter((a) => a.startsWith("--") && !["--resume", "--quiet"].includes(a.split("=")[0]));
    if (others.length > 0) {
      throw new UsageError(`--resume continues a run with its own config.json; drop ${others[0]}`);
    }
  }
  let out = resumeDir ?? cfg.out ?? defaultRunDir(cfg);
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
    // a generated folder name takes a suffix when another run started in the same second took it
    uniqueFolder: resumeDir === undefined && cfg.out === null,
    onEvent: (e: RunEvent) => {
      if (e.type === "phase" || e.type === "step" || e.type === "epoch") announce();
      if (e.type === "folder") out = e.dir === resolve(out) ? out : e.dir;
      else if (e.type === "log") console.error(e.message);
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

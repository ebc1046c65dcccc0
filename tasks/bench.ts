/**
 * `deno task bench`: Ada-DF training and inference speed on the chosen backend: images/s at
 * each input size (batch 64 by default), peak resident memory, and the most expensive kernels
 * of one training step. `tools/bench/pytorch_bench.py` runs the same model and batch in
 * PyTorch, so a ratio can be measured in one session on one machine.
 */
import type { BenchReport } from "../lib/bench/bench.ts";
import type { PipelineBenchResult } from "../lib/data/pipeline_bench.ts";
import { numberFlag, parseFlags, runTask, UsageError } from "./_cli.ts";
import { BACKENDS } from "../lib/config/backends.ts";

const HELP = `Measure Ada-DF training and inference speed.

Usage: deno task bench [--backend auto|tensorflow|webgpu|wasm|cpu] [--image-size S]... [--batch-size B]
                       [--width W] [--steps N] [--threads T] [--blas auto|off] [--freeze-stem] [--no-profile]
                       [--no-pipeline] [--json]

  --image-size S   input size; repeat for several (default 100 and 48)
  --batch-size B   default 64
  --width W        network width (default 64 = torchvision's ResNet-18; the SynthFER default run uses 16)
  --steps N        timed steps per measurement after one warm-up step (default 3); the median is reported
  --threads T      wasm backend threads: XNNPACK's pool (lib/kernels/wasm_threads.ts; default: the
                   logical CPUs, at most 4; 1 = the single-threaded build) and oneDNN's and OpenBLAS's
                   (default: every logical CPU)
  --blas auto|off  wasm backend: run convolutions, BatchNorm, pooling and matrix products on oneDNN and
                   OpenBLAS where they are installed (auto, the default; lib/kernels/dnnl.ts, openblas.ts;
                   ADADF_DNNL=off keeps oneDNN out) or on XNNPACK alone (off); ADADF_BLAS=off
                   does the same for every task
  --freeze-stem    train without the stem (conv1, bn1, layer1), as with pretrained weights
  --no-profile     skip the per-kernel profile of one training step
  --no-pipeline    skip the data pipeline's images/s (JPEG decode + augment, and augment from the cache)
  --no-faces       skip face detection + alignment of a 1920x1280 photo (photos/s; lib/faces/)
  --json           print {"backend", "threads", "blas", "dnnl", "results": [{kind, imageSize, batchSize, imagesPerSecond,
                   peakRssMiB}], "kernels", "pipeline": [{kind, imageSize, imagesPerSecond, ratio, ...}],
                   "faces": {width, height, faces, photosPerSecond, secondsPerPhoto, detectSeconds}}`;

async function main(args: string[]) {
  const parsed = parseFlags(args, {
    backend: { type: "string" },
    "image-size": { type: "string", multiple: true },
    "batch-size": { type: "string" },
    width: { type: "string" },
    steps: { type: "string" },
    threads: { type: "string" },
    blas: { type: "string" },
    "no-profile": { type: "boolean" },
    "no-pipeline": { type: "boolean" },
    "no-faces": { type: "boolean" },
    "freeze-stem": { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  const v = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (v.help) return console.log(HELP);
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument '${parsed.positionals[0]}' (see --help)`);
  }
  const sizes = ((v["image-size"] as string[] | undefined) ?? ["100", "48"]).map((s) =>
    numberFlag("image-size", s, true)!
  );
  const batch = numberFlag("batch-size", v["batch-size"] as string | undefined, true) ?? 64;
  const width = numberFlag("width", v.width as string | undefined, true) ?? 64;
  const steps = numberFlag("steps", v.steps as string | undefined, true) ?? 3;
  const threads = numberFlag("threads", v.threads as string | undefined, true) ??
    Math.min(4, navigator.hardwareConcurrency || 1);
  if (threads < 1 || threads > 64) throw new UsageError(`--threads must be in [1, 64], got ${threads}`);
  for (const s of sizes) if (s < 16 || s > 512) throw new UsageError(`--image-size must be in [16, 512], got ${s}`);
  if (batch < 2) throw new UsageError(`--batch-size must be >= 2, got ${batch}`);
  if (width < 2) throw new UsageError(`--width must be >= 2, got ${width}`);
  if (steps < 1) throw new UsageError(`--steps must be >= 1, got ${steps}`);
  const blas = (v.blas as string | undefined) ?? "auto";
  if (blas !== "auto" && blas !== "off") throw new UsageError(`--blas must be auto or off, got '${blas}'`);
  const backend = (v.backend as string | undefined) ?? "auto";

  if (!(BACKENDS as readonly string[]).includes(backend)) {
    throw new UsageError(`backend must be one of ${BACKENDS.join(", ")}, got '${backend}'`);
  }

  const { initBackend } = await import("../lib/backend/backend.ts");
  const { benchmark } = await import("../lib/bench/bench.ts");
  const choice = await initBackend(backend as typeof BACKENDS[number], { wasmThreads: threads, blas });
  const { nativeKernelsBlas, nativeKernelsDnnl } = await import("../lib/kernels/mod.ts");
  const openblas = choice.backend === "wasm" ? nativeKernelsBlas() : undefined;
  const blasUsed = openblas === undefined
    ? null
    : { corename: openblas.corename, threads: openblas.threads, config: openblas.config };
  const onednn = choice.backend === "wasm" ? nativeKernelsDnnl() : undefined;
  const dnnlUsed = onednn === undefined ? null : { version: onednn.version, threads: onednn.threads ?? null };
  const threadsUsed = choice.backend === "wasm" ? threads : undefined;
  const log = v.json ? () => {} : (m: string) => console.error(m);
  log(`backend: ${choice.backend} (${choice.reason})${threadsUsed ? `, ${threadsUsed} thread(s)` : ""}`);
  const report = await benchmark({
    sizes,
    batchSize: batch,
    width,
    steps,
    profile: !v["no-profile"],
    freezeStem: Boolean(v["freeze-stem"]),
    layerKernels: choice.layerKernels,
    log,
  });
  // the data pipeline (decode + RandAugment + flip + erasing) must outrun training 3x (issue 3, item 8)
  const pipeline: PipelineRow[] = [];
  if (!v["no-pipeline"]) {
    const { benchmarkPipeline } = await import("../lib/data/pipeline_bench.ts");
    for (const s of sizes) {
      const train = report.results.find((r) => r.kind === "train" && r.imageSize === s)?.imagesPerSecond ?? NaN;
      for (const cold of [true, false]) {
        log(`data pipeline ${s}x${s}: ${cold ? "JPEG decode + augment" : "augment from the cache"}`);
        const r = await benchmarkPipeline({ imageSize: s, batchSize: batch, cold });
        pipeline.push({ ...r, trainImagesPerSecond: train, ratio: r.imagesPerSecond / train });
      }
    }
  }
  let faces;
  if (!v["no-faces"]) {
    log("faces: detection + alignment of a 1920x1280 photo");
    faces = await (await import("../lib/faces/bench.ts")).benchFaces();
  }
  if (v.json) {
    console.log(
      JSON.stringify({
        backend: choice.backend,
        threads: threadsUsed,
        blas: blasUsed,
        dnnl: dnnlUsed,
        ...report,
        pipeline,
        faces,
      }),
    );
  } else {
    printTable(report, sizes, pipeline);
    if (faces) {
      console.log(
        `
faces: detect + align ${faces.width}x${faces.height}, ${faces.faces} faces: ` +
          `${faces.photosPerSecond.toFixed(2)} photos/s (detection ${(faces.detectSeconds * 1000).toFixed(0)} ms)`,
      );
    }
  }
}

type PipelineRow = PipelineBenchResult & { trainImagesPerSecond: number; ratio: number };

function printTable(report: BenchReport, sizes: number[], pipeline: PipelineRow[]) {
  console.log(`| kind | image size | batch | images/s | peak RSS MiB |`);
  console.log(`| --- | --- | --- | --- | --- |`);
  for (const r of report.results) {
    console.log(
      `| ${r.kind} | ${r.imageSize} | ${r.batchSize} | ${r.imagesPerSecond.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} |`,
    );
  }
  if (pipeline.length > 0) {
    console.log(`\n| data pipeline | image size | batch | images/s | x training |`);
    console.log(`| --- | --- | --- | --- | --- |`);
    for (const p of pipeline) {
      const what = p.kind === "pipeline-cold" ? "JPEG decode + augment" : "augment (cached)";
      console.log(
        `| ${what} | ${p.imageSize} | ${p.batchSize} | ${p.imagesPerSecond.toFixed(0)} | ${p.ratio.toFixed(1)} |`,
      );
    }
  }
  if (report.kernels.length > 0) {
    console.log(
      `\nmost expensive kernels of one training step at ${sizes[0]}x${sizes[0]} (times include nested kernels):`,
    );
    for (const k of report.kernels) {
      console.log(`  ${k.name.padEnd(26)} ${k.ms.toFixed(1).padStart(9)} ms  ${(100 * k.share).toFixed(1)} %`);
    }
  }
}

if (import.meta.main) await runTask(main);

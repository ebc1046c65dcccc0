/** `deno task predict`: per-image class distributions, attention and logits of a trained model. */
import { modelSourceFlags, parseFlags, runTask, UsageError } from "./_cli.ts";
import { type BackendName, BACKENDS } from "../lib/config/backends.ts";
import { flagHelp, flagOptions, flagValue, pickFlags } from "../lib/config/flags.ts";

/** predict's flags: its own and the shared ones of the flag table (lib/config/flags.ts), with predict's meaning. */
const PREDICT_FLAGS = pickFlags(
  [
    "run",
    "which",
    "weights",
    "checkpoint-classes",
    "ten-crop",
    "npy",
    "image-size",
    "batch-size",
    "backend",
    "json",
    "detect",
    "annotate",
    "help",
  ],
  {
    "run": {
      kind: "string",
      value: "DIR",
      help: "a run folder (its weights_last.safetensors; --which best for weights_best)",
    },
    "which": { kind: "string", value: "last|best", help: "" },
    "weights": {
      kind: "string",
      value: "FILE",
      help: "a run's weights_*.safetensors, a toolkit export, or an official Ada-DF checkpoint",
    },
    "checkpoint-classes": {
      kind: "string",
      value: "raf-db|affectnet|sfew",
      help: "the data set an official checkpoint was trained on, whose own\n" +
        "class order its outputs follow (default raf-db); outputs are always in the order above",
    },
    "ten-crop": {
      help: "the mean over ten crops of the face resized to 256/224 of the input size, as the\n" +
        "official code tests SFEW (default: the run's setting; false for a weights file)",
    },
    "npy": {
      kind: "string",
      value: "FILE",
      help: "a float32 batch in PyTorch layout (N, 3, H, W), already normalised: fed unchanged",
    },
    "image-size": {
      help: "input size for IMAGE files (default: the run's or the file's record; an official\ncheckpoint 224)",
    },
    "batch-size": { help: "images per forward pass (default 64)", showDefault: undefined },
    "detect": {
      kind: "switch",
      help: "IMAGE... are ordinary photos: find every face (@vladmandic/face-api), align it as\n" +
        'RAF-DB\'s 100x100 faces (lib/faces/), one row per face with "box" [x, y, w, h],\n' +
        '"landmarks" (eyes, nose tip, mouth corners) and "score"',
    },
    "annotate": {
      kind: "string",
      value: "OUT.png",
      help: "with --detect: the photo with every face's box, top class and distribution bar\n" +
        "(several photos: OUT_<photo>.png)",
    },
    "backend": { help: "", showDefault: undefined },
    "json": {
      kind: "switch",
      help: 'print {"classes": [...], "rows": [{"image", "targetLogits", "auxLogits",\n' +
        '"attention", "attentionAux", "attentionTarget", "probabilities"}, ...]}\n' +
        '(--npy rows have no "image"); attention = (w_aux + w_tar) / 2, the official\n' +
        "forward's third output; all three are null for a plain network (--mode baseline)",
    },
  },
);

const HELP = `Predict with a trained Ada-DF model (target branch): per image the 7-class distribution
(softmax of the target logits), the most likely class, the attention weights and both branches' logits.

Usage: deno task predict (--run DIR | --weights FILE) (IMAGE... | --npy FILE) [--json]
       deno task predict (--run DIR | --weights FILE) --detect PHOTO... [--annotate OUT.png] [--json]

  IMAGE...                 aligned face images (JPEG, PNG, ...): resized to the model's input size and
                           normalised as in training (ImageNet mean/std), no augmentation
${flagHelp(PREDICT_FLAGS)}

Exit codes: 0 done, 2 bad usage or input (one 'error:' line naming the file), 1 failure while running.`;

/** A shared flag's value, read by its kind in the table (`--batch-size expects an integer, got 'x'`). */
function flag(v: Record<string, string | boolean | undefined>, name: string) {
  try {
    return flagValue(PREDICT_FLAGS.find((f) => f.name === name)!, v[name]);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function main(args: string[]) {
  const parsed = parseFlags(args, flagOptions(PREDICT_FLAGS));
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) return console.log(HELP);
  const images = parsed.positionals;
  const source = modelSourceFlags(v, "raf-db");
  if ((images.length > 0) === (v.npy !== undefined)) {
    throw new UsageError("give image files or --npy FILE, one of the two (see --help)");
  }
  const flagSize = flag(v, "image-size") as number | undefined;
  if (flagSize !== undefined && !(flagSize >= 16 && flagSize <= 1024)) {
    throw new UsageError(`--image-size must be in [16, 1024], got ${flagSize}`);
  }
  const tenCropFlag = flag(v, "ten-crop") as boolean | undefined;
  if (tenCropFlag !== undefined && v.npy !== undefined) {
    throw new UsageError("--ten-crop is for image files; an --npy batch is fed unchanged");
  }
  if (flagSize !== undefined && v.npy !== undefined) {
    throw new UsageError("--image-size is for image files; an --npy batch has its own size");
  }
  const batchSize = (flag(v, "batch-size") as number | undefined) ?? 64;
  if (batchSize < 1) throw new UsageError(`--batch-size must be >= 1, got ${batchSize}`);
  const backend = (v.backend as string | undefined) ?? "auto";
  if (!BACKENDS.includes(backend as BackendName)) {
    throw new UsageError(`--backend must be one of ${BACKENDS.join(", ")}, got '${backend}'`);
  }
  if (v.detect === true && v.npy !== undefined) throw new UsageError("--detect is for photos, not an --npy batch");
  if (v.annotate !== undefined && v.detect !== true) throw new UsageError("--annotate OUT.png goes with --detect");
  const json = v.json === true;
  const log = (m: string) => {
    if (!json) console.error(m);
  };

  const { InputFileError, readNpyFile } = await import("../lib/util/files.ts");
  // read the inputs' shape before loading the model (bad input first): a regular file under a size cap
  let npy: { data: Float32Array; shape: number[] } | undefined;
  if (v.npy !== undefined) {
    const path = v.npy as string;
    try {
      npy = readNpyFile(path, { what: "--npy" });
    } catch (e) {
      if (e instanceof InputFileError) throw new UsageError(e.message);
      throw new UsageError(`--npy ${path}: ${(e as Error).message.split("\n")[0]}`);
    }
    const s = npy.shape;
    if (s.length !== 4 || s[0] < 1 || s[1] !== 3 || s[2] !== s[3] || s[2] < 1) {
      throw new UsageError(`--npy ${path} has shape (${s.join(", ")}); expected (N, 3, S, S), PyTorch's layout`);
    }
    const bad = npy.data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      throw new UsageError(
        `--npy ${path}: row ${Math.floor(bad / (3 * s[2] * s[3]))} holds a non-finite value (${npy.data[bad]}); ` +
          "expected finite, normalised inputs",
      );
    }
  } else {
    for (const p of images) {
      try {
        if (!Deno.statSync(p).isFile) throw new Error("not a file");
      } catch {
        throw new UsageError(`image ${p} does not exist or is not a file`);
      }
    }
  }

  const { initBackend } = await import("../lib/backend/backend.ts");
  const { loadTrainedModel, OFFICIAL_IMAGE_SIZE } = await import("../lib/infer/trained_model.ts");
  const { loadFaces, loadFacesTenCrop, meanCropRows, nchwToNhwc, predictBatch } = await import(
    "../lib/infer/predict.ts"
  );
  const { decodeSize } = await import("../lib/config.ts");
  const choice = await initBackend(backend as BackendName);
  // printed once the inputs are known to be good: bad input gives one error: line only
  const backendLine = `backend: ${choice.backend} (${choice.reason})`;
  const model = await loadTrainedModel(source, { onNotice: log });
  model.net.kernels = choice.layerKernels;
  try {
    let x: Float32Array;
    let size: number;
    const tenCrop = npy === undefined &&
      (tenCropFlag !== undefined ? tenCropFlag : model.runConfig?.tenCrop === true);
    if (npy !== undefined) {
      size = npy.shape[2];
      x = nchwToNhwc(npy.data, npy.shape);
    } else {
      size = flagSize ?? model.imageSize ?? (model.kind === "adadf" ? OFFICIAL_IMAGE_SIZE : 100);
      if (v.detect === true) {
        const { predictDetect } = await import("./_predict_detect.ts");
        return await predictDetect({
          net: model.net,
          photos: images,
          classes: model.classes,
          imageSize: size,
          tenCrop,
          decodeSize: decodeSize({ imageSize: size, tenCrop }),
          batchSize,
          json,
          annotate: v.annotate as string | undefined,
          header: backendLine,
        });
      }
      x = tenCrop
        ? await loadFacesTenCrop(images, { decodeSize: decodeSize({ imageSize: size, tenCrop }), crop: size })
        : await loadFaces(images, size);
    }
    const cropRows = await predictBatch(model.net, x, { imageSize: size, batchSize });
    const rows = tenCrop ? meanCropRows(cropRows, 10) : cropRows;
    log(backendLine);
    const classes = model.classes;
    if (json) {
      console.log(JSON.stringify({
        classes,
        rows: rows.map((r, i) => (npy === undefined ? { image: images[i], ...r } : r)),
      }));
      return;
    }
    console.log(`${model.weightsPath}, input ${size}x${size}${tenCrop ? ", mean of ten crops" : ""}`);
    const w = Math.max(...classes.map((c) => c.length));
    rows.forEach((r, i) => {
      const top = r.probabilities.indexOf(Math.max(...r.probabilities));
      console.log(
        `\n${npy === undefined ? images[i] : `row ${i}`}: ${classes[top]} (${
          (r.probabilities[top] * 100).toFixed(1)
        } %)` +
          (r.attention === null
            ? ", no attention head (plain network)"
            : `, attention ${r.attention.toFixed(3)} (aux ${r.attentionAux!.toFixed(3)}, target ${
              r.attentionTarget!.toFixed(3)
            })`),
      );
      classes.forEach((c, k) => {
        const p = r.probabilities[k];
        console.log(`  ${c.padEnd(w)} ${(p * 100).toFixed(1).padStart(5)} % ${"#".repeat(Math.round(p * 30))}`);
      });
    });
  } finally {
    model.net.dispose();
  }
}

if (import.meta.main) await runTask(main);

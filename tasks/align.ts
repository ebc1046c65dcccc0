/** `deno task align`: aligned 100x100 faces (RAF-DB's convention) from raw photos, folders or a data set. */
import { parseFlags, ProgressBar, runTask, UsageError } from "./_cli.ts";
import { type BackendName, BACKENDS } from "../lib/config/backends.ts";

const HELP = `Find the faces in ordinary photos and write each one aligned as RAF-DB's faces are
(five landmarks onto a fixed template by a similarity transform, 100x100, upright and centred).

Usage: deno task align PHOTO|DIR ... --out DIR [--largest]
       deno task align --dataset sfew|folder|raf-db --data-path RAW --out DIR

  PHOTO|DIR ...            photos, or folders walked recursively: OUT/<name>.png for one face,
                           OUT/<name>_<k>.png (left to right) for several; a folder's tree is
                           kept, so class folders (happy/, sad/...) become a 'folder' data set
  --out DIR                where the aligned faces and align_report.json go
  --largest                keep only the largest face of each photo
  --dataset sfew|folder    align every image of a data set at RAW, keeping its layout, names
                           and format (one face per labelled photo, the largest): then
                           --dataset sfew --data-path OUT trains on the aligned copy
  --dataset raf-db         align RAF-DB's Image/original/ photos (those its label file lists)
                           into OUT/Image/aligned/<name>_aligned.jpg, label file copied: then
                           --dataset raf-db --data-path OUT trains on this alignment
  --data-path RAW          the data set's root (with --dataset)
  --min-score S            lowest detection score kept (default 0.5)
  --backend NAME           ${BACKENDS.join("|")} (default auto)
  --json                   print the report as JSON on stdout
  --help

Detection: @vladmandic/face-api (SSD MobileNet v1, 68 landmarks; models from node_modules).
Photos with no face, several faces, or that cannot be read are listed in the report.
Exit codes: 0 done, 2 bad usage or input, 1 failure while running.`;

async function main(args: string[]) {
  const parsed = parseFlags(args, {
    out: { type: "string" },
    largest: { type: "boolean" },
    dataset: { type: "string" },
    "data-path": { type: "string" },
    "min-score": { type: "string" },
    backend: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean" },
  });
  const v = parsed.values;
  if (v.help) return console.log(HELP);
  if (v.out === undefined) throw new UsageError("--out DIR is required (see --help)");
  const dataset = v.dataset;
  if (dataset !== undefined && dataset !== "sfew" && dataset !== "folder" && dataset !== "raf-db") {
    throw new UsageError(`--dataset expects sfew, folder or raf-db, got '${dataset}'`);
  }
  if ((dataset === undefined) !== (v["data-path"] === undefined)) {
    throw new UsageError("--dataset and --data-path go together");
  }
  if ((dataset !== undefined) === (parsed.positionals.length > 0)) {
    throw new UsageError("give photos or folders, or --dataset with --data-path, one of the two (see --help)");
  }
  const minScore = v["min-score"] === undefined ? undefined : Number(v["min-score"]);
  if (minScore !== undefined && !(minScore >= 0 && minScore <= 1)) {
    throw new UsageError(`--min-score must be a number in [0, 1], got '${v["min-score"]}'`);
  }
  const backend = v.backend ?? "auto";
  if (!BACKENDS.includes(backend as BackendName)) {
    throw new UsageError(`--backend must be one of ${BACKENDS.join(", ")}, got '${backend}'`);
  }
  const { planDataset, planPhotos, alignPhotos, copyDatasetLabels } = await import("../lib/faces/align_files.ts");
  const items = dataset !== undefined
    ? await planDataset(dataset, v["data-path"]!)
    : await planPhotos(parsed.positionals);
  if (items.length === 0) throw new UsageError("no photos found (JPEG, PNG, BMP, TIFF or WebP files)");
  // the labels first: a label file that cannot be copied stops the run before any face is written
  if (dataset !== undefined) await copyDatasetLabels(dataset, v["data-path"]!, v.out);

  const { initBackend } = await import("../lib/backend/backend.ts");
  const { loadFaceDetector } = await import("../lib/faces/detector.ts");
  const choice = await initBackend(backend as BackendName);
  if (!v.json) console.error(`backend: ${choice.backend} (${choice.reason})`);
  const detector = await loadFaceDetector({ minScore });
  const bar = new ProgressBar();
  const report = await alignPhotos(items, {
    outDir: v.out,
    detector,
    largest: v.largest === true || dataset !== undefined,
    onProgress: (done, total, r) => bar.update(`${done}/${total} photos, ${r.facesWritten} faces`, done / total),
  });
  bar.done(
    `${report.photos} photos: ${report.facesFound} faces found, ${report.facesWritten} written to ${v.out}; ` +
      `${report.withoutFace.length} without a face, ${report.withSeveral.length} with several, ` +
      `${report.skipped.length} unreadable (${report.seconds.toFixed(1)} s, ${
        (report.photos / Math.max(report.seconds, 1e-9)).toFixed(2)
      } photos/s)`,
  );
  if (v.json) console.log(JSON.stringify(report));
  else {
    for (const p of report.withoutFace) console.error(`  no face: ${p}`);
    for (const s of report.skipped) console.error(`  skipped: ${s.photo}: ${s.error}`);
  }
}

if (import.meta.main) await runTask(main);

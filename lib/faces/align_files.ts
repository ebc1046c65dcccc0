/**
 * `deno task align`: raw photos (files, folders, or a data set's tree) to aligned 100x100 faces
 * in a layout the `folder` and `sfew` readers take, with a report of faces found, missed and
 * multiple. The core; tasks/align.ts is the shell that prints.
 *
 * Layouts:
 * - `PHOTO...`: `OUT/<stem>.png` (one face), `OUT/<stem>_<k>.png` (several, left to right).
 * - `DIR...`: the folder's tree is kept below `OUT` (`DIR/happy/a.jpg` -> `OUT/happy/a.png`), so
 *   a tree of class folders becomes a data set the `folder` reader takes.
 * - a data set (`dataset: "sfew" | "folder"`): every image its reader lists, at the same relative
 *   path and with the same name and format, one face per photo (the largest: a labelled photo
 *   labels one face), so `--dataset sfew --data-path OUT` trains on the aligned copy and a
 *   folder tree keeps its hash split.
 * - RAF-DB (`dataset: "raf-db"`): every photo its label file lists, read from RAF-DB's
 *   `Image/original/<name>`, written where the reader looks, `Image/aligned/<stem>_aligned.jpg`,
 *   with the label file copied, so `--dataset raf-db --data-path OUT` trains on our alignment
 *   of RAF-DB's originals (a photo without a face is listed, and skipped by the reader).
 * @module
 */
import sharp from "sharp";
import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { ImageDecodeError } from "../data/images.ts";
import { isImageName, listDir } from "../data/readers/_io.ts";
import { alignFace } from "./align.ts";
import type { DetectedFace, FaceDetector } from "./detector.ts";
import { decodePhoto } from "./photo.ts";

/** One photo to align and where its faces go (relative to the output folder, no extension). */
export interface AlignItem {
  photo: string;
  out: string;
  /** the output's format: "png" (default) or the source's own ("jpg" keeps the name) */
  format: "png" | "jpg";
}

/** The data sets whose layout `align` keeps. */
export const ALIGN_DATASETS = ["sfew", "folder", "raf-db"] as const;
export type AlignDataset = typeof ALIGN_DATASETS[number];

/** Lists the photos under `inputs` (files, or folders walked recursively) and where their faces go. */
export async function planPhotos(inputs: readonly string[]): Promise<AlignItem[]> {
  const items: AlignItem[] = [];
  for (const input of inputs) {
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(input);
    } catch {
      throw new RangeError(`${input} does not exist; expected a photo or a folder of photos`);
    }
    if (stat.isFile) {
      items.push({ photo: input, out: basename(input, extname(input)), format: "png" });
    } else if (stat.isDirectory) {
      const prefix = inputs.length > 1 ? basename(resolve(input)) : "";
      for (const file of await walk(input)) {
        const rel = relative(input, file);
        items.push({ photo: file, out: join(prefix, dirname(rel), basename(rel, extname(rel))), format: "png" });
      }
    } else {
      throw new RangeError(`${input} is not a regular file or a folder`);
    }
  }
  return items;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await listDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDir) out.push(...await walk(p));
    else if (isImageName(e.name)) out.push(p);
  }
  return out;
}

/** Every image a data set's reader lists, at its path relative to the root, in its own format. */
export async function planDataset(dataset: AlignDataset, root: string): Promise<AlignItem[]> {
  if (dataset === "raf-db") return await planRafDb(root);
  const index = dataset === "sfew"
    ? await (await import("../data/readers/sfew.ts")).indexSfew(root)
    : await (await import("../data/readers/folder.ts")).indexFolder(root);
  return [...index.train, ...index.test].flatMap((ref): AlignItem[] => {
    if (ref.source.kind !== "file") return [];
    const rel = relative(index.root, ref.source.path);
    const ext = extname(rel).toLowerCase();
    const jpg = ext === ".jpg" || ext === ".jpeg";
    return [{
      photo: ref.source.path,
      out: jpg ? rel : join(dirname(rel), basename(rel, extname(rel))),
      format: jpg ? "jpg" : "png",
    }];
  });
}

/**
 * RAF-DB's photos as its label file lists them: `Image/original/<name>` to
 * `Image/aligned/<stem>_aligned.jpg` (the path the raf-db reader reads).
 */
async function planRafDb(root: string): Promise<AlignItem[]> {
  const { RAF_LABEL_FILE, indexRafDb, rafAlignedPath } = await import("../data/readers/raf_db.ts");
  const index = await indexRafDb(root); // the label file, checked line by line
  const original = join(index.root, "Image", "original");
  try {
    if (!(await Deno.stat(original)).isDirectory) throw new Error();
  } catch {
    throw new RangeError(
      `${original} is not a folder; --dataset raf-db aligns RAF-DB's Image/original/ photos (listed in ${RAF_LABEL_FILE})`,
    );
  }
  return [...index.train, ...index.test].map((ref) => ({
    photo: join(original, ref.id),
    out: relative(index.root, rafAlignedPath(index.root, ref.id)),
    format: "jpg" as const,
  }));
}

/**
 * The files a data set's aligned copy needs besides its images: RAF-DB's label file (read
 * under the label-file cap, written as read). Nothing for `sfew` and `folder`, whose labels
 * are their folders.
 */
export async function copyDatasetLabels(dataset: AlignDataset, root: string, outDir: string): Promise<string[]> {
  if (dataset !== "raf-db") return [];
  const { RAF_LABEL_FILE } = await import("../data/readers/raf_db.ts");
  const { readLabelFile } = await import("../data/readers/_io.ts");
  const bytes = await readLabelFile(join(root, RAF_LABEL_FILE), "RAF-DB label file");
  const dst = join(outDir, RAF_LABEL_FILE);
  await mkdir(dirname(dst), { recursive: true });
  await writeFile(dst, bytes);
  return [RAF_LABEL_FILE];
}

/** What aligning a set of photos found. */
export interface AlignReport {
  photos: number;
  facesFound: number;
  facesWritten: number;
  /** photos in which no face was found */
  withoutFace: string[];
  /** photos with more than one face, and how many */
  withSeveral: { photo: string; faces: number }[];
  /** photos that could not be read (corrupt, truncated, too large...), with why */
  skipped: { photo: string; error: string }[];
  seconds: number;
}

/** Options of {@linkcode alignPhotos}. */
export interface AlignPhotosOptions {
  outDir: string;
  detector: FaceDetector;
  /** keep only the largest face of each photo */
  largest?: boolean;
  /** called after each photo */
  onProgress?: (done: number, total: number, report: AlignReport) => void;
}

/** Aligns every face of every item and writes it under `outDir`; returns the report (also written as `align_report.json`). */
export async function alignPhotos(items: readonly AlignItem[], options: AlignPhotosOptions): Promise<AlignReport> {
  const t0 = performance.now();
  const report: AlignReport = {
    photos: items.length,
    facesFound: 0,
    facesWritten: 0,
    withoutFace: [],
    withSeveral: [],
    skipped: [],
    seconds: 0,
  };
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    let photo;
    try {
      photo = await decodePhoto(item.photo);
    } catch (e) {
      if (!(e instanceof ImageDecodeError)) throw e;
      report.skipped.push({ photo: item.photo, error: e.message.slice(item.photo.length + 2) });
      options.onProgress?.(i + 1, items.length, report);
      continue;
    }
    let faces: DetectedFace[] = await options.detector.detect(photo);
    report.facesFound += faces.length;
    if (faces.length === 0) report.withoutFace.push(item.photo);
    if (faces.length > 1) report.withSeveral.push({ photo: item.photo, faces: faces.length });
    if (options.largest && faces.length > 1) {
      faces = [faces.reduce((a, b) => (b.box[2] * b.box[3] > a.box[2] * a.box[3] ? b : a))];
    }
    for (let k = 0; k < faces.length; k++) {
      const crop = alignFace(photo, faces[k].landmarks);
      const name = faces.length === 1 ? item.out : `${item.out}_${k}`;
      const path = join(options.outDir, item.format === "jpg" ? name : `${name}.png`);
      const img = sharp(crop.pixels, { raw: { width: crop.size, height: crop.size, channels: 3 } });
      const bytes = await (item.format === "jpg" ? img.jpeg({ quality: 95 }) : img.png()).toBuffer();
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
      report.facesWritten++;
    }
    options.onProgress?.(i + 1, items.length, report);
  }
  report.seconds = (performance.now() - t0) / 1000;
  await mkdir(options.outDir, { recursive: true });
  await writeFile(join(options.outDir, "align_report.json"), JSON.stringify(report, null, 2) + "\n");
  return report;
}

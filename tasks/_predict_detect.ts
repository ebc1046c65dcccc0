/**
 * `predict --detect`: the photo side of `deno task predict` (tasks/predict.ts parses the flags and
 * loads the model). One row per detected face with its box, landmarks and score; `--annotate
 * OUT.png` draws every face's box, top class and distribution bar.
 */
import { basename, dirname, extname, join } from "node:path";
import { writeFile } from "node:fs/promises";
import type { AdaDfNet } from "../lib/model/adadf_net.ts";
import { UsageError } from "./_cli.ts";

/** What predict.ts hands over. */
export interface DetectRun {
  net: AdaDfNet;
  photos: readonly string[];
  classes: readonly string[];
  imageSize: number;
  tenCrop: boolean;
  decodeSize: number;
  batchSize: number;
  json: boolean;
  /** OUT.png; with several photos, OUT_<photo>.png */
  annotate?: string;
  /** a line printed before the results (the backend), on stderr */
  header: string;
}

/** The annotated PNG's path for photo `i` of `n`. */
export function annotatePath(out: string, photo: string, n: number): string {
  if (n === 1) return out;
  const ext = extname(out) || ".png";
  return join(dirname(out), `${basename(out, extname(out))}_${basename(photo, extname(photo))}${ext}`);
}

/** Runs the model on every face of every photo and prints the rows (predict's text or JSON). */
export async function predictDetect(run: DetectRun): Promise<void> {
  const { decodePhoto } = await import("../lib/faces/photo.ts");
  const { loadFaceDetector } = await import("../lib/faces/detector.ts");
  const { predictPhoto } = await import("../lib/faces/predict_photo.ts");
  const { annotatePhoto } = await import("../lib/faces/annotate.ts");
  const { ImageDecodeError } = await import("../lib/data/images.ts");
  const detector = await loadFaceDetector();
  const rows = [];
  const summary: string[] = [];
  for (const path of run.photos) {
    let photo;
    try {
      photo = await decodePhoto(path);
    } catch (e) {
      if (e instanceof ImageDecodeError) throw new UsageError(`image ${e.message.split("\n")[0]}`);
      throw e;
    }
    const r = await predictPhoto(run.net, photo, { ...run, detector });
    rows.push(...r.rows);
    summary.push(`${path}: ${r.rows.length === 0 ? "no face found" : `${r.rows.length} face(s)`}`);
    if (run.annotate !== undefined) {
      const png = await annotatePhoto(photo, r.rows, { classes: run.classes });
      await writeFile(annotatePath(run.annotate, path, run.photos.length), png);
    }
  }
  if (!run.json) console.error(run.header);
  if (run.json) {
    console.log(JSON.stringify({ classes: run.classes, rows }));
    return;
  }
  for (const s of summary) console.log(s);
  const w = Math.max(...run.classes.map((c) => c.length));
  for (const r of rows) {
    const p = r.probabilities;
    const top = p.indexOf(Math.max(...p));
    const [x, y, bw, bh] = r.box.map((v) => Math.round(v));
    console.log(
      `\n${r.image} face ${r.face} at ${x},${y} ${bw}x${bh} (score ${r.score.toFixed(2)}): ${run.classes[top]} (${
        (p[top] * 100).toFixed(1)
      } %)` + (r.attention === null ? "" : `, attention ${r.attention.toFixed(3)}`),
    );
    run.classes.forEach((c, k) => {
      console.log(`  ${c.padEnd(w)} ${(p[k] * 100).toFixed(1).padStart(5)} % ${"#".repeat(Math.round(p[k] * 30))}`);
    });
  }
  if (run.annotate !== undefined) {
    console.log(`\nannotated: ${run.photos.map((p) => annotatePath(run.annotate!, p, run.photos.length)).join(", ")}`);
  }
}

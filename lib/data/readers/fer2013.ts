/**
 * FER2013 (Kaggle): one CSV, `fer2013.csv`, with the columns `emotion,pixels,Usage`; each row is
 * a 48x48 grey face as 2304 space-separated values. Ids 0..6 are angry, disgust, fear, happy,
 * sad, surprise, neutral. `Usage` is Training (the training split), PublicTest (the
 * validation set, not used) or PrivateTest (the test split, the one results are reported on).
 *
 * @module
 */
import { join, resolve } from "node:path";
import { CLASSES } from "../classes.ts";
import { limit } from "../../util/limits.ts";
import { lineTooLong } from "./_csv.ts";
import { isFile, readLabelFile, requireDataPath } from "./_io.ts";
import { DatasetError, type DatasetIndex } from "./types.ts";

/** FER2013 id (0..6) -> `CLASSES` index. */
export const FER2013_TO_CLASSES: readonly number[] = [
  CLASSES.indexOf("anger"),
  CLASSES.indexOf("disgust"),
  CLASSES.indexOf("fear"),
  CLASSES.indexOf("happiness"),
  CLASSES.indexOf("sadness"),
  CLASSES.indexOf("surprise"),
  CLASSES.indexOf("neutral"),
];

/** Side of a FER2013 face. */
export const FER2013_SIZE = 48;

/** One data row of fer2013.csv. */
export interface Fer2013Row {
  /** 0-based data row (the header is not counted): FERPlus's `fer0000000.png` numbering. */
  row: number;
  /** 1-based line number in the file. */
  line: number;
  /** `Training`, `PublicTest` or `PrivateTest`. */
  usage: string;
  /** FER2013's own id, 0..6. */
  emotion: number;
  pixels: Uint8Array; // [48, 48] grey
}

/** The sample id of a FER2013 row, FERPlus's image name: row 0 -> `fer0000000.png`. */
export function ferImageName(row: number): string {
  return `fer${String(row).padStart(7, "0")}.png`;
}

/** The [start, end) byte ranges of the comma-separated fields of one line, quotes stripped. */
function fieldRanges(bytes: Uint8Array, range: { start: number; end: number }): [number, number][] {
  const { start, end } = range;
  const out: [number, number][] = [];
  let s = start;
  for (let i = start; i <= end; i++) {
    if (i === end || bytes[i] === 44) {
      let a = s, b = i;
      while (a < b && bytes[a] === 32) a++;
      while (b > a && bytes[b - 1] === 32) b--;
      if (b - a >= 2 && bytes[a] === 34 && bytes[b - 1] === 34) {
        a++;
        b--;
      }
      out.push([a, b]);
      s = i + 1;
    }
  }
  return out;
}

/**
 * Parses fer2013.csv from its bytes (a 290 MB file: bytes, not a string, keep memory low).
 * Columns are found by name in the header. Throws a DatasetError naming `source:line` for a
 * missing column, an emotion id outside 0..6, or a pixel string that is not 2304 values in
 * 0..255.
 *
 * @example
 * ```ts
 * import { parseFer2013Csv } from "./fer2013.ts";
 * const px = new Array(48 * 48).fill(7).join(" ");
 * const rows = parseFer2013Csv(new TextEncoder().encode(`emotion,pixels,Usage\n3,${px},Training\n`), "fer2013.csv");
 * if (rows[0].emotion !== 3 || rows[0].pixels[100] !== 7 || rows[0].usage !== "Training") throw new Error("bad parse");
 * ```
 */
export function parseFer2013Csv(data: Uint8Array, source: string): Fer2013Row[] {
  const bytes = data;
  const n = FER2013_SIZE * FER2013_SIZE;
  const dec = new TextDecoder();
  const out: Fer2013Row[] = [];
  let cols: { emotion: number; pixels: number; usage: number } | null = null;
  let lineNo = 0;
  const maxLine = limit("ADADF_MAX_LINE_CHARS");
  let pos = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0; // BOM
  while (pos < bytes.length) {
    let end = bytes.indexOf(10, pos);
    if (end < 0) end = bytes.length;
    const next = end + 1;
    if (end > pos && bytes[end - 1] === 13) end--;
    lineNo++;
    const at = `${source}:${lineNo}`;
    if (end - pos > maxLine) throw lineTooLong(source, lineNo, end - pos, maxLine);
    if (end === pos) {
      pos = next;
      continue;
    }
    const fields = fieldRanges(bytes, { start: pos, end });
    if (cols === null) {
      const names = fields.map(([a, b]) => dec.decode(bytes.subarray(a, b)).trim().toLowerCase());
      const [e, p, u] = ["emotion", "pixels", "usage"].map((c) => names.indexOf(c));
      if (e < 0 || p < 0 || u < 0) {
        throw new DatasetError(
          `${at}: expected the header emotion,pixels,Usage, got '${names.join(",").slice(0, 80)}'`,
        );
      }
      cols = { emotion: e, pixels: p, usage: u };
      pos = next;
      continue;
    }
    if (fields.length <= Math.max(cols.emotion, cols.pixels, cols.usage)) {
      throw new DatasetError(`${at}: expected 3 columns (emotion,pixels,Usage), got ${fields.length}`);
    }
    const emoText = dec.decode(bytes.subarray(...fields[cols.emotion]));
    const emotion = /^\d+$/.test(emoText) ? Number(emoText) : NaN;
    if (!(emotion >= 0 && emotion <= 6)) {
      throw new DatasetError(
        `${at}: unknown emotion id '${emoText}'; expected 0..6 (angry, disgust, fear, happy, sad, surprise, neutral)`,
      );
    }
    const pixels = new Uint8Array(n);
    const [pa, pb] = fields[cols.pixels];
    let k = 0, v = -1, bad = false;
    for (let i = pa; i <= pb; i++) {
      const c = i === pb ? 32 : bytes[i];
      if (c >= 48 && c <= 57) v = (v < 0 ? 0 : v * 10) + (c - 48);
      else if (c === 32 || c === 9) {
        if (v >= 0) {
          if (v > 255 || k >= n) {
            bad = true;
            break;
          }
          pixels[k++] = v;
          v = -1;
        }
      } else {
        bad = true;
        break;
      }
    }
    if (bad || k !== n) {
      throw new DatasetError(`${at}: the pixels are not ${n} space-separated values in 0..255 (a 48x48 grey face)`);
    }
    const usage = dec.decode(bytes.subarray(...fields[cols.usage])).trim();
    out.push({ row: out.length, line: lineNo, usage, emotion, pixels });
    pos = next;
  }
  if (cols === null) {
    throw new DatasetError(`${source} is empty; expected the header emotion,pixels,Usage and one row per face`);
  }
  return out;
}

/**
 * Which split a FER2013 `Usage` value belongs to: Training -> "train", PrivateTest -> "test",
 * PublicTest -> "validation" (not used); null for any other value.
 */
export function fer2013Split(usage: string): "train" | "test" | "validation" | null {
  const u = usage.trim().toLowerCase();
  if (u === "training") return "train";
  if (u === "privatetest") return "test";
  if (u === "publictest") return "validation";
  return null;
}

/** Where fer2013.csv is: the data path itself or its `fer2013/` folder (as Kaggle's archive unpacks). */
export async function findFer2013Csv(root: string): Promise<string | null> {
  for (const p of [join(root, "fer2013.csv"), join(root, "fer2013", "fer2013.csv")]) if (await isFile(p)) return p;
  return null;
}

/** Reads fer2013.csv under `root` (see {@linkcode findFer2013Csv}); throws a DatasetError when it is missing. */
export async function readFer2013(root: string): Promise<{ path: string; rows: Fer2013Row[] }> {
  const path = await findFer2013Csv(root);
  if (path === null) {
    throw new DatasetError(
      `${join(root, "fer2013.csv")} is missing; expected FER2013's fer2013.csv (emotion,pixels,Usage)`,
    );
  }
  return { path, rows: parseFer2013Csv(await readLabelFile(path, "FER2013 CSV"), path) };
}

/** Lists FER2013 under `root`: Training rows as the training split, PrivateTest rows as the test split. */
export async function indexFer2013(root: string): Promise<DatasetIndex> {
  const abs = resolve(root);
  await requireDataPath(abs, "a folder holding fer2013.csv");
  const { path, rows } = await readFer2013(abs);
  const index: DatasetIndex = { name: "fer2013", root: abs, classes: CLASSES, train: [], test: [], notes: [] };
  let publicTest = 0;
  for (const r of rows) {
    const split = fer2013Split(r.usage);
    if (split === null) {
      throw new DatasetError(
        `${path}:${r.line}: unknown Usage '${r.usage}'; expected Training, PublicTest or PrivateTest`,
      );
    }
    if (split === "validation") {
      publicTest++;
      continue;
    }
    index[split].push({
      id: ferImageName(r.row),
      source: { kind: "pixels", pixels: r.pixels, width: FER2013_SIZE, height: FER2013_SIZE, channels: 1 },
      label: FER2013_TO_CLASSES[r.emotion],
    });
  }
  index.notes.push(
    `${path}: Training is the training split, PrivateTest the test split; ${publicTest} PublicTest rows (the validation set) are not used`,
  );
  return index;
}

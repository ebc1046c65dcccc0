/**
 * RAF-DB (basic): `EmoLabel/list_patition_label.txt` lists `train_00001.jpg 5` per line; the
 * aligned 100x100 faces are `Image/aligned/train_00001_aligned.jpg`. Ids 1..7 are surprise,
 * fear, disgust, happiness, sadness, anger, neutral, which is `CLASSES`' order, so the label is
 * id - 1. The split is the name's prefix (`train_` / `test_`), as the official code selects it
 * (dataset.py, RafDataset: `str.startswith('train')`).
 *
 * @module
 */
import { join, resolve } from "node:path";
import { CLASSES } from "../classes.ts";
import { readLabelFile, requireDataPath, utf8 } from "./_io.ts";
import { textLines } from "./_csv.ts";
import { DatasetError, type DatasetIndex, type SampleRef } from "./types.ts";

/** The label file, relative to the RAF-DB root. */
export const RAF_LABEL_FILE = "EmoLabel/list_patition_label.txt";

/** One line of a RAF-DB label file (or of a noise file in the same format). */
export interface RafLabelLine {
  /** The file name as listed, e.g. `train_00001.jpg`. */
  name: string;
  split: "train" | "test";
  /** Class index in `CLASSES` order (the file's id - 1). */
  label: number;
  /** 1-based line number in the file. */
  line: number;
}

/**
 * Parses a RAF-DB label file: one `name id` pair per line, separated by spaces or tabs; blank
 * lines are ignored. Throws a DatasetError naming `source:line` for a line that is not a name
 * and an id, an id outside 1..7, a name that starts with neither `train` nor `test`, a name
 * with a path separator (it would reach outside `Image/`), or a name listed twice.
 *
 * @example
 * ```ts
 * import { parseRafLabels } from "./raf_db.ts";
 * const rows = parseRafLabels("train_00001.jpg 5\ntest_0001.jpg 7\n", "list_patition_label.txt");
 * // id 5 = sadness = CLASSES[4]; id 7 = neutral = CLASSES[6]
 * if (rows[0].label !== 4 || rows[1].split !== "test" || rows[1].label !== 6) throw new Error("bad parse");
 * ```
 */
export function parseRafLabels(text: string, source: string): RafLabelLine[] {
  const out: RafLabelLine[] = [];
  const seen = new Set<string>();
  const lines = textLines(text, source);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === "") continue;
    const at = `${source}:${i + 1}`;
    const parts = raw.split(/\s+/);
    if (parts.length !== 2) {
      throw new DatasetError(`${at}: expected '<image name> <label 1-7>', got '${raw.slice(0, 80)}'`);
    }
    const [name, idText] = parts;
    const id = Number(idText);
    if (!/^\d+$/.test(idText) || id < 1 || id > CLASSES.length) {
      throw new DatasetError(`${at}: unknown label id '${idText}' for ${name}; expected 1..7 (${CLASSES.join(", ")})`);
    }
    const split = name.startsWith("train") ? "train" : name.startsWith("test") ? "test" : null;
    if (split === null) {
      throw new DatasetError(`${at}: image name '${name}' starts with neither 'train' nor 'test' (the split)`);
    }
    if (/[\/\\]/.test(name)) {
      throw new DatasetError(`${at}: image name '${name.slice(0, 80)}' has a path separator; expected a file name`);
    }
    if (seen.has(name)) throw new DatasetError(`${at}: ${name} is listed twice`);
    seen.add(name);
    out.push({ name, split, label: id - 1, line: i + 1 });
  }
  return out;
}

/** The aligned image of a listed name: `train_00001.jpg` -> `Image/aligned/train_00001_aligned.jpg`. */
export function rafAlignedPath(root: string, name: string): string {
  const dot = name.indexOf(".");
  const stem = dot < 0 ? name : name.slice(0, dot); // the official code keeps what precedes the first dot
  return join(root, "Image", "aligned", `${stem}_aligned.jpg`);
}

/**
 * Reads RAF-DB's label file under `root` and lists both splits. Images are not opened here:
 * a listed image that is absent is found (and skipped) when the data set is loaded.
 */
export async function indexRafDb(root: string): Promise<DatasetIndex> {
  const abs = resolve(root);
  await requireDataPath(abs, `the RAF-DB root holding ${RAF_LABEL_FILE} and Image/aligned/`);
  const labelPath = join(abs, RAF_LABEL_FILE);
  const rows = parseRafLabels(utf8(await readLabelFile(labelPath, "RAF-DB label file")), labelPath);
  const index: DatasetIndex = { name: "raf-db", root: abs, classes: CLASSES, train: [], test: [], notes: [] };
  for (const r of rows) {
    const ref: SampleRef = { id: r.name, source: { kind: "file", path: rafAlignedPath(abs, r.name) }, label: r.label };
    index[r.split].push(ref);
  }
  return index;
}

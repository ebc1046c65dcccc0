/**
 * AffectNet, in the two layouts users have:
 *
 * - the layout the official Ada-DF code reads (dataset.py, AffectDataset_7label.get_df):
 *   `train_set/images/<id>.jpg` with `train_set/annotations/<id>_exp.npy`, and the same under
 *   `val_set/` (the test split). Each `_exp.npy` holds one numpy scalar, a string such as
 *   `'3'` (dtype `<U1`) or an integer; the code reads it with `int(np.load(path))`.
 * - the original release: `training.csv` and `validation.csv` (in the root or in
 *   `Manually_Annotated_file_lists/`) with the columns `subDirectory_filePath, face_x, face_y,
 *   face_width, face_height, facial_landmarks, expression, valence, arousal`; the images
 *   under `Manually_Annotated_Images/` (or `Manually_Annotated/Manually_Annotated_Images/`);
 *   the face box is cropped before resizing.
 *
 * AffectNet's ids are 0 neutral, 1 happy, 2 sad, 3 surprise, 4 fear, 5 disgust, 6 anger,
 * 7 contempt, 8 none, 9 uncertain, 10 non-face. Ids 8-10 are not expressions and are dropped;
 * the 7-class mode (the paper's AffectNet-7) also drops contempt, as the official code does
 * (`idxs = np.where(self.label != 7)`). The rest map onto `CLASSES`; in the 8-class mode
 * contempt becomes index 7. (The official code keeps AffectNet's own order; we map so that
 * outputs and figures have one class order.)
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import { CLASSES } from "../classes.ts";
import { parseNpyHeader } from "../../util/files.ts";
import { columnIndices, splitCsvLine, textLines } from "./_csv.ts";
import { isDir, isFile, listDir, mapLimit, readLabelFile, requireDataPath, utf8 } from "./_io.ts";
import { type CropBox, DatasetError, type DatasetIndex, type SampleRef } from "./types.ts";

/** AffectNet id (0..7) -> `CLASSES` index; contempt (7) maps to 7, which exists only in the 8-class mode. */
export const AFFECTNET_TO_CLASSES: readonly number[] = [
  CLASSES.indexOf("neutral"),
  CLASSES.indexOf("happiness"),
  CLASSES.indexOf("sadness"),
  CLASSES.indexOf("surprise"),
  CLASSES.indexOf("fear"),
  CLASSES.indexOf("disgust"),
  CLASSES.indexOf("anger"),
  7,
];

/** The class names of the 8-class mode: `CLASSES` then contempt. */
export const AFFECTNET8_CLASSES: readonly string[] = [...CLASSES, "contempt"];

/** Why an AffectNet id has no class in the chosen mode, or null when it maps. */
const DROPPED: Record<number, string> = { 8: "none (8)", 9: "uncertain (9)", 10: "non-face (10)" };

/**
 * Maps an AffectNet expression id to a class index, or returns null for an id that is kept out
 * (8-10 always, 7 contempt in the 7-class mode). Throws a DatasetError naming `options.at` for any
 * other value.
 */
export function mapAffectNetLabel(id: number, options: { classes: 7 | 8; at: string }): number | null {
  const { classes, at } = options;
  if (!Number.isInteger(id) || id < 0 || id > 10) {
    throw new DatasetError(`${at}: unknown AffectNet expression id ${id}; expected 0..10 (0-7 expressions, 8-10 none)`);
  }
  if (id >= 8) return null;
  if (id === 7 && classes === 7) return null;
  return AFFECTNET_TO_CLASSES[id];
}

/** The reason an id is dropped, for the index notes. */
function dropReason(id: number): string {
  return DROPPED[id] ?? "contempt (7)";
}

/**
 * Reads the one number a numpy scalar `.npy` holds (shape `()` or `(1,)`): unicode strings
 * (`<U1`, `<U2`...), byte strings (`|S1`...), integers (`<i8`, `<i4`, `|u1`...), floats
 * (`<f4`, `<f8`) and booleans. A string must be a decimal integer. Throws a DatasetError naming
 * `source` for anything else (another dtype, several values, big-endian data, not a .npy).
 *
 * @example
 * ```ts
 * import { readNpyScalar } from "./affectnet.ts";
 * // np.save(f, np.array('3')): dtype '<U1', one UTF-32 code unit after a 128-byte preamble
 * const header = "{'descr': '<U1', 'fortran_order': False, 'shape': (), }".padEnd(117) + "\n";
 * const bytes = new Uint8Array(128 + 4);
 * bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0]);
 * bytes.set(new TextEncoder().encode(header), 10);
 * bytes.set([0x33, 0, 0, 0], 128);
 * if (readNpyScalar(bytes, "0_exp.npy") !== 3) throw new Error("expected 3");
 * ```
 */
export function readNpyScalar(bytes: Uint8Array, source: string): number {
  let header;
  try {
    header = parseNpyHeader(bytes); // numpy's dict literal, not regexes
  } catch (e) {
    throw new DatasetError(`${source}: ${(e as Error).message.split("\n")[0]}`);
  }
  const { descr, shape } = header;
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== 1) {
    throw new DatasetError(`${source}: expected one value (shape () or (1,)), got shape (${shape.join(", ")})`);
  }
  const data = bytes.subarray(header.dataStart);
  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr);
  if (!m) {
    throw new DatasetError(`${source}: .npy dtype '${descr}' is not supported; expected a string or number scalar`);
  }
  const [, order, kind, sizeText] = m;
  const size = Number(sizeText);
  if (size > 64) throw new DatasetError(`${source}: .npy dtype '${descr}' is too wide for a label (at most 64)`);
  if (order === ">" && size > 1) throw new DatasetError(`${source}: big-endian .npy dtype '${descr}' is not supported`);
  const need = kind === "U" ? 4 * size : size;
  if (data.length < need) throw new DatasetError(`${source}: .npy data is truncated (${data.length} of ${need} bytes)`);
  const dv = new DataView(data.buffer, data.byteOffset, need);
  let text: string | null = null;
  let value: number;
  if (kind === "U" || kind === "S") {
    let s = "";
    for (let i = 0; i < size; i++) {
      const code = kind === "U" ? dv.getUint32(4 * i, true) : dv.getUint8(i);
      if (code === 0) break; // numpy pads short strings with NULs
      s += String.fromCodePoint(code);
    }
    text = s.trim();
    value = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
  } else if (kind === "i" || kind === "u") {
    if (size === 1) value = kind === "i" ? dv.getInt8(0) : dv.getUint8(0);
    else if (size === 2) value = kind === "i" ? dv.getInt16(0, true) : dv.getUint16(0, true);
    else if (size === 4) value = kind === "i" ? dv.getInt32(0, true) : dv.getUint32(0, true);
    else if (size === 8) value = Number(kind === "i" ? dv.getBigInt64(0, true) : dv.getBigUint64(0, true));
    else throw new DatasetError(`${source}: .npy dtype '${descr}' is not supported`);
  } else if (kind === "f" && (size === 4 || size === 8)) {
    value = size === 4 ? dv.getFloat32(0, true) : dv.getFloat64(0, true);
  } else if (kind === "b" && size === 1) {
    value = dv.getUint8(0);
  } else {
    throw new DatasetError(`${source}: .npy dtype '${descr}' is not supported; expected a string or number scalar`);
  }
  if (!Number.isFinite(value)) {
    throw new DatasetError(`${source}: the .npy holds ${text !== null ? `'${text}'` : value}, not an integer label`);
  }
  return value;
}

/** One row of an AffectNet CSV (training.csv / validation.csv). */
export interface AffectNetCsvRow {
  /** `subDirectory_filePath`, e.g. `689/737db2483489148d783ef278f43f486c0a97e140fc4b6b61b84363ca.jpg`. */
  path: string;
  /** The face box (`face_x, face_y, face_width, face_height`). */
  crop: CropBox;
  /** AffectNet's expression id, 0..10. */
  expression: number;
  /** 1-based line number. */
  line: number;
}

/** The CSV columns in the original release's order (validation.csv may come without a header). */
export const AFFECTNET_CSV_COLUMNS = [
  "subDirectory_filePath",
  "face_x",
  "face_y",
  "face_width",
  "face_height",
  "facial_landmarks",
  "expression",
  "valence",
  "arousal",
] as const;

/**
 * Parses an AffectNet CSV of the original release. The header row is optional (when the
 * first field is not `subDirectory_filePath` the release's column order is assumed). Throws
 * a DatasetError naming `source:line` for a short row, a face box that is not 4 numbers with
 * positive width and height, or an expression id outside 0..10.
 *
 * @example
 * ```ts
 * import { parseAffectNetCsv } from "./affectnet.ts";
 * const csv = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal\n" +
 *   "12/a.jpg,10,20,100,110,1.0;2.0,3,0.5,0.2\n";
 * const [row] = parseAffectNetCsv(csv, "training.csv");
 * if (row.expression !== 3 || row.crop.w !== 100 || row.line !== 2) throw new Error("bad parse");
 * ```
 */
export function parseAffectNetCsv(text: string, source: string): AffectNetCsvRow[] {
  const lines = textLines(text, source);
  let first = 0;
  let cols: Record<(typeof AFFECTNET_CSV_COLUMNS)[number], number>;
  const head = lines.length > 0 ? splitCsvLine(lines[0]) : [];
  if (head.length > 0 && head[0].trim().toLowerCase() === "subdirectory_filepath") {
    cols = columnIndices(head, { wanted: AFFECTNET_CSV_COLUMNS, source });
    first = 1;
  } else {
    cols = Object.fromEntries(AFFECTNET_CSV_COLUMNS.map((c, i) => [c, i])) as typeof cols;
  }
  const need =
    Math.max(cols.subDirectory_filePath, cols.face_x, cols.face_y, cols.face_width, cols.face_height, cols.expression) +
    1;
  const out: AffectNetCsvRow[] = [];
  for (let i = first; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    const at = `${source}:${i + 1}`;
    const f = splitCsvLine(lines[i]);
    if (f.length < need) {
      throw new DatasetError(
        `${at}: expected ${AFFECTNET_CSV_COLUMNS.length} columns (${
          AFFECTNET_CSV_COLUMNS.join(", ")
        }), got ${f.length}`,
      );
    }
    const [x, y, w, h] = [cols.face_x, cols.face_y, cols.face_width, cols.face_height].map((c) => Number(f[c].trim()));
    if (![x, y, w, h].every(Number.isFinite) || !(w > 0 && h > 0)) {
      throw new DatasetError(`${at}: the face box (${[x, y, w, h].join(", ")}) is not x, y, width > 0, height > 0`);
    }
    const exprText = f[cols.expression].trim();
    const expression = /^\d+$/.test(exprText) ? Number(exprText) : NaN;
    if (!(expression >= 0 && expression <= 10)) {
      throw new DatasetError(
        `${at}: unknown AffectNet expression id '${exprText}'; expected 0..10 (0-7 expressions, 8-10 none)`,
      );
    }
    out.push({ path: f[cols.subDirectory_filePath].trim(), crop: { x, y, w, h }, expression, line: i + 1 });
  }
  return out;
}

/** Options of {@linkcode indexAffectNet}. */
export interface AffectNetOptions {
  /** 7 (default, drops contempt: the paper's AffectNet-7) or 8 classes. */
  classes?: 7 | 8;
}

/** Counts of dropped ids, as a note. */
function dropNote(split: string, dropped: Map<string, number>): string[] {
  if (dropped.size === 0) return [];
  const parts = [...dropped].map(([why, n]) => `${n} ${why}`);
  return [`${split}: dropped ${parts.join(", ")}`];
}

/** The official code's npy layout: `<set>/annotations/<id>_exp.npy` and `<set>/images/<id>.jpg`. */
async function npySplit(
  setDir: string,
  classes: 7 | 8,
): Promise<{ refs: SampleRef[]; dropped: Map<string, number> }> {
  const annDir = join(setDir, "annotations");
  const names = (await listDir(annDir)).filter((e) => !e.isDir && e.name.endsWith("_exp.npy")).map((e) => e.name);
  const labels = await mapLimit(names, async (name) => {
    const path = join(annDir, name);
    return readNpyScalar(await readLabelFile(path, "AffectNet annotation"), path);
  }, { limit: 32 });
  const refs: SampleRef[] = [];
  const dropped = new Map<string, number>();
  for (let i = 0; i < names.length; i++) {
    const id = names[i].split("_")[0]; // as the official code: basename.split('_')[0]
    const path = join(annDir, names[i]);
    const label = mapAffectNetLabel(labels[i], { classes, at: path });
    if (label === null) {
      const why = dropReason(labels[i]);
      dropped.set(why, (dropped.get(why) ?? 0) + 1);
      continue;
    }
    refs.push({ id, source: { kind: "file", path: join(setDir, "images", `${id}.jpg`) }, label });
  }
  return { refs, dropped };
}

/** The first of the release's CSV locations that exists. */
async function findCsv(root: string, name: string): Promise<string | null> {
  for (const p of [join(root, name), join(root, "Manually_Annotated_file_lists", name)]) {
    if (await isFile(p)) return p;
  }
  return null;
}

/**
 * Lists AffectNet under `root` in whichever layout it finds: the npy layout (`train_set/`,
 * `val_set/`) when `train_set/annotations/` exists, else the release's CSVs. Throws a
 * DatasetError when neither layout is there.
 */
export async function indexAffectNet(root: string, options: AffectNetOptions = {}): Promise<DatasetIndex> {
  const abs = resolve(root);
  const classes = options.classes ?? 7;
  if (classes !== 7 && classes !== 8) throw new RangeError(`AffectNet classes must be 7 or 8, got ${classes}`);
  const expected =
    "the AffectNet root holding train_set/ and val_set/ (images/<id>.jpg, annotations/<id>_exp.npy) or training.csv and validation.csv with Manually_Annotated_Images/";
  await requireDataPath(abs, expected);
  const index: DatasetIndex = {
    name: "affectnet",
    root: abs,
    classes: classes === 7 ? CLASSES : AFFECTNET8_CLASSES,
    train: [],
    test: [],
    notes: [],
  };
  if (await isDir(join(abs, "train_set", "annotations"))) {
    index.notes.push(
      "layout: train_set/ and val_set/ with <id>_exp.npy annotations (the official code's); val_set is the test split",
    );
    for (const [split, dir] of [["train", "train_set"], ["test", "val_set"]] as const) {
      const setDir = join(abs, dir);
      if (!(await isDir(join(setDir, "annotations")))) {
        throw new DatasetError(
          `${join(setDir, "annotations")} is missing; expected the ${dir} annotations (<id>_exp.npy)`,
        );
      }
      const { refs, dropped } = await npySplit(setDir, classes);
      index[split] = refs;
      index.notes.push(...dropNote(split, dropped));
    }
    return index;
  }
  const trainCsv = await findCsv(abs, "training.csv");
  const testCsv = await findCsv(abs, "validation.csv");
  if (trainCsv === null && testCsv === null) {
    throw new DatasetError(`data path ${abs} has no AffectNet labels; expected ${expected}`);
  }
  if (trainCsv === null || testCsv === null) {
    throw new DatasetError(
      `${
        join(abs, trainCsv === null ? "training.csv" : "validation.csv")
      } is missing; expected both training.csv and validation.csv`,
    );
  }
  let imageDir = abs;
  for (
    const d of [join(abs, "Manually_Annotated_Images"), join(abs, "Manually_Annotated", "Manually_Annotated_Images")]
  ) {
    if (await isDir(d)) {
      imageDir = d;
      break;
    }
  }
  index.notes.push(
    `layout: the release's training.csv / validation.csv (validation is the test split); images in ${imageDir}; face boxes cropped`,
  );
  for (const [split, csv] of [["train", trainCsv], ["test", testCsv]] as const) {
    const rows = parseAffectNetCsv(utf8(await readLabelFile(csv, "AffectNet CSV")), csv);
    const dropped = new Map<string, number>();
    for (const r of rows) {
      const label = mapAffectNetLabel(r.expression, { classes, at: `${csv}:${r.line}` });
      if (label === null) {
        const why = dropReason(r.expression);
        dropped.set(why, (dropped.get(why) ?? 0) + 1);
        continue;
      }
      index[split].push({ id: r.path, source: { kind: "file", path: join(imageDir, r.path), crop: r.crop }, label });
    }
    index.notes.push(...dropNote(`${split} (${basename(csv)})`, dropped));
  }
  return index;
}

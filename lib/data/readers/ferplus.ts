/**
 * FERPlus: `fer2013new.csv` beside `fer2013.csv`, one row per fer2013.csv row (same order),
 * `Usage, Image name, neutral, happiness, surprise, sadness, anger, disgust, fear, contempt,
 * unknown, NF`: ten crowd-sourced votes per face. The pixels come from fer2013.csv.
 *
 * Labels from the votes (our choice, for the 7 classes of `CLASSES`):
 * - the crowd distribution is the 7 expression votes (neutral ... fear, mapped to `CLASSES`
 *   order) divided by their sum; contempt, unknown and NF votes are left out of it. Every
 *   vote counts (FERPlus's training code drops single votes as outliers; a distribution to
 *   compare against keeps them).
 * - the label is the expression with the most votes.
 * - a face is skipped when: its row has no image name (FERPlus removed it), it has no
 *   expression vote, contempt, unknown or NF has strictly more votes than the top expression
 *   (the crowd did not see one of the 7 expressions), or two expressions tie for the most
 *   votes (no majority label: FERPlus's majority mode discards such faces too, since a tie
 *   never has more than half the votes).
 * - splits as FER2013: Training is the training split, PrivateTest the test split,
 *   PublicTest (the validation set) is not used.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { CLASSES, NUM_CLASSES } from "../classes.ts";
import { columnIndices, splitCsvLine, textLines } from "./_csv.ts";
import { readLabelFile, requireDataPath, utf8 } from "./_io.ts";
import { FER2013_SIZE, fer2013Split, ferImageName, findFer2013Csv, readFer2013 } from "./fer2013.ts";
import { DatasetError, type DatasetIndex } from "./types.ts";

/** The vote columns of fer2013new.csv, in the file's order. */
export const FERPLUS_VOTE_COLUMNS = [
  "neutral",
  "happiness",
  "surprise",
  "sadness",
  "anger",
  "disgust",
  "fear",
  "contempt",
  "unknown",
  "NF",
] as const;

/** The first 7 vote columns (neutral ... fear) -> `CLASSES` index. */
export const FERPLUS_TO_CLASSES: readonly number[] = FERPLUS_VOTE_COLUMNS.slice(0, 7).map((c) =>
  CLASSES.indexOf(c as (typeof CLASSES)[number])
);

/** One row of fer2013new.csv. */
export interface FerPlusRow {
  /** 0-based data row: the fer2013.csv row it labels. */
  row: number;
  /** 1-based line number. */
  line: number;
  usage: string;
  /** `Image name`, e.g. `fer0000000.png`; empty for faces FERPlus removed. */
  name: string;
  /** The 10 vote counts in the file's column order. */
  votes: number[];
}

/**
 * Parses fer2013new.csv (header required, columns found by name). Throws a DatasetError naming
 * `source:line` for a short row or a vote that is not a non-negative number.
 *
 * @example
 * ```ts
 * import { parseFerPlusCsv } from "./ferplus.ts";
 * const csv = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n" +
 *   "Training,fer0000000.png,4,0,0,1,3,2,0,0,0,0\n";
 * const [row] = parseFerPlusCsv(csv, "fer2013new.csv");
 * if (row.name !== "fer0000000.png" || row.votes[0] !== 4 || row.votes.length !== 10) throw new Error("bad parse");
 * ```
 */
export function parseFerPlusCsv(text: string, source: string): FerPlusRow[] {
  const lines = textLines(text, source);
  if (lines.length === 0) {
    throw new DatasetError(`${source} is empty; expected the header Usage,Image name,neutral,...,NF`);
  }
  const cols = columnIndices(splitCsvLine(lines[0]), {
    wanted: ["Usage", "Image name", ...FERPLUS_VOTE_COLUMNS],
    source,
  });
  const need = Math.max(...Object.values<number>(cols)) + 1;
  const out: FerPlusRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    const at = `${source}:${i + 1}`;
    const f = splitCsvLine(lines[i]);
    if (f.length < need) throw new DatasetError(`${at}: expected ${need} columns, got ${f.length}`);
    const votes = FERPLUS_VOTE_COLUMNS.map((c) => {
      const t = f[cols[c]].trim();
      const v = Number(t);
      if (t === "" || !Number.isFinite(v) || v < 0) {
        throw new DatasetError(`${at}: the ${c} vote '${t}' is not a non-negative number`);
      }
      return v;
    });
    out.push({ row: out.length, line: i + 1, usage: f[cols.Usage].trim(), name: f[cols["Image name"]].trim(), votes });
  }
  return out;
}

/** A face's label and crowd distribution, or why it has none. */
export type FerPlusLabel =
  | { label: number; crowd: Float32Array /* [7], CLASSES order */ }
  | { label: null; reason: "no expression votes" | "contempt/unknown/NF majority" | "tied expressions" };

/**
 * The label and crowd distribution of a face from its 10 votes (module doc: the rules).
 *
 * @example
 * ```ts
 * import { ferPlusLabel } from "./ferplus.ts";
 * import { CLASSES } from "../classes.ts";
 * // 4 neutral, 1 sadness, 3 anger, 2 disgust
 * const r = ferPlusLabel([4, 0, 0, 1, 3, 2, 0, 0, 0, 0]);
 * if (r.label !== CLASSES.indexOf("neutral")) throw new Error("neutral has the most votes");
 * if (Math.abs(r.crowd[CLASSES.indexOf("anger")] - 0.3) > 1e-6) throw new Error("3 of 10 votes");
 * ```
 */
export function ferPlusLabel(votes: readonly number[]): FerPlusLabel {
  if (votes.length !== FERPLUS_VOTE_COLUMNS.length) {
    throw new RangeError(
      `expected ${FERPLUS_VOTE_COLUMNS.length} votes (${FERPLUS_VOTE_COLUMNS.join(", ")}), got ${votes.length}`,
    );
  }
  const e = new Float32Array(NUM_CLASSES);
  for (let j = 0; j < 7; j++) e[FERPLUS_TO_CLASSES[j]] = votes[j];
  let sum = 0, top = -1, best = -1, ties = 0;
  for (let c = 0; c < NUM_CLASSES; c++) {
    sum += e[c];
    if (e[c] > top) {
      top = e[c];
      best = c;
      ties = 1;
    } else if (e[c] === top) ties++;
  }
  if (sum <= 0) return { label: null, reason: "no expression votes" };
  if (Math.max(votes[7], votes[8], votes[9]) > top) return { label: null, reason: "contempt/unknown/NF majority" };
  if (ties > 1) return { label: null, reason: "tied expressions" };
  for (let c = 0; c < NUM_CLASSES; c++) e[c] /= sum;
  return { label: best, crowd: e };
}

/** Lists FERPlus under `root`: fer2013new.csv's labels on fer2013.csv's pixels. */
export async function indexFerPlus(root: string): Promise<DatasetIndex> {
  const abs = resolve(root);
  await requireDataPath(abs, "a folder holding fer2013.csv and FERPlus's fer2013new.csv");
  const csvDir = (await findFer2013Csv(abs))?.replace(/fer2013\.csv$/, "") ?? abs;
  const newPath = [join(abs, "fer2013new.csv"), join(csvDir, "fer2013new.csv")];
  let bytes: Uint8Array | null = null;
  let path = newPath[0];
  for (const p of newPath) {
    try {
      bytes = await readLabelFile(p, "FERPlus labels");
      path = p;
      break;
    } catch { /* try the next place */ }
  }
  if (bytes === null) {
    throw new DatasetError(`${newPath[0]} is missing; expected FERPlus's fer2013new.csv beside fer2013.csv`);
  }
  const labels = parseFerPlusCsv(utf8(bytes), path);
  const fer = await readFer2013(abs);
  if (labels.length !== fer.rows.length) {
    throw new DatasetError(
      `${path} has ${labels.length} rows but ${fer.path} has ${fer.rows.length}; expected one FERPlus row per FER2013 row`,
    );
  }
  const index: DatasetIndex = { name: "ferplus", root: abs, classes: CLASSES, train: [], test: [], notes: [] };
  const skipped = new Map<string, number>();
  const count = (why: string) => skipped.set(why, (skipped.get(why) ?? 0) + 1);
  for (const r of labels) {
    const split = fer2013Split(r.usage);
    if (split === null) {
      throw new DatasetError(
        `${path}:${r.line}: unknown Usage '${r.usage}'; expected Training, PublicTest or PrivateTest`,
      );
    }
    if (split === "validation") continue;
    if (r.name === "") {
      count("no image name");
      continue;
    }
    const l = ferPlusLabel(r.votes);
    if (l.label === null) {
      count(l.reason);
      continue;
    }
    const px = fer.rows[r.row].pixels;
    index[split].push({
      id: ferImageName(r.row),
      source: { kind: "pixels", pixels: px, width: FER2013_SIZE, height: FER2013_SIZE, channels: 1 },
      label: l.label,
      crowd: l.crowd,
    });
  }
  index.notes.push(
    "labels: the most-voted of the 7 expressions; crowd distribution: the 7 expression votes normalised (contempt, unknown, NF left out)",
    "Training is the training split, PrivateTest the test split; PublicTest (validation) is not used",
  );
  if (skipped.size > 0) index.notes.push(`skipped faces: ${[...skipped].map(([w, n]) => `${n} ${w}`).join(", ")}`);
  return index;
}

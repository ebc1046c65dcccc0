/**
 * Synthetic label noise, as in the paper's noisy-label experiments (after RUL/SCN/EAC):
 * a fixed share of each class's training labels is replaced by a random other class.
 *
 * @module
 */
import type { Prng } from "../util/prng.ts";
import { NUM_CLASSES } from "./classes.ts";
import { parseRafLabels } from "./readers/raf_db.ts";

/**
 * Flips `rate` of the labels of every class: within each class, floor(rate * count) labels
 * chosen uniformly at random are replaced by a different class drawn uniformly from the
 * other `numClasses - 1`. Per-class flooring (not rounding) means a class never loses more
 * than the stated share, and a class with fewer than 1 / rate samples keeps all its labels.
 * The input is not mutated. `flipped` lists the changed indices in increasing order.
 *
 * @example
 * ```ts
 * import { flipLabels } from "./label_noise.ts";
 * import { Prng } from "../util/prng.ts";
 * const labels = Int32Array.from({ length: 100 }, (_, i) => i % 4);
 * const { labels: noisy, flipped } = flipLabels(labels, 0.2, 4, new Prng(0));
 * if (flipped.length !== 20) throw new Error("5 of each class's 25 labels should flip");
 * if (flipped.some((i) => noisy[i] === labels[i])) throw new Error("a flip always changes the class");
 * ```
 */
export function flipLabels(
  labels: Int32Array,
  rate: number,
  numClasses: number,
  prng: Prng,
): { labels: Int32Array; flipped: Int32Array } {
  if (typeof rate !== "number" || !(rate >= 0 && rate < 1)) {
    throw new RangeError(`rate must be in [0, 1), got ${rate}`);
  }
  if (!(Number.isInteger(numClasses) && numClasses >= 2)) {
    throw new RangeError(`numClasses must be an integer >= 2 (a flip needs another class), got ${numClasses}`);
  }
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!(Number.isInteger(c) && c >= 0 && c < numClasses)) {
      throw new RangeError(`labels[${i}] = ${c} is not a class index in [0, ${numClasses})`);
    }
    byClass[c].push(i);
  }
  const out = Int32Array.from(labels);
  const flipped: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const members = prng.shuffle(byClass[c].slice());
    const k = Math.floor(rate * members.length);
    for (let j = 0; j < k; j++) {
      const i = members[j];
      // uniform over the other classes: draw from numClasses - 1 and skip c
      const r = prng.int(numClasses - 1);
      out[i] = r >= c ? r + 1 : r;
      flipped.push(i);
    }
  }
  return { labels: out, flipped: Int32Array.from(flipped.sort((a, b) => a - b)) };
}

/** One line of a noisy label file: the image's name and its (noisy) label in `CLASSES` order. */
export interface NoiseEntry {
  name: string;
  label: number;
  /** `file:line`, for messages. */
  at: string;
}

/**
 * Parses a noisy label file as peers publish them for RAF-DB (EAC's `EmoLabel/noise01.txt`,
 * `noise02.txt`, `noise03.txt`): the lines of RAF-DB's label file, `train_00001.jpg 5`, for
 * the training images, some with a changed id (1..7 = surprise, fear, disgust, happiness,
 * sadness, anger, neutral). Throws a DatasetError naming `source:line` for a bad line or id.
 *
 * @example
 * ```ts
 * import { parseNoiseFile } from "./label_noise.ts";
 * const entries = parseNoiseFile("train_00001.jpg 5\ntrain_00002.jpg 1\n", "noise01.txt");
 * if (entries[1].label !== 0 || entries[1].at !== "noise01.txt:2") throw new Error("bad parse");
 * ```
 */
export function parseNoiseFile(text: string, source: string): NoiseEntry[] {
  return parseRafLabels(text, source).map((r) => ({ name: r.name, label: r.label, at: `${source}:${r.line}` }));
}

/**
 * Replaces the training labels by a noise file's: `train.ids[i]`'s label becomes its entry's
 * label; samples the file does not list keep theirs. Names in `options.skipped` (images that
 * could not be decoded) are ignored. Throws a RangeError naming the line for a name that is
 * not in the training split. The input is not mutated; `flipped` lists, in increasing order,
 * the indices whose label changed (the run records them).
 *
 * @example
 * ```ts
 * import { applyNoiseFile } from "./label_noise.ts";
 * const train = { ids: ["train_00001.jpg", "train_00002.jpg"], labels: Int32Array.from([4, 3]) };
 * const { labels, flipped } = applyNoiseFile(train, [{ name: "train_00002.jpg", label: 0, at: "noise01.txt:2" }]);
 * if (labels[1] !== 0 || flipped.length !== 1 || flipped[0] !== 1) throw new Error("one flip expected");
 * ```
 */
export function applyNoiseFile(
  train: { ids: readonly string[]; labels: Int32Array },
  entries: readonly NoiseEntry[],
  options: { skipped?: Iterable<string>; numClasses?: number } = {},
): { labels: Int32Array; flipped: Int32Array } {
  if (train.ids.length !== train.labels.length) {
    throw new RangeError(`ids (${train.ids.length}) and labels (${train.labels.length}) differ in length`);
  }
  const numClasses = options.numClasses ?? NUM_CLASSES;
  const where = new Map<string, number>();
  train.ids.forEach((id, i) => where.set(id, i));
  const skipped = new Set(options.skipped ?? []);
  const out = Int32Array.from(train.labels);
  for (const e of entries) {
    const i = where.get(e.name);
    if (i === undefined) {
      if (skipped.has(e.name)) continue;
      throw new RangeError(
        `${e.at}: ${e.name} is not in the training split; a noise file relabels training images only`,
      );
    }
    if (!(Number.isInteger(e.label) && e.label >= 0 && e.label < numClasses)) {
      throw new RangeError(`${e.at}: label ${e.label} is not a class index in [0, ${numClasses})`);
    }
    out[i] = e.label;
  }
  const flipped: number[] = [];
  for (let i = 0; i < out.length; i++) if (out[i] !== train.labels[i]) flipped.push(i);
  return { labels: out, flipped: Int32Array.from(flipped) };
}

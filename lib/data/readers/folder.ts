/**
 * ImageFolder-style trees (torchvision's `ImageFolder`): one sub-folder per class, named after
 * it, holding that class's images (in nested folders too). Folder names are matched to
 * `CLASSES` case-insensitively, with the usual aliases (happy, sad, angry, surprised, fearful,
 * disgusted...), so the order of the folders never decides the label: torchvision numbers the
 * folders alphabetically (SFEW: Angry=0 ... Surprise=6), we always use `CLASSES`' order.
 *
 * @module
 */
import { join, relative, resolve, sep } from "node:path";
import { CLASSES } from "../classes.ts";
import { isImageName, listDir, requireDataPath } from "./_io.ts";
import { DatasetError, type DatasetIndex, type SampleRef } from "./types.ts";

/** Accepted folder names of each class (lower case), `CLASSES` order. */
export const CLASS_ALIASES: readonly (readonly string[])[] = [
  ["surprise", "surprised", "surprising"],
  ["fear", "fearful", "afraid", "scared"],
  ["disgust", "disgusted", "disgusting"],
  ["happiness", "happy", "joy", "happiness"],
  ["sadness", "sad"],
  ["anger", "angry"],
  ["neutral", "neutrality", "calm"],
];

/**
 * The `CLASSES` index a folder name stands for, or undefined. Case and a leading number
 * (`3_happy`, `03-Happy`) are ignored.
 *
 * @example
 * ```ts
 * import { classOfFolderName } from "./folder.ts";
 * if (classOfFolderName("Happy") !== 3 || classOfFolderName("1_Surprised") !== 0) throw new Error("bad alias");
 * if (classOfFolderName("contempt") !== undefined) throw new Error("not one of the 7 classes");
 * ```
 */
export function classOfFolderName(name: string): number | undefined {
  const key = name.trim().toLowerCase().replace(/^\d+[\s._-]*/, "");
  const c = CLASS_ALIASES.findIndex((aliases) => aliases.includes(key));
  return c < 0 ? undefined : c;
}

/**
 * Maps each class folder name to its class; throws a DatasetError naming `where` and listing
 * the accepted names when a folder matches no class or two folders match the same class.
 */
export function resolveClassFolders(names: readonly string[], where: string): Map<string, number> {
  const out = new Map<string, number>();
  const byClass = new Map<number, string>();
  const unknown = names.filter((n) => classOfFolderName(n) === undefined);
  if (unknown.length > 0) {
    throw new DatasetError(
      `${where}: folder(s) ${
        unknown.map((n) => `'${n}'`).join(", ")
      } name no class; expected one folder per class named ${
        CLASS_ALIASES.map((a) => a.slice(0, 2).join("|")).join(", ")
      } (any case)`,
    );
  }
  for (const n of names) {
    const c = classOfFolderName(n)!;
    const other = byClass.get(c);
    if (other !== undefined) {
      throw new DatasetError(`${where}: folders '${other}' and '${n}' both stand for ${CLASSES[c]}; keep one`);
    }
    byClass.set(c, n);
    out.set(n, c);
  }
  return out;
}

/** Every image file under `dir` (recursively, hidden entries skipped), sorted, as absolute paths. */
async function walkImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await listDir(dir)) {
    if (e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDir) out.push(...await walkImages(p));
    else if (isImageName(e.name)) out.push(p);
  }
  return out;
}

/**
 * Lists one ImageFolder tree: `dir/<class>/**.jpg`. Sample ids are paths relative to `root`
 * with `/` separators. Throws a DatasetError for an unknown class folder.
 */
export async function indexClassFolders(dir: string, root: string): Promise<SampleRef[]> {
  const folders = (await listDir(dir)).filter((e) => e.isDir && !e.name.startsWith(".")).map((e) => e.name);
  const classes = resolveClassFolders(folders, dir);
  const refs: SampleRef[] = [];
  for (const name of folders) {
    for (const path of await walkImages(join(dir, name))) {
      refs.push({
        id: relative(root, path).split(sep).join("/"),
        source: { kind: "file", path },
        label: classes.get(name)!,
      });
    }
  }
  return refs;
}

/** Split folder names, lower case: the first one present is used. */
const TRAIN_NAMES = ["train", "training"];
const TEST_NAMES = ["test", "testing", "val", "validation", "valid"];

/** The entry of `names` whose lower case is the first of `wanted`, if any. */
export function pickFolder(names: readonly string[], wanted: readonly string[]): string | undefined {
  for (const w of wanted) {
    const hit = names.find((n) => n.toLowerCase() === w);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** FNV-1a 32-bit hash of a string, for the seed-free hold-out split. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The share of images held out for testing when a folder tree has no split folders. */
export const FOLDER_TEST_SHARE = 0.2;

/**
 * True when a sample (by its id) goes to the test split of a tree without split folders:
 * a hash of the id, so the split depends on nothing but the file names and is the same in
 * every run and on every machine.
 */
export function isHeldOut(id: string): boolean {
  return fnv1a(id) / 4294967296 < FOLDER_TEST_SHARE;
}

/**
 * Lists an ImageFolder-style data set. With `train/` and `test/` (or `val/`) folders (any
 * case), each is one split. Otherwise `root` itself holds the class folders and about 20 % of
 * each class (chosen by a hash of the file name, see {@linkcode isHeldOut}) is the test split.
 */
export async function indexFolder(root: string): Promise<DatasetIndex> {
  const abs = resolve(root);
  await requireDataPath(abs, "an ImageFolder tree: <class>/ folders, or train/<class>/ and test/<class>/ (or val/)");
  const dirs = (await listDir(abs)).filter((e) => e.isDir).map((e) => e.name);
  const index: DatasetIndex = { name: "folder", root: abs, classes: CLASSES, train: [], test: [], notes: [] };
  const trainDir = pickFolder(dirs, TRAIN_NAMES);
  const testDir = pickFolder(dirs, TEST_NAMES);
  if (trainDir !== undefined || testDir !== undefined) {
    if (trainDir === undefined || testDir === undefined) {
      throw new DatasetError(
        `${abs} has a ${trainDir ?? testDir}/ folder but no ${
          trainDir === undefined ? "train" : "test (or val)"
        }/ folder beside it`,
      );
    }
    index.train = await indexClassFolders(join(abs, trainDir), abs);
    index.test = await indexClassFolders(join(abs, testDir), abs);
    index.notes.push(`splits: ${trainDir}/ is the training split, ${testDir}/ the test split`);
    return index;
  }
  const all = await indexClassFolders(abs, abs);
  for (const ref of all) (isHeldOut(ref.id) ? index.test : index.train).push(ref);
  index.notes.push(
    `no train/ and test/ folders: ${index.test.length} of ${all.length} images (a hash of the file name, ~${
      FOLDER_TEST_SHARE * 100
    } %) are the test split`,
  );
  return index;
}

/**
 * SFEW 2.0 as the official code reads it (dataset.py, SFEWDataset: torchvision ImageFolder on
 * `Train/` and `Val/`): one folder per class (Angry, Disgust, Fear, Happy, Neutral, Sad,
 * Surprise); `Train_Aligned_Faces/` and `Val_Aligned_Faces/` are accepted too. Val is the test split (SFEW's test labels are not public). ImageFolder numbers the
 * folders alphabetically; we map the names onto `CLASSES` instead (see folder.ts).
 *
 * The official transform is `Resize(256)` (shorter side 256, aspect kept) then `TenCrop(224)`
 * in training and at test time; here a face is resized to the square `imageSize` (pass 256)
 * and the crops are taken by the batch pipeline.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { CLASSES } from "../classes.ts";
import { listDir, requireDataPath } from "./_io.ts";
import { indexClassFolders, pickFolder } from "./folder.ts";
import { DatasetError, type DatasetIndex } from "./types.ts";

/** SFEW's class folder names in its own (alphabetical, ImageFolder) order. */
export const SFEW_FOLDERS: readonly string[] = ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"];

/** The image size the official code resizes SFEW faces to before TenCrop(224). */
export const SFEW_RESIZE = 256;

/** Lists SFEW's `Train/` (training split) and `Val/` (test split) under `root`. */
export async function indexSfew(root: string): Promise<DatasetIndex> {
  const abs = resolve(root);
  const expected = `the SFEW 2.0 root holding Train/ and Val/, each with the folders ${SFEW_FOLDERS.join(", ")}`;
  await requireDataPath(abs, expected);
  const dirs = (await listDir(abs)).filter((e) => e.isDir).map((e) => e.name);
  // Train/ and Val/ as the official code expects, or the release's aligned-face folders
  const train = pickFolder(dirs, ["train", "train_aligned_faces"]);
  const val = pickFolder(dirs, ["val", "validation", "val_aligned_faces"]);
  if (train === undefined || val === undefined) {
    throw new DatasetError(`${join(abs, train === undefined ? "Train" : "Val")} is missing; expected ${expected}`);
  }
  return {
    name: "sfew",
    root: abs,
    classes: CLASSES,
    train: await indexClassFolders(join(abs, train), abs),
    test: await indexClassFolders(join(abs, val), abs),
    notes: [`${val}/ is the test split; the official code resizes to ${SFEW_RESIZE} and takes TenCrop(224)`],
  };
}

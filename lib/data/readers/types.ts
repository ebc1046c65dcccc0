/**
 * The types every data set reader produces: a {@linkcode DatasetIndex} lists each split's
 * samples (where the image is, its label in `CLASSES` order, and for FERPlus the crowd's
 * label distribution) before any image is decoded.
 *
 * @module
 */

/** The data sets `--dataset` accepts, besides the built-in `synth`. */
export type DatasetName = "raf-db" | "affectnet" | "sfew" | "fer2013" | "ferplus" | "folder";

/** Every name of {@linkcode DatasetName}, in CLI.md's order. */
export const DATASET_NAMES: readonly DatasetName[] = ["raf-db", "affectnet", "sfew", "fer2013", "ferplus", "folder"];

/** A face box in pixels of the original image (AffectNet's CSV `face_x, face_y, face_width, face_height`). */
export interface CropBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where a sample's pixels come from: an image file (optionally cropped) or raw pixels held in memory (FER2013). */
export type ImageSource =
  | { kind: "file"; path: string; crop?: CropBox }
  | {
    kind: "pixels";
    pixels: Uint8Array /* [height, width, channels] */;
    width: number;
    height: number;
    channels: 1 | 3;
  };

/** One sample of a split, before decoding. */
export interface SampleRef {
  /** Stable name of the sample within the data set (RAF-DB: `train_00001.jpg`; FER2013/FERPlus: `fer0000000.png`). */
  id: string;
  source: ImageSource;
  /** Class index in `CLASSES` order (AffectNet 8-class mode: 7 = contempt). */
  label: number;
  /** FERPlus only: the crowd's distribution over the 7 classes (`CLASSES` order), sums to 1. */
  crowd?: Float32Array; // [7]
}

/** A data set's samples by split, as its reader found them on disk. */
export interface DatasetIndex {
  name: DatasetName;
  /** The data path the reader was given, resolved to an absolute path. */
  root: string;
  /** Class names of the label indices: `CLASSES`, or `CLASSES` plus "contempt" for AffectNet-8. */
  classes: readonly string[];
  train: SampleRef[];
  test: SampleRef[];
  /** What the reader decided that a user should know (dropped classes, split conventions...). */
  notes: string[];
}

/**
 * A data set that cannot be used: missing data path or label file, no images, an unknown
 * label id, an empty split. The message is one line naming the path (and line) and what was
 * expected. A `RangeError`, so the CLI reports it as bad input (exit code 2).
 */
export class DatasetError extends RangeError {
  override name = "DatasetError";
}

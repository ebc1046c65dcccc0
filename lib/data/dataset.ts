/**
 * Loading a real facial-expression data set (RAF-DB, AffectNet, SFEW, FER2013, FERPlus or an
 * ImageFolder tree) from the layout it is distributed in: its reader lists the samples
 * (`lib/data/readers/`), every face is decoded once to the model's size
 * ({@linkcode decodeFace}) and kept in memory or in a disk cache reused across runs
 * ({@linkcode buildImageStore}).
 *
 * Bad input never loses a run. Before anything is decoded, a data set that cannot be used
 * is one {@linkcode DatasetError} with a one-line message naming the path (and line): a
 * missing data path or label file, an unknown label id, an empty split, a split none of
 * whose images exists. An image that is listed but absent, corrupt or truncated is skipped
 * and listed in `skipped`; only when every image of a split fails is that an error.
 *
 * @example
 * ```ts ignore
 * import { loadFerDataset } from "./dataset.ts";
 * const ds = await loadFerDataset({ dataset: "raf-db", dataPath: "/data/RAF-DB", imageSize: 224 });
 * ds.train.images.get(0); // Uint8Array [224, 224, 3]
 * ds.train.labels; // Int32Array [N], CLASSES order
 * ds.skipped; // [{ id, path, reason, split }]
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { NUM_CLASSES } from "./classes.ts";
import { buildImageStore, type ImageStore, MemoryImageStore } from "./image_store.ts";
import { indexAffectNet } from "./readers/affectnet.ts";
import { indexFer2013 } from "./readers/fer2013.ts";
import { indexFerPlus } from "./readers/ferplus.ts";
import { indexFolder } from "./readers/folder.ts";
import { indexRafDb } from "./readers/raf_db.ts";
import { indexSfew } from "./readers/sfew.ts";
import { mapLimit } from "./readers/_io.ts";
import { DATASET_NAMES, DatasetError, type DatasetIndex, type DatasetName, type ImageSource } from "./readers/types.ts";

export { DATASET_NAMES, DatasetError } from "./readers/types.ts";
export type { CropBox, DatasetIndex, DatasetName, ImageSource, SampleRef } from "./readers/types.ts";

/** `cache: "auto"` keeps the faces in memory when both splits together take less than this (2 GiB). */
export const AUTO_MEMORY_LIMIT_BYTES: number = 2 * 1024 ** 3;

/** The default disk cache folder, `<repo>/data/cache/datasets`. */
export const DEFAULT_DATASET_CACHE_DIR: string = fileURLToPath(new URL("../../data/cache/datasets/", import.meta.url));

/** Version of what the disk cache holds for a sample; part of the key. Bump it when decoding changes. */
const DECODE_VERSION = 1;

/** Options of {@linkcode loadFerDataset}. */
export interface LoadFerDatasetOptions {
  dataset: DatasetName;
  /** The data set's root folder (see data/README.md for each layout). */
  dataPath: string;
  /** Side S of the decoded square faces (100 or 224 for RAF-DB/AffectNet, 256 for SFEW before TenCrop). */
  imageSize: number;
  /** Where the decoded faces live: "memory", "disk" or "auto" (default: memory under 2 GiB). */
  cache?: "memory" | "disk" | "auto";
  /** Disk cache folder (default `<repo>/data/cache/datasets`). */
  cacheDir?: string;
  /** `cache: "auto"` keeps faces in memory below this many bytes for both splits (default 2 GiB). */
  autoMemoryLimitBytes?: number;
  /** AffectNet: 7 classes (default, contempt dropped) or 8. */
  affectnetClasses?: 7 | 8;
  /** Which splits to decode (default both); a split left out comes back empty. `deno task eval` needs only "test". */
  splits?: readonly ("train" | "test")[];
  /** Decodes in flight at once (default 6). */
  concurrency?: number;
  /** The decoder (default `decodeFace`); tests count calls through it. */
  decode?: (source: ImageSource, size: number) => Promise<Uint8Array>;
  /** Progress: `phase` "index" (reading labels), "check" (finding the files), "decode" (done of total faces). */
  onProgress?: (done: number, total: number, phase: "index" | "check" | "decode") => void;
}

/** One split, decoded. */
export interface LoadedSplit {
  /** The faces, [N, S, S, 3] RGB. */
  images: ImageStore;
  /** Class indices in `classes` order. */
  labels: Int32Array; // [N]
  /** Sample ids (RAF-DB: `train_00001.jpg`). */
  ids: string[];
  /** FERPlus: the crowd's distributions over the 7 classes. */
  crowd?: Float32Array; // [N * 7]
}

/** An image left out of a split. */
export interface SkippedImage {
  id: string;
  /** The file (the sample id for in-memory pixels). */
  path: string;
  reason: string;
  split: "train" | "test";
}

/** What {@linkcode loadFerDataset} returns. */
export interface LoadedDataset {
  train: LoadedSplit;
  test: LoadedSplit;
  /** Images that are listed but could not be used, with why. */
  skipped: SkippedImage[];
  /** What the reader listed (before decoding). */
  index: DatasetIndex;
  /** Class names of the labels (`CLASSES`, or 8 names for AffectNet-8). */
  classes: readonly string[];
  /** Where the faces are and whether a disk cache was reused. */
  cache: { kind: "memory" | "disk"; reused: boolean; paths: string[] };
  /** Number of images decoded by this call (0 when every split came from the disk cache). */
  decodedImages: number;
}

/**
 * Lists a data set's samples by split with its reader, without decoding anything. Throws a
 * {@linkcode DatasetError} for a missing data path, a missing label file, an unknown label id.
 */
export async function indexDataset(
  dataset: DatasetName,
  dataPath: string,
  options: { affectnetClasses?: 7 | 8 } = {},
): Promise<DatasetIndex> {
  switch (dataset) {
    case "raf-db":
      return await indexRafDb(dataPath);
    case "affectnet":
      return await indexAffectNet(dataPath, { classes: options.affectnetClasses ?? 7 });
    case "sfew":
      return await indexSfew(dataPath);
    case "fer2013":
      return await indexFer2013(dataPath);
    case "ferplus":
      return await indexFerPlus(dataPath);
    case "folder":
      return await indexFolder(dataPath);
    default:
      throw new DatasetError(`unknown data set '${dataset}'; expected one of ${DATASET_NAMES.join(", ")}`);
  }
}

/** What the layout of each data set should hold, for the empty-split message. */
const EXPECTED: Record<DatasetName, string> = {
  "raf-db": "names starting with train_ and test_ in EmoLabel/list_patition_label.txt",
  affectnet: "images in train_set/ and val_set/ (or rows in training.csv and validation.csv) with expression ids 0-6",
  sfew: "images in the class folders of Train/ and Val/",
  fer2013: "rows with Usage Training and PrivateTest",
  ferplus: "rows with Usage Training and PrivateTest that have a label",
  folder: "images in the class folders",
};

/** Stats the file sources of a split: which are missing, and a hash of everything the faces depend on. */
async function checkSplit(
  index: DatasetIndex,
  options: { split: "train" | "test"; size: number; onDone: () => void },
): Promise<{ missing: number; key: string }> {
  const { split, size, onDone } = options;
  const refs = index[split];
  const stats = await mapLimit(refs, async (r) => {
    let s: { mtimeMs: number; size: number } | null = null;
    if (r.source.kind === "file") {
      try {
        const st = await stat(r.source.path);
        s = st.isFile() ? { mtimeMs: st.mtimeMs, size: st.size } : null;
      } catch {
        s = null;
      }
    }
    onDone();
    return s;
  }, { limit: 32 });
  const h = createHash("sha256");
  h.update(JSON.stringify({ v: DECODE_VERSION, name: index.name, root: index.root, split, size, n: refs.length }));
  let missing = 0;
  for (let i = 0; i < refs.length; i++) {
    const src = refs[i].source;
    if (src.kind === "file") {
      const s = stats[i];
      if (s === null) missing++;
      const crop = src.crop ? `${src.crop.x},${src.crop.y},${src.crop.w},${src.crop.h}` : "";
      h.update(`\n${refs[i].id}\0${src.path}\0${s ? `${s.mtimeMs}\0${s.size}` : "missing"}\0${crop}`);
    } else {
      h.update(`\n${refs[i].id}\0${src.width}x${src.height}x${src.channels}\0`);
      h.update(src.pixels);
    }
  }
  return { missing, key: h.digest("hex").slice(0, 16) };
}

/**
 * Reads a data set from `dataPath` in its distributed layout and decodes every face once to
 * `imageSize` x `imageSize` RGB. See the module doc for the errors and the skipping rules.
 */
export async function loadFerDataset(opts: LoadFerDatasetOptions): Promise<LoadedDataset> {
  const size = opts.imageSize;
  if (!(Number.isInteger(size) && size >= 8 && size <= 1024)) {
    throw new RangeError(`imageSize must be an integer in 8..1024, got ${size}`);
  }
  const mode = opts.cache ?? "auto";
  if (!["memory", "disk", "auto"].includes(mode)) {
    throw new RangeError(`cache must be memory, disk or auto, got '${mode}'`);
  }
  opts.onProgress?.(0, 1, "index");
  const index = await indexDataset(opts.dataset, opts.dataPath, { affectnetClasses: opts.affectnetClasses });
  opts.onProgress?.(1, 1, "index");
  const wanted = opts.splits ?? ["train", "test"];
  for (const split of ["train", "test"] as const) if (!wanted.includes(split)) index[split] = [];
  for (const split of wanted) {
    if (index[split].length === 0) {
      throw new DatasetError(`${index.root}: the ${split} split is empty; expected ${EXPECTED[index.name]}`);
    }
  }

  // find the files (and the cache key) before decoding anything
  const total = index.train.length + index.test.length;
  let checked = 0;
  const tick = () => opts.onProgress?.(++checked, total, "check");
  const check = {
    train: await checkSplit(index, { split: "train", size, onDone: tick }),
    test: await checkSplit(index, { split: "test", size, onDone: tick }),
  };
  for (const split of wanted) {
    const refs = index[split];
    if (check[split].missing === refs.length) {
      const first = refs[0].source.kind === "file" ? refs[0].source.path : refs[0].id;
      throw new DatasetError(
        `none of the ${refs.length} ${split} images listed under ${index.root} exists (the first should be ${first})`,
      );
    }
  }

  const kind = mode === "auto"
    ? (total * size * size * 3 < (opts.autoMemoryLimitBytes ?? AUTO_MEMORY_LIMIT_BYTES) ? "memory" : "disk")
    : mode;
  const cacheDir = opts.cacheDir ?? DEFAULT_DATASET_CACHE_DIR;
  let decodedBefore = 0;
  const skipped: SkippedImage[] = [];
  const out: Partial<Record<"train" | "test", LoadedSplit>> = {};
  const paths: string[] = [];
  let reusedAll = true;
  let decodedImages = 0;
  try {
    for (const split of ["train", "test"] as const) {
      const refs = index[split];
      if (!wanted.includes(split)) {
        out[split] = { images: new MemoryImageStore(new Uint8Array(0), size), labels: new Int32Array(0), ids: [] };
        continue;
      }
      const built = await buildImageStore(refs.map((r) => r.source), {
        size,
        kind,
        cacheDir,
        key: check[split].key,
        label: `${index.name}-${split}-${size}px`,
        concurrency: opts.concurrency,
        decode: opts.decode,
        onProgress: (done) => opts.onProgress?.(decodedBefore + done, total, "decode"),
      });
      decodedBefore += refs.length;
      decodedImages += built.decoded;
      reusedAll &&= built.reused;
      if (built.path) paths.push(built.path);
      for (const f of built.failed) {
        const r = refs[f.index];
        skipped.push({ id: r.id, path: r.source.kind === "file" ? r.source.path : r.id, reason: f.reason, split });
      }
      if (built.kept.length === 0) {
        built.store.close();
        throw new DatasetError(
          `every one of the ${refs.length} ${split} images under ${index.root} failed to decode (first: ${
            built.failed[0]?.reason
          })`,
        );
      }
      const kept = [...built.kept].map((i) => refs[i]);
      const split_: LoadedSplit = {
        images: built.store,
        labels: Int32Array.from(kept, (r) => r.label),
        ids: kept.map((r) => r.id),
      };
      if (kept.every((r) => r.crowd !== undefined)) {
        const crowd = new Float32Array(kept.length * NUM_CLASSES);
        kept.forEach((r, i) => crowd.set(r.crowd!, i * NUM_CLASSES));
        split_.crowd = crowd;
      }
      out[split] = split_;
    }
  } catch (e) {
    out.train?.images.close();
    throw e;
  }
  return {
    train: out.train!,
    test: out.test!,
    skipped,
    index,
    classes: index.classes,
    cache: { kind, reused: kind === "disk" && reusedAll, paths },
    decodedImages,
  };
}

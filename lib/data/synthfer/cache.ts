/**
 * The on-disk cache of generated SynthFER data sets: one folder per options hash holding
 * `meta.json` (options, labels, distributions, votes, face seeds) and one raw RGB file per
 * split. A folder is written under a temporary name and renamed into place, so a folder
 * that exists is always complete.
 *
 * @module
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NUM_CLASSES } from "../classes.ts";
import type { SplitLabels } from "./split.ts";

/** The cache layout's format name and version; bump `GENERATOR_VERSION` when drawing changes. */
const FORMAT = "synthfer-cache";

/** What the cache stores of one split. */
export interface CachedSplit extends SplitLabels {
  images: Uint8Array;
}

interface MetaSplit {
  count: number;
  file: string;
  labels: number[];
  trueDistributions: number[];
  votes: number[];
  blended: number[];
  faceSeeds: number[];
}

interface Meta {
  format: string;
  version: number;
  options: Record<string, unknown>;
  imageSize: number;
  splits: Record<string, MetaSplit>;
}

/** JSON with sorted keys, so the hash does not depend on key order. */
function canonical(value: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))));
}

/** The folder name of a data set: readable prefix plus a hash of the options and version. */
export function cacheKey(options: Record<string, unknown>, version: number): string {
  const hash = createHash("sha256").update(canonical({ ...options, version })).digest("hex").slice(0, 12);
  const o = options as { seed: number; imageSize: number; trainSize: number; testSize: number };
  return `s${o.seed}-${o.imageSize}px-${o.trainSize}+${o.testSize}-${hash}`;
}

/**
 * Reads a cached data set, or returns null when the folder is missing or does not match
 * (`options`, `version`, sizes). Never throws for a bad cache: the caller regenerates.
 */
export async function readCache(
  path: string,
  expect: { options: Record<string, unknown>; version: number; imageSize: number; splits: readonly string[] },
): Promise<Record<string, CachedSplit> | null> {
  let meta: Meta;
  try {
    meta = JSON.parse(await readFile(join(path, "meta.json"), "utf8"));
  } catch {
    return null;
  }
  if (
    meta.format !== FORMAT || meta.version !== expect.version || meta.imageSize !== expect.imageSize ||
    canonical(meta.options) !== canonical(expect.options)
  ) return null;
  const out: Record<string, CachedSplit> = {};
  for (const name of expect.splits) {
    const s = meta.splits?.[name];
    if (!s) return null;
    const n = s.count;
    if (
      s.labels?.length !== n || s.blended?.length !== n || s.faceSeeds?.length !== n ||
      s.trueDistributions?.length !== n * NUM_CLASSES || s.votes?.length !== n * NUM_CLASSES
    ) return null;
    let pixels: Uint8Array;
    try {
      const buf = await readFile(join(path, s.file));
      pixels = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch {
      return null;
    }
    if (pixels.length !== n * expect.imageSize * expect.imageSize * 3) return null;
    out[name] = {
      images: pixels,
      labels: Int32Array.from(s.labels),
      trueDistributions: Float32Array.from(s.trueDistributions),
      votes: Int32Array.from(s.votes),
      blended: Uint8Array.from(s.blended),
      faceSeeds: Uint32Array.from(s.faceSeeds),
    };
  }
  return out;
}

/**
 * Writes a data set to `<dir>/<key>` atomically: everything goes into a temporary folder
 * that is renamed into place. If another process finished the same folder first, theirs
 * is kept (it holds the same bytes). Returns the folder path.
 */
export async function writeCache(
  dir: string,
  key: string,
  data: { options: Record<string, unknown>; version: number; imageSize: number; splits: Record<string, CachedSplit> },
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  const path = join(dir, key);
  const tmp = join(dir, `.tmp-${key}-${randomUUID()}`);
  await mkdir(tmp);
  try {
    const meta: Meta = {
      format: FORMAT,
      version: data.version,
      options: data.options,
      imageSize: data.imageSize,
      splits: {},
    };
    for (const [name, s] of Object.entries(data.splits)) {
      const file = `${name}.rgb`;
      await writeFile(join(tmp, file), s.images);
      meta.splits[name] = {
        count: s.labels.length,
        file,
        labels: Array.from(s.labels),
        trueDistributions: Array.from(s.trueDistributions),
        votes: Array.from(s.votes),
        blended: Array.from(s.blended),
        faceSeeds: Array.from(s.faceSeeds),
      };
    }
    await writeFile(join(tmp, "meta.json"), JSON.stringify(meta));
    // a folder already there is either a twin written concurrently or a stale/invalid one
    if (await exists(path)) {
      const twin = await readCache(path, { ...data, splits: Object.keys(data.splits) });
      if (twin) {
        await rm(tmp, { recursive: true, force: true });
        return path;
      }
      await rm(path, { recursive: true, force: true });
    }
    try {
      await rename(tmp, path);
    } catch (err) {
      // lost a race to a concurrent writer of the same key: keep theirs
      if (!(await exists(path))) throw err;
      await rm(tmp, { recursive: true, force: true });
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes temporary folders left by generations interrupted more than a day ago. */
async function removeStaleTemps(dir: string): Promise<void> {
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  for (const name of await readdir(dir)) {
    if (!name.startsWith(".tmp-")) continue;
    try {
      if ((await stat(join(dir, name))).mtimeMs < dayAgo) await rm(join(dir, name), { recursive: true, force: true });
    } catch {
      // another process removed it
    }
  }
}

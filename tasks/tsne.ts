/**
 * `deno task tsne`: t-SNE of a features file into 2-D (Figure 3's embedding). Prints the exact
 * KL(P || Q) and, with --labels, the leave-one-out 10-NN class accuracy in the embedding, and
 * writes {"embedding": [[x, y], ...], "kl": K, "seconds": T[, "knnAccuracy": A]} to --out.
 */
import { existsSync, statSync } from "node:fs";
import { InputFileError, readJsonFileSync } from "../lib/util/files.ts";
import { basename, dirname, extname, resolve } from "node:path";
import { numberFlag, parseFlags, ProgressBar, runTask, UsageError } from "./_cli.ts";

const HELP = `t-SNE of feature vectors into 2-D.

Usage: deno task tsne FEATURES.(json|npy) --out FILE.json [--engine fast|tsne-js] [--labels FILE.json]
                      [--perplexity P] [--iterations N] [--seed N] [--theta T] [--quiet]

  FEATURES         .npy float32/float64 [N, D]; or .json: an array of N arrays of D numbers, or an
                   object with such a "features" array; a run folder's features.json (which holds
                   the labels, not the features) reads the features.npy beside it
  --out FILE       where to write {"embedding": [[x, y], ...], "kl": K, "seconds": T} (+ "knnAccuracy")
  --engine E       fast (Barnes-Hut, default) or tsne-js (the npm package; exact, O(N^2), slow)
  --labels FILE    .json: an array of N integer labels, or an object with a "labels" array
                   (a run folder's features.json); adds the 10-NN class accuracy of the embedding
  --perplexity P   effective neighbour count (default 30; needs N >= 3 P + 1)
  --iterations N   gradient-descent iterations (default 1000)
  --seed N         seed of the initialisation (default 1)
  --theta T        Barnes-Hut accuracy, fast engine (default 0.5; 0 = exact)
  --quiet          no progress on stderr`;

/** Reads a JSON file or throws a UsageError naming it. */
function readJson(path: string, what: string): unknown {
  try {
    return readJsonFileSync(path, { what }); // a regular file under a size cap
  } catch (e) {
    if (e instanceof InputFileError) throw new UsageError(e.message);
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** The features of a .npy or .json file as [N, D] float32. */
async function readFeatures(path: string): Promise<{ data: Float32Array; shape: [number, number] }> {
  const ext = extname(path).toLowerCase();
  if (ext === ".npy") {
    const { InputFileError, readNpyFile } = await import("../lib/util/files.ts");
    let npy;
    try {
      npy = readNpyFile(path, { what: "features" }); // a regular file under a size cap
    } catch (e) {
      if (e instanceof InputFileError) throw new UsageError(e.message);
      throw new UsageError(`${path}: ${(e as Error).message.split("\n")[0]}`);
    }
    if (npy.shape.length !== 2) {
      throw new UsageError(`${path}: expected a 2-D array [N, D], got shape (${npy.shape.join(", ")})`);
    }
    return { data: npy.data, shape: [npy.shape[0], npy.shape[1]] };
  }
  if (ext !== ".json") throw new UsageError(`features must be a .npy or .json file, got ${basename(path)}`);
  const json = readJson(path, "features");
  let rows: unknown = json;
  if (!Array.isArray(json)) {
    const obj = json as Record<string, unknown> | null;
    if (obj && typeof obj === "object" && "features" in obj) rows = obj.features;
    else if (obj && typeof obj === "object" && existsSync(path.slice(0, -ext.length) + ".npy")) {
      return readFeatures(path.slice(0, -ext.length) + ".npy"); // a run folder: features.json + features.npy
    } else {
      throw new UsageError(`${path}: expected an array of arrays of numbers or an object with a "features" array`);
    }
  }
  if (!Array.isArray(rows) || rows.length === 0 || !Array.isArray(rows[0])) {
    throw new UsageError(`${path}: features must be a non-empty array of arrays of numbers`);
  }
  const n = rows.length, d = (rows[0] as unknown[]).length;
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    if (!Array.isArray(row) || row.length !== d) {
      throw new UsageError(`${path}: row ${i} has ${Array.isArray(row) ? row.length : "no"} values, expected ${d}`);
    }
    for (let c = 0; c < d; c++) {
      const v = row[c];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new UsageError(`${path}: row ${i}, column ${c} is ${JSON.stringify(v)}, expected a finite number`);
      }
      data[i * d + c] = v;
    }
  }
  return { data, shape: [n, d] };
}

/** Integer labels from a JSON array or an object's "labels" array; exactly n of them. */
function readLabels(path: string, n: number): Int32Array {
  const json = readJson(path, "labels");
  const arr = Array.isArray(json) ? json : (json as Record<string, unknown> | null)?.labels;
  if (!Array.isArray(arr)) {
    throw new UsageError(`${path}: expected an array of integer labels or an object with "labels"`);
  }
  if (arr.length !== n) throw new UsageError(`${path} has ${arr.length} labels but the features have ${n} rows`);
  const out = new Int32Array(n);
  arr.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0) {
      throw new UsageError(`${path}: label ${i} is ${JSON.stringify(v)}, expected a non-negative integer`);
    }
    out[i] = v;
  });
  return out;
}

/** Refuses an --out that cannot be written before any work is done: its folder must exist, it must not be a folder. */
function checkOutPath(path: string): void {
  const parent = dirname(resolve(path));
  if (!existsSync(parent) || !statSync(parent).isDirectory()) {
    throw new UsageError(`--out ${path}: the folder ${parent} does not exist`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new UsageError(`--out ${path} is a folder; expected a file name such as tsne.json`);
  }
}

async function main(args: string[]) {
  const { values: v, positionals } = parseFlags(args, {
    out: { type: "string" },
    engine: { type: "string" },
    labels: { type: "string" },
    perplexity: { type: "string" },
    iterations: { type: "string" },
    seed: { type: "string" },
    theta: { type: "string" },
    quiet: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help) return console.log(HELP);
  if (positionals.length === 0) throw new UsageError("missing the features file (see --help)");
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}' (one features file)`);
  if (!v.out) throw new UsageError("missing --out FILE.json");
  checkOutPath(v.out as string);
  const engine = v.engine ?? "fast";
  if (engine !== "fast" && engine !== "tsne-js") {
    throw new UsageError(`--engine must be fast or tsne-js, got '${engine}'`);
  }
  const perplexity = numberFlag("perplexity", v.perplexity);
  const iterations = numberFlag("iterations", v.iterations, true);
  const seed = numberFlag("seed", v.seed, true);
  const theta = numberFlag("theta", v.theta);
  if (iterations !== undefined && iterations < 1) throw new UsageError(`--iterations must be >= 1, got ${iterations}`);

  const { data, shape } = await readFeatures(positionals[0]);
  const labels = v.labels ? readLabels(v.labels, shape[0]) : undefined;
  const { tsne, knnAccuracy } = await import("../lib/analysis/mod.ts");
  const { writeFileAtomic } = await import("../lib/util/files.ts");
  const bar = v.quiet ? undefined : new ProgressBar();
  const result = await tsne(data, shape, {
    engine,
    perplexity,
    iterations,
    seed,
    theta,
    onProgress: bar &&
      ((it, total, kl) =>
        bar.update(`t-SNE ${it}/${total}${kl === undefined ? "" : ` KL ${kl.toFixed(4)}`}`, it / total)),
  });
  const knn = labels ? knnAccuracy(result.embedding, labels, Math.min(10, shape[0] - 1)) : undefined;
  const embedding: number[][] = [];
  for (let i = 0; i < shape[0]; i++) {
    embedding.push([result.embedding[2 * i], result.embedding[2 * i + 1]].map((x) => Number(x.toPrecision(8))));
  }
  const out = { embedding, kl: result.kl, seconds: result.seconds, ...(knn === undefined ? {} : { knnAccuracy: knn }) };
  writeFileAtomic(v.out, JSON.stringify(out));
  const summary = `t-SNE (${engine}) of ${shape[0]} x ${shape[1]} in ${result.seconds.toFixed(1)} s, ` +
    `${result.iterations} iterations: KL ${result.kl.toFixed(4)}` +
    (knn === undefined ? "" : `, 10-NN accuracy ${knn.toFixed(4)}`) + ` -> ${v.out}`;
  bar?.done(`t-SNE (${engine}): ${result.iterations} iterations`);
  console.log(summary);
}

if (import.meta.main) await runTask(main);

/**
 * t-SNE speed and quality on this machine: the fast engine on 2478 x 512 (RAF-DB's test-set size)
 * and fast vs tsne-js at 1000 x 512, on a seeded 7-class Gaussian mixture
 * (tools/bench/tsne_mixture.ts). Each row: wall seconds of `tsne()` (median over --repeats, with
 * the seed varied), the exact KL(P || Q) and the leave-one-out 10-NN class accuracy of the
 * embedding. `--save DIR` also writes the data sets as .npy + labels .json, the input of
 * tools/bench/sklearn_tsne.py (scikit-learn's Barnes-Hut on the same data).
 *
 * Usage: deno run -A tools/bench/tsne_bench.ts [--repeats N] [--large N] [--compare N] [--dims D]
 *                                              [--skip-tsne-js] [--save DIR] [--json]
 */
import { join } from "node:path";
import { knnAccuracy, tsne, type TsneOptions } from "../../lib/analysis/mod.ts";
import { encodeNpy } from "../../lib/util/files.ts";
import { numberFlag, parseFlags } from "../../tasks/_cli.ts";
import { gaussianMixture } from "./tsne_mixture.ts";

interface Row {
  engine: string;
  n: number;
  d: number;
  seconds: number;
  secondsAll: number[];
  kl: number;
  knnAccuracy: number;
  iterations: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function measure(n: number, d: number, engine: TsneOptions["engine"], repeats: number): Promise<Row> {
  const { data, labels } = gaussianMixture(n, d);
  const runs = [];
  for (let r = 0; r < repeats; r++) {
    let last = 0;
    const res = await tsne(data, [n, d], {
      engine,
      seed: 1 + r,
      onProgress: (it, total, kl) => {
        const now = performance.now();
        if (now - last < 5000 && it !== total) return;
        last = now;
        console.error(
          `  ${engine} ${n}x${d} seed ${1 + r}: ${it}/${total}${kl === undefined ? "" : ` KL ${kl.toFixed(4)}`}`,
        );
      },
    });
    runs.push({ ...res, knn: knnAccuracy(res.embedding, labels) });
  }
  const mid = runs.map((r) => r.seconds).indexOf(median(runs.map((r) => r.seconds)));
  return {
    engine: engine!,
    n,
    d,
    seconds: runs[mid].seconds,
    secondsAll: runs.map((r) => +r.seconds.toFixed(2)),
    kl: median(runs.map((r) => r.kl)),
    knnAccuracy: median(runs.map((r) => r.knn)),
    iterations: runs[mid].iterations,
  };
}

const { values: v } = parseFlags(Deno.args, {
  repeats: { type: "string" },
  large: { type: "string" },
  compare: { type: "string" },
  dims: { type: "string" },
  "skip-tsne-js": { type: "boolean" },
  save: { type: "string" },
  json: { type: "boolean" },
});
const repeats = numberFlag("repeats", v.repeats, true) ?? 3;
const large = numberFlag("large", v.large, true) ?? 2478;
const compare = numberFlag("compare", v.compare, true) ?? 1000;
const dims = numberFlag("dims", v.dims, true) ?? 512;
if (v.save) {
  for (const n of [large, compare]) {
    const { data, labels } = gaussianMixture(n, dims);
    Deno.writeFileSync(join(v.save, `mixture_${n}x${dims}.npy`), encodeNpy(data, [n, dims]));
    Deno.writeTextFileSync(join(v.save, `mixture_${n}x${dims}_labels.json`), JSON.stringify(Array.from(labels)));
  }
}
const rows: Row[] = [];
rows.push(await measure(large, dims, "fast", repeats));
rows.push(await measure(compare, dims, "fast", repeats));
if (!v["skip-tsne-js"]) rows.push(await measure(compare, dims, "tsne-js", 1)); // ~4 min per run at 1000 points
if (v.json) console.log(JSON.stringify({ rows }));
else {
  console.log("| engine | n x d | seconds (median; all) | exact KL | 10-NN accuracy | iterations |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    console.log(
      `| ${r.engine} | ${r.n} x ${r.d} | ${r.seconds.toFixed(2)} (${r.secondsAll.join(", ")}) | ${r.kl.toFixed(4)} | ` +
        `${r.knnAccuracy.toFixed(4)} | ${r.iterations} |`,
    );
  }
}

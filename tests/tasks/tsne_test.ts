import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeNpy } from "../../lib/util/files.ts";
import { Prng } from "../../lib/util/prng.ts";

const TSNE = new URL("../../tasks/tsne.ts", import.meta.url).pathname;

async function run(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TSNE, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

/** Two clusters of 20 points in 5 dims, written as .npy, array-of-arrays .json, {features} .json and a run folder. */
async function fixture() {
  const dir = await Deno.makeTempDir({ prefix: "tsne_cli_" });
  const prng = new Prng(11);
  const n = 40, d = 5;
  const labels = Array.from({ length: n }, (_, i) => i % 2);
  const x = new Float32Array(n * d).map((_, t) => prng.normal() + (labels[Math.floor(t / d)] ? 8 : 0));
  const rows = Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d)));
  Deno.writeFileSync(join(dir, "f.npy"), encodeNpy(x, [n, d]));
  Deno.writeTextFileSync(join(dir, "rows.json"), JSON.stringify(rows));
  Deno.writeTextFileSync(join(dir, "obj.json"), JSON.stringify({ features: rows }));
  Deno.writeTextFileSync(join(dir, "labels.json"), JSON.stringify(labels));
  await Deno.mkdir(join(dir, "run"));
  Deno.writeFileSync(join(dir, "run", "features.npy"), encodeNpy(x, [n, d]));
  Deno.writeTextFileSync(join(dir, "run", "features.json"), JSON.stringify({ shape: [n, d], labels }));
  return { dir, n };
}

const FAST = ["--perplexity", "5", "--iterations", "100"];

Deno.test("deno task tsne writes CLI.md's JSON (embedding, kl, seconds, knnAccuracy) from .npy + labels", async () => {
  const { dir, n } = await fixture();
  const out = join(dir, "out.json");
  const r = await run(join(dir, "f.npy"), "--out", out, "--labels", join(dir, "labels.json"), ...FAST);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(Deno.readTextFileSync(out));
  assert.deepEqual(Object.keys(j).sort(), ["embedding", "kl", "knnAccuracy", "seconds"]);
  assert.equal(j.embedding.length, n);
  assert.ok(j.embedding.every((p: number[]) => p.length === 2 && p.every(Number.isFinite)));
  assert.ok(j.kl > 0 && j.seconds > 0);
  assert.equal(j.knnAccuracy, 1);
  assert.match(r.stdout, /t-SNE \(fast\) of 40 x 5 .*KL [0-9.]+, 10-NN accuracy 1\.0000/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task tsne reads every JSON form the same, and a run folder's features.json with its labels", async () => {
  const { dir } = await fixture();
  const results = [];
  for (const input of ["f.npy", "rows.json", "obj.json", join("run", "features.json")]) {
    const out = join(dir, `${input.replace(/\W/g, "_")}.out.json`);
    const extra = input.startsWith("run") ? ["--labels", join(dir, "run", "features.json")] : [];
    const r = await run(join(dir, input), "--out", out, "--seed", "3", ...FAST, ...extra);
    assert.equal(r.code, 0, `${input}: ${r.stderr}`);
    results.push(JSON.parse(Deno.readTextFileSync(out)));
  }
  for (const j of results) assert.deepEqual(j.embedding, results[0].embedding, "same features, same seed");
  assert.equal(results[0].knnAccuracy, undefined, "no --labels, no knnAccuracy");
  assert.ok(results[3].knnAccuracy >= 0.95, `${results[3].knnAccuracy}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task tsne: bad usage and bad input exit 2 with one error: line", async () => {
  const { dir } = await fixture();
  const out = join(dir, "o.json");
  Deno.writeTextFileSync(join(dir, "ragged.json"), JSON.stringify([[1, 2], [3]]));
  Deno.writeTextFileSync(join(dir, "short_labels.json"), JSON.stringify([0, 1, 0]));
  Deno.writeTextFileSync(join(dir, "bad.json"), "{nope");
  const cases: [string[], RegExp][] = [
    [[join(dir, "f.npy")], /missing --out/],
    [[join(dir, "f.npy"), "--out", "/nonexistent/dir/t.json"], /the folder \/nonexistent\/dir does not exist/],
    [[join(dir, "f.npy"), "--out", dir], /is a folder; expected a file name/],
    [["--out", out], /missing the features file/],
    [[join(dir, "f.npy"), "--out", out, "--speed", "9"], /unknown flag --speed/],
    [[join(dir, "f.npy"), "--out", out, "--engine", "umap"], /--engine must be fast or tsne-js, got 'umap'/],
    [[join(dir, "f.npy"), "--out", out, "--iterations", "ten"], /--iterations expects an integer, got 'ten'/],
    [[join(dir, "f.npy"), "--out", out], /perplexity 30 is too large for 40 points/],
    [[join(dir, "missing.npy"), "--out", out], /missing\.npy: features does not exist/],
    [[join(dir, "f.csv"), "--out", out], /features must be a \.npy or \.json file/],
    [[join(dir, "ragged.json"), "--out", out], /row 1 has 1 values, expected 2/],
    [[join(dir, "bad.json"), "--out", out], /bad\.json: features is not valid JSON/],
    [
      [join(dir, "f.npy"), "--out", out, "--labels", join(dir, "short_labels.json"), ...FAST],
      /has 3 labels but the features have 40 rows/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const r = await run(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^error: /);
    assert.match(lines[0], pattern);
  }
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: deno task tsne FEATURES\.\(json\|npy\) --out FILE\.json/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task tsne --engine tsne-js runs the npm package and writes the same JSON shape", async () => {
  const { dir, n } = await fixture();
  const out = join(dir, "js.json");
  const r = await run(join(dir, "f.npy"), "--out", out, "--engine", "tsne-js", "--quiet", ...FAST);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(Deno.readTextFileSync(out));
  assert.deepEqual(Object.keys(j).sort(), ["embedding", "kl", "seconds"]);
  assert.equal(j.embedding.length, n);
  assert.ok(j.kl > 0);
  assert.match(r.stdout, /t-SNE \(tsne-js\) of 40 x 5/);
  await Deno.remove(dir, { recursive: true });
});

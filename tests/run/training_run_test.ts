/**
 * The smoke run: a short training on an easy SynthFER setting, through the same
 * `deno task train` users run, checking every artifact of the run folder.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { decodeSafetensors } from "../../lib/model/safetensors.ts";
import { decodeNpy } from "../../lib/util/files.ts";

const TRAIN = new URL("../../tasks/train.ts", import.meta.url).pathname;
const C = 7;

// an easy setting: clear faces, no blends, small images, a narrow network
const EASY = [
  "--epochs",
  "8",
  "--synth-difficulty",
  "easy",
  "--synth-ambiguous",
  "0",
  "--synth-train",
  "896",
  "--synth-test",
  "140",
  "--image-size",
  "32",
  "--width",
  "8",
  "--batch-size",
  "32",
  "--lr",
  "0.002",
  "--threshold",
  "0.5",
  "--beta",
  "3",
  "--quiet",
];

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const jsonl = (path: string) => readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));

function assertDistribution(d: number[], what: string, tol = 1e-4) {
  assert.equal(d.length, C, `${what} has ${d.length} entries`);
  assert.ok(d.every((x) => x >= 0), `${what} has a negative entry: ${d}`);
  assert.ok(Math.abs(sum(d) - 1) < tol, `${what} sums to ${sum(d)}`);
}

Deno.test("deno task train writes every artifact of a run folder, and learns an easy SynthFER setting (8 epochs)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-smoke-" });
  const out = `${dir}/run`;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", TRAIN, ...EASY, "--out", out],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const stderr = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, stderr);
  assert.match(stderr, /backend: wasm \(auto: /);
  const printed = JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").at(-1)!);

  for (
    const f of [
      "config.json",
      "metrics.jsonl",
      "class_distributions.jsonl",
      "attention.jsonl",
      "tracked.jsonl",
      "distributions.jsonl",
      "features.npy",
      "features.json",
      "weights_last.safetensors",
      "weights_best.safetensors",
      "summary.json",
    ]
  ) assert.ok(existsSync(`${out}/${f}`), `${f} missing`);
  assert.deepEqual(
    (await Array.fromAsync(Deno.readDir(out))).filter((e) => e.name.includes(".tmp-")),
    [],
    "temp files left behind",
  );

  const config = JSON.parse(readFileSync(`${out}/config.json`, "utf8"));
  assert.equal(config.resolvedBackend, "wasm");
  assert.equal(config.epochs, 8);
  assert.equal(config.threshold, 0.5);

  const metrics = jsonl(`${out}/metrics.jsonl`);
  assert.deepEqual(metrics.map((m) => m.epoch), [1, 2, 3, 4, 5, 6, 7, 8]);
  for (const m of metrics) {
    for (
      const k of [
        "loss",
        "lossCe",
        "lossKld",
        "lossRr",
        "a1",
        "a2",
        "lr",
        "trainAccuracy",
        "testAccuracy",
        "testAccuracyTrue",
        "seconds",
        "rssMiB",
      ]
    ) {
      assert.equal(typeof m[k], "number", `metrics.${k}`);
    }
    assert.ok(
      Math.abs(m.loss - (m.lossRr + m.a1 * m.lossCe + m.a2 * m.lossKld)) < 1e-3,
      `loss parts at epoch ${m.epoch}`,
    );
  }
  assert.ok(Math.abs(metrics[2].lr - 0.002 * 0.9 * 0.9) < 1e-12, "ExponentialLR");

  const summary = JSON.parse(readFileSync(`${out}/summary.json`, "utf8"));
  const { out: printedOut, ...printedSummary } = printed;
  assert.equal(printedOut, out);
  assert.deepEqual(printedSummary, summary, "the printed summary is summary.json");
  assert.equal(summary.epochsCompleted, 8);
  assert.equal(summary.backend, "wasm");
  assert.equal(summary.skippedImages, 0);
  assert.equal(summary.inputSize, 32);
  assert.match(summary.architecture, /ResNet-18.*narrowed to width 8/);
  assert.ok(summary.parameterCount > 0);
  // chance is 1/7 = 14 %; the easy setting reaches about 66 % in eight short epochs
  assert.ok(summary.testAccuracy > 0.4, `test accuracy ${summary.testAccuracy} is not well above chance`);
  assert.ok(summary.testAccuracyTrue > 0.4, `true-label accuracy ${summary.testAccuracyTrue}`);

  const cds = jsonl(`${out}/class_distributions.jsonl`);
  assert.deepEqual(cds.map((c) => c.epoch), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  for (const cd of cds) {
    cd.rows.forEach((row: number[], c: number) =>
      assertDistribution(row, `class distribution row ${c} at epoch ${cd.epoch}`)
    );
    cd.mined.forEach((m: boolean, c: number) => assert.equal(m, !cd.replaced[c]));
  }
  assert.ok(cds.at(-1).mined.some((m: boolean) => m), "no class distribution row was mined by the last epoch");
  for (const cd of cds.slice(1)) {
    cd.mined.forEach((m: boolean, c: number) => {
      if (m) assert.ok(cd.diagonal[c] >= 0.5);
      else assert.equal(cd.rows[c][c], 0.5, "a replaced row is the threshold row");
    });
  }

  const att = jsonl(`${out}/attention.jsonl`);
  assert.equal(att.length, 8);
  for (const a of att) {
    for (let c = 0; c < C; c++) {
      if (a.mean[c] === null) continue;
      assert.ok(a.min[c] <= a.mean[c] && a.mean[c] <= a.max[c] && a.min[c] >= 0.2 - 1e-6 && a.max[c] <= 1 + 1e-6);
    }
  }

  // the measured distributions: every training face (896, batches of 32) each epoch, against its truth
  const measured = jsonl(`${out}/distributions.jsonl`);
  assert.deepEqual(measured.map((m: { epoch: number }) => m.epoch), [1, 2, 3, 4, 5, 6, 7, 8]);
  for (const m of measured) {
    assert.equal(m.samples, 896);
    for (const t of ["label", "class", "fused", "onehot"]) {
      const s = m.js[t].all;
      assert.ok(
        s.q1 <= s.median && s.median <= s.q3 && s.mean >= 0 && s.mean <= Math.LN2 + 1e-9,
        `${t}: ${JSON.stringify(s)}`,
      );
      assert.equal(m.js[t].clear.n + m.js[t].blended.n, 896);
    }
    assert.ok(m.auc.blended >= 0 && m.auc.blended <= 1);
    assert.equal(m.auc.flipped, null, "no label noise: no flipped faces");
  }
  // the one-hot label is the same every epoch, so its distance to the truth is too
  assert.equal(measured[0].js.onehot.all.mean, measured.at(-1).js.onehot.all.mean);
  const tracked = jsonl(`${out}/tracked.jsonl`);
  assert.equal(tracked.length, 8);
  const first = tracked[0].samples;
  assert.equal(first.length, config.trackedSamples);
  for (const t of tracked) {
    assert.deepEqual(
      t.samples.map((s: { index: number }) => s.index),
      first.map((s: { index: number }) => s.index),
      "same samples every epoch",
    );
    for (const s of t.samples) {
      assertDistribution(s.labelDistribution, "tracked label distribution");
      assertDistribution(s.classDistribution, "tracked class distribution");
      assertDistribution(s.fused, "tracked fused distribution");
      assertDistribution(s.trueDistribution, "tracked true distribution");
      assert.ok(Math.abs(s.wholeSet.wAvg - (s.wholeSet.wAux + s.wholeSet.wTar) / 2) < 1e-6);
      assert.ok(s.source === "batch" || s.source === "whole-set");
      assert.ok(s.w >= 0.2 - 1e-6 && s.w <= 1 + 1e-6, `w = ${s.w}`);
      s.fused.forEach((f: number, j: number) =>
        assert.ok(Math.abs(f - (s.w * s.classDistribution[j] + (1 - s.w) * s.labelDistribution[j])) < 1e-6, "eq. 12")
      );
    }
  }

  const feats = decodeNpy(readFileSync(`${out}/features.npy`));
  const meta = JSON.parse(readFileSync(`${out}/features.json`, "utf8"));
  assert.deepEqual(feats.shape, [140, 64]); // width 8 -> 8 * 8 = 64-d pooled features
  assert.equal(meta.labels.length, 140);
  assert.equal(meta.predictions.length, 140);
  const acc = meta.predictions.filter((p: number, i: number) => p === meta.labels[i]).length / 140;
  assert.ok(Math.abs(acc - summary.testAccuracy) < 1e-9, "features.json predictions agree with testAccuracy");
  // the official forward's attention output (w_aux + w_tar) / 2 and each branch's own
  assert.equal(meta.attentionAux.length, 140);
  meta.attention.forEach((a: number, i: number) =>
    assert.ok(Math.abs(a - (meta.attentionAux[i] + meta.attentionTarget[i]) / 2) < 1e-6)
  );

  for (const w of ["weights_last.safetensors", "weights_best.safetensors"]) {
    const { tensors, metadata } = decodeSafetensors(readFileSync(`${out}/${w}`));
    assert.ok("branch_2.fc.weight" in tensors && "feature.bn1.running_var" in tensors);
    assert.deepEqual(tensors["branch_2.fc.weight"].shape, [64, 7]);
    assert.equal(JSON.parse(metadata.config).width, 8);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task train refuses a non-empty --out and leaves it untouched", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-out-" });
  await Deno.writeTextFile(`${dir}/keep.txt`, "mine");
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", TRAIN, "--epochs", "1", "--out", dir],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assert.equal(r.code, 2);
  assert.match(new TextDecoder().decode(r.stderr), /error: run folder .* is not empty/);
  assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["keep.txt"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadData() with --noise flips floor(rate x count) training labels per class, never the test labels", async () => {
  const { loadData } = await import("../../lib/data/load.ts");
  const { resolveConfig } = await import("../../lib/config.ts");
  const { loadSynthFer } = await import("../../lib/data/synthfer.ts");
  const cfg = resolveConfig({ noise: 0.3, imageSize: 32, synth: { trainSize: 140, testSize: 35 } });
  const clean = await loadSynthFer({
    seed: 0,
    trainSize: 140,
    testSize: 35,
    imageSize: 32,
    annotators: 10,
    ambiguousFraction: 0.5,
    difficulty: "normal",
  });
  const d = await loadData(cfg);
  const expected = Array.from(
    { length: C },
    (_, c) => Math.floor(0.3 * clean.train.labels.filter((l) => l === c).length),
  )
    .reduce((a, b) => a + b, 0);
  assert.equal(d.flipped.length, expected);
  for (const i of d.flipped) assert.notEqual(d.train.labels[i], clean.train.labels[i]);
  assert.deepEqual(d.test.labels, clean.test.labels);
});

Deno.test("claimRunFolder() lets one of two runs started at once have a folder: the other fails, or takes a suffix", async () => {
  const { claimRunFolder } = await import("../../lib/run/writer.ts");
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const root = mkdtempSync("/tmp/adadf-claim-");
  try {
    const dir = `${root}/runs/synth-adadf-s1-2026`;
    assert.equal(claimRunFolder(dir, true), dir);
    assert.equal(claimRunFolder(dir, true), `${dir}-2`, "a generated name takes the next suffix");
    assert.throws(() => claimRunFolder(dir, false), /claimed by another run started at the same time/);
    // an empty folder the user made is claimed; one with files is not
    Deno.mkdirSync(`${root}/mine`);
    assert.equal(claimRunFolder(`${root}/mine`, false), `${root}/mine`);
    Deno.mkdirSync(`${root}/full`);
    writeFileSync(`${root}/full/notes.txt`, "x");
    assert.throws(() => claimRunFolder(`${root}/full`, false), /is not empty/);
    assert.deepEqual(Deno.readDirSync(`${root}/full`).toArray().map((e) => e.name), ["notes.txt"]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("two deno task train started together with the same generated folder name both finish, in two folders", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "adadf-twin-" });
  try {
    const train = () =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../../tasks/train.ts", import.meta.url).pathname,
          "--epochs",
          "1",
          "--width",
          "4",
          "--image-size",
          "32",
          "--synth-train",
          "70",
          "--synth-test",
          "14",
          "--batch-size",
          "16",
          "--quiet",
        ],
        cwd,
        stdout: "piped",
        stderr: "piped",
        env: { TZ: "UTC" },
      }).output();
    const [a, b] = await Promise.all([train(), train()]);
    const dec = (x: Uint8Array) => new TextDecoder().decode(x);
    assert.equal(a.code, 0, dec(a.stderr));
    assert.equal(b.code, 0, dec(b.stderr));
    const outs = [a, b].map((r) => JSON.parse(dec(r.stdout).trim().split("\n").at(-1)!).out as string);
    assert.notEqual(outs[0], outs[1], "two runs, two folders");
    for (const o of outs) assert.ok(Deno.statSync(`${o.startsWith("/") ? "" : cwd + "/"}${o}/summary.json`).isFile);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

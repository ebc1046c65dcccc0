/**
 * Training on real data set layouts through `deno task train`, on tiny generated copies
 * (tests/data/readers/_make.ts: a few solid-colour faces per class): presets, skipped
 * images, label noise, FERPlus's true distributions, SFEW's TenCrop, AffectNet's balanced
 * epochs, --pretrained, and bad input that must leave no run folder behind.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  makeAffectNetNpy,
  makeFer2013,
  makeFerPlus,
  makeRafDb,
  makeSfew,
  put,
  solidImage,
} from "../data/readers/_make.ts";
import { resolveConfig } from "../../lib/config.ts";
import { Prng } from "../../lib/util/prng.ts";
import { evaluateTarget } from "../../lib/infer/evaluate.ts";
import { trainingBatches } from "../../lib/train/phases.ts";
import { targetBatchAsync } from "../../lib/train/step.ts";
import { makeBatch, toTensors } from "../../lib/data/batches.ts";
import { meanOverCrops } from "../../lib/data/augment/tencrop.ts";
import { AdaDfNet } from "../../lib/model/adadf_net.ts";
import { initBackend } from "../../lib/backend/backend.ts";

const TRAIN = new URL("../../tasks/train.ts", import.meta.url).pathname;
const WEIGHTS = new URL("../fixtures/weights/", import.meta.url).pathname;
const TINY = ["--epochs", "1", "--image-size", "16", "--width", "4", "--batch-size", "7", "--quiet"];

async function train(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TRAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const jsonl = (path: string) => readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));

function assertOneErrorLine(stderr: string, pattern: RegExp) {
  const errors = stderr.split("\n").filter((l) => l.startsWith("error:"));
  assert.equal(errors.length, 1, stderr);
  assert.match(errors[0], pattern);
  assert.ok(!/\n\s+at /.test(stderr), `a stack trace:\n${stderr}`);
}

Deno.test("train --dataset raf-db: RAF-DB's preset, a corrupt image skipped and listed, --noise-file applied by name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-raf-" });
  try {
    const root = join(dir, "RAF-DB");
    await makeRafDb(root, 3); // 21 training, 7 test images
    writeFileSync(join(root, "Image/aligned/train_00002_aligned.jpg"), "not a jpeg");
    // EAC's format: train_00001 (surprise, id 1) relabelled to anger (id 6); train_00004 (fear) unchanged
    const noise = join(dir, "noise01.txt");
    writeFileSync(noise, "train_00001.jpg 6\ntrain_00004.jpg 2\ntrain_00002.jpg 3\n");
    const out = join(dir, "run");
    const r = await train("--dataset", "raf-db", "--data-path", root, "--noise-file", noise, ...TINY, "--out", out);
    assert.equal(r.code, 0, r.stderr);
    const cfg = json(join(out, "config.json"));
    assert.deepEqual([cfg.dataset, cfg.threshold, cfg.beta, cfg.imageSize, cfg.batchSize], ["raf-db", 0.7, 3, 16, 7]);
    const summary = json(join(out, "summary.json"));
    assert.equal(summary.skippedImages, 1);
    const skipped = json(join(out, "skipped_images.json"));
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0].id, "train_00002.jpg");
    assert.equal(skipped[0].split, "train");
    assert.match(skipped[0].path, /train_00002_aligned\.jpg$/);
    assert.ok(skipped[0].reason.length > 0);
    const noisy = json(join(out, "noisy_labels.json"));
    assert.deepEqual(
      noisy.ids,
      ["train_00001.jpg"],
      "the skipped image's line is ignored, unchanged labels not listed",
    );
    assert.deepEqual(noisy.flipped, [0]);
    assert.deepEqual([noisy.from, noisy.to], [[0], [5]]);
    assert.equal(noisy.file, noise);
    assert.equal(jsonl(join(out, "metrics.jsonl")).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train --dataset raf-db --noise 0.3 records the flipped samples with their ids", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-rafnoise-" });
  try {
    const root = join(dir, "RAF-DB");
    await makeRafDb(root, 4);
    const out = join(dir, "run");
    const r = await train("--dataset", "raf-db", "--data-path", root, "--noise", "0.3", ...TINY, "--out", out);
    assert.equal(r.code, 0, r.stderr);
    const noisy = json(join(out, "noisy_labels.json"));
    assert.equal(noisy.rate, 0.3);
    assert.ok(noisy.flipped.length > 0);
    assert.equal(noisy.ids.length, noisy.flipped.length);
    assert.ok(noisy.ids.every((id: string) => /^train_\d{5}\.jpg$/.test(id)), noisy.ids.join());
    noisy.from.forEach((f: number, k: number) => assert.notEqual(f, noisy.to[k]));
    assert.deepEqual(json(join(out, "skipped_images.json")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train --dataset ferplus reports testAccuracyTrue against the crowd and tracks the crowd distributions", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-ferplus-" });
  try {
    const rows = await makeFer2013(dir);
    // a clear majority on the row's own class, one vote for neutral (id 0)
    await makeFerPlus(dir, rows, (i) => {
      const votes = new Array(10).fill(0);
      votes[[6, 3, 2, 0, 4, 5, 1][rows[i].emotion]] += 8; // FER id -> FERPlus column (any majority will do)
      votes[0] += 1;
      return { votes };
    });
    const out = join(dir, "run");
    const r = await train("--dataset", "ferplus", "--data-path", dir, ...TINY, "--out", out);
    assert.equal(r.code, 0, r.stderr);
    const summary = json(join(out, "summary.json"));
    assert.equal(typeof summary.testAccuracyTrue, "number");
    assert.equal(typeof jsonl(join(out, "metrics.jsonl"))[0].testAccuracyTrue, "number");
    const tracked = jsonl(join(out, "tracked.jsonl"))[0].samples;
    assert.ok(tracked.length > 0);
    for (const s of tracked) {
      assert.equal(s.trueDistribution.length, 7);
      assert.ok(Math.abs(s.trueDistribution.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train --dataset sfew uses SFEW's preset with TenCrop; affectnet its balanced epochs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-sfew-" });
  try {
    await makeSfew(join(dir, "SFEW2"));
    let out = join(dir, "run-sfew");
    let r = await train("--dataset", "sfew", "--data-path", join(dir, "SFEW2"), ...TINY, "--out", out);
    assert.equal(r.code, 0, r.stderr);
    let cfg = json(join(out, "config.json"));
    assert.deepEqual([cfg.threshold, cfg.beta, cfg.tenCrop, cfg.imageSize, cfg.decodeSize], [0.5, 5, true, 16, 18]);
    assert.match(r.stderr, /faces at 18x18/);
    await makeAffectNetNpy(join(dir, "AffectNet"));
    out = join(dir, "run-aff");
    r = await train("--dataset", "affectnet", "--data-path", join(dir, "AffectNet"), ...TINY, "--out", out);
    assert.equal(r.code, 0, r.stderr);
    cfg = json(join(out, "config.json"));
    assert.deepEqual([cfg.threshold, cfg.beta, cfg.balancedSampling, cfg.affectnetClasses], [0.5, 5, true, 7]);
    assert.equal(cfg.classes.length, 7);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainingBatches() draws class-balanced epochs and drops the last partial batch", () => {
  // class 0: 10 samples, class 1: 3, class 2: 5 -> 3 of each = 9 per epoch, 2 batches of 4
  const labels = Int32Array.from([...new Array(10).fill(0), 1, 1, 1, ...new Array(5).fill(2)]);
  const cfg = resolveConfig({ dataset: "affectnet", dataPath: "/d", batchSize: 4, tops: 0.5 });
  const prng = new Prng(3);
  const seen = new Set<number>();
  for (let epoch = 0; epoch < 20; epoch++) {
    const batches = trainingBatches(labels, cfg, prng);
    assert.equal(batches.length, 2);
    assert.ok(batches.every((b) => b.length === 4));
    for (const b of batches) for (const i of b) seen.add(i);
  }
  assert.equal(seen.size, 18, "every sample is drawn in some epoch");
  const plain = trainingBatches(labels, { ...cfg, balancedSampling: false }, new Prng(3));
  assert.equal(plain.length, 4, "18 samples, batch 4, last 2 dropped");
});

Deno.test("evaluateTarget() with tenCrop averages the ten crops' target logits per image", async () => {
  await initBackend("wasm");
  const net = new AdaDfNet({ width: 4, numClasses: 7 }, { seed: 2 });
  try {
    const S = 18;
    const n = 3;
    const prng = new Prng(1);
    const images = Uint8Array.from({ length: n * S * S * 3 }, () => prng.int(256));
    const split = { images, labels: Int32Array.from([0, 1, 2]) };
    const before = tf.memory().numTensors;
    const r = await evaluateTarget(net, split, { imageSize: S, batchSize: 2, numClasses: 7, tenCrop: 16 });
    assert.equal(tf.memory().numTensors, before);
    const t = toTensors(makeBatch(split, [0, 1, 2], { imageSize: S, tenCrop: 16 }));
    const crops = await targetBatchAsync(net, t.x);
    tf.dispose([t.x, t.labels]);
    const want = meanOverCrops(crops.logits, { crops: 10, classes: 7 });
    assert.equal(r.logits.length, n * 7);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(r.logits[i] - want[i]) < 1e-5, `logit ${i}`);
    assert.equal(r.features.length, n * r.featureDim);
  } finally {
    net.dispose();
  }
});

Deno.test("train --pretrained with a ResNet file freezes the stem; a bad file exits 2 leaving no run folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-pre-" });
  try {
    const root = join(dir, "RAF-DB");
    await makeRafDb(root, 1);
    let out = join(dir, "run");
    const good = join(WEIGHTS, "resnet18_msceleb_style.pth"); // width 4, a 10-class fc
    let r = await train("--dataset", "raf-db", "--data-path", root, "--pretrained", good, ...TINY, "--out", out);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json(join(out, "config.json")).stemFrozen, true);
    assert.match(r.stderr, /pretrained: .* \(ResNet weights, \d+ tensors loaded, skipped fc.weight, fc.bias\)/);
    out = join(dir, "run-bad");
    r = await train(
      "--dataset",
      "raf-db",
      "--data-path",
      root,
      "--pretrained",
      good,
      ...TINY,
      "--width",
      "8",
      "--out",
      out,
    );
    assert.equal(r.code, 2, r.stderr);
    assertOneErrorLine(r.stderr, /key 'conv1.weight' has shape \[4,3,7,7\] in the file, the model expects \[8,3,7,7\]/);
    assert.ok(!existsSync(out), "no run folder after bad weights");
    const junk = join(dir, "junk.pth");
    writeFileSync(junk, "junk");
    r = await train("--dataset", "raf-db", "--data-path", root, "--pretrained", junk, ...TINY, "--out", out);
    assert.equal(r.code, 2, r.stderr);
    assertOneErrorLine(r.stderr, /junk\.pth: not a PyTorch checkpoint/);
    assert.ok(!existsSync(out));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train on bad real data exits 2 with one error: line before creating the run folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-bad-" });
  try {
    const out = join(dir, "run");
    const raf = join(dir, "RAF-DB");
    await makeRafDb(raf, 1);
    const labels = join(raf, "EmoLabel", "list_patition_label.txt");
    const good = readFileSync(labels, "utf8");
    const cases: [string[], RegExp, () => void][] = [
      [["--dataset", "raf-db"], /dataset 'raf-db' needs --data-path DIR/, () => {}],
      [["--dataset", "raf-db", "--data-path", join(dir, "nowhere")], /nowhere/, () => {}],
      [["--dataset", "raf-db", "--data-path", raf], /list_patition_label\.txt:3: unknown label id .9./, () => {
        writeFileSync(labels, good.replace(/^(train_00002\.jpg) \d/m, "$1 9"));
      }],
      [["--dataset", "raf-db", "--data-path", raf], /test split is empty/, () => {
        writeFileSync(labels, good.split("\n").filter((l) => !l.startsWith("test_")).join("\n"));
      }],
      [["--dataset", "raf-db", "--data-path", raf, "--noise-file", join(dir, "none.txt")], /none\.txt/, () => {
        writeFileSync(labels, good);
      }],
      [["--dataset", "folder", "--data-path", join(dir, "tree")], /grumpy/, () => {}],
    ];
    await put(join(dir, "tree", "grumpy", "a.png"), await solidImage([1, 2, 3], { format: "png" }));
    for (const [args, pattern, setup] of cases) {
      setup();
      const r = await train(...args, ...TINY, "--out", out);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assertOneErrorLine(r.stderr, pattern);
      assert.ok(!existsSync(out), `${args.join(" ")} left a run folder`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

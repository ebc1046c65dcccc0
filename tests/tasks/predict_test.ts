/**
 * `deno task predict` with an official Ada-DF checkpoint (tests/fixtures/weights, PyTorch's
 * outputs in parity.json): an --npy batch in PyTorch layout gives PyTorch's logits and
 * attention; image files give one row each naming the image; bad input exits 2 naming it.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLASS_COLOURS, put, solidImage } from "../data/readers/_make.ts";
import { CLASSES } from "../../lib/data/classes.ts";
import { loadFacesTenCrop, meanCropRows, nchwToNhwc, type PredictionRow } from "../../lib/infer/predict.ts";
import { encodeNpy } from "../../lib/util/files.ts";

const PREDICT = new URL("../../tasks/predict.ts", import.meta.url).pathname;
const FIX = new URL("../fixtures/weights/", import.meta.url).pathname;
const CKPT = join(FIX, "adadf_checkpoint.pth.tar"); // width 4, 7 classes, trained at 32x32 in the fixture script
const parity = JSON.parse(readFileSync(join(FIX, "parity.json"), "utf8")).adadf;

async function predict(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PREDICT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

const maxAbs = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));

Deno.test("nchwToNhwc() moves channels last and checks the shape", () => {
  // [1, 3, 1, 2]: channel c, pixel p = 10 c + p
  const x = nchwToNhwc(Float32Array.from([0, 1, 10, 11, 20, 21]), [1, 3, 1, 2]);
  assert.deepEqual(Array.from(x), [0, 10, 20, 1, 11, 21]);
  assert.throws(() => nchwToNhwc(new Float32Array(4), [1, 1, 2, 2]), /\(N, 3, H, W\)/);
});

Deno.test("deno task predict --npy with an official checkpoint gives PyTorch's logits, attention and softmax", async () => {
  const r = await predict("--weights", CKPT, "--npy", join(FIX, "parity_input.npy"), "--json");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const o = JSON.parse(r.stdout);
  assert.deepEqual(o.classes, [...CLASSES]);
  assert.equal(o.rows.length, parity.wTar.length);
  const tar = o.rows.flatMap((row: { targetLogits: number[] }) => row.targetLogits);
  const aux = o.rows.flatMap((row: { auxLogits: number[] }) => row.auxLogits);
  assert.ok(maxAbs(tar, parity.tarLogits) < 1e-3, `target logits differ by ${maxAbs(tar, parity.tarLogits)}`);
  assert.ok(maxAbs(aux, parity.auxLogits) < 1e-3, `aux logits differ by ${maxAbs(aux, parity.auxLogits)}`);
  // the official forward's third output (w_aux + w_tar) / 2, and each branch's own weight
  assert.ok(maxAbs(o.rows.map((row: { attention: number }) => row.attention), parity.attention) < 1e-5);
  assert.ok(maxAbs(o.rows.map((row: { attentionAux: number }) => row.attentionAux), parity.wAux) < 1e-5);
  assert.ok(maxAbs(o.rows.map((row: { attentionTarget: number }) => row.attentionTarget), parity.wTar) < 1e-5);
  for (const row of o.rows) {
    assert.ok(!("image" in row), "--npy rows carry no image");
    assert.deepEqual(Object.keys(row).sort(), [
      "attention",
      "attentionAux",
      "attentionTarget",
      "auxLogits",
      "probabilities",
      "targetLogits",
    ]);
    const m = Math.max(...row.targetLogits);
    const e = row.targetLogits.map((v: number) => Math.exp(v - m));
    const z = e.reduce((a: number, b: number) => a + b, 0);
    assert.ok(maxAbs(row.probabilities, e.map((v: number) => v / z)) < 1e-5);
  }
});

Deno.test("deno task predict IMAGE... gives one row per image, in order, at the given input size", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-predict-" });
  try {
    const a = join(dir, "a.jpg");
    const b = join(dir, "b.png");
    await put(a, await solidImage(CLASS_COLOURS[0], { width: 40, height: 40 }));
    await put(b, await solidImage(CLASS_COLOURS[3], { width: 40, height: 40, format: "png" }));
    let r = await predict("--weights", CKPT, "--image-size", "32", a, b, "--json");
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout);
    assert.deepEqual(o.rows.map((row: { image: string }) => row.image), [a, b]);
    for (const row of o.rows) {
      assert.equal(row.probabilities.length, 7);
      assert.ok(Math.abs(row.probabilities.reduce((s: number, p: number) => s + p, 0) - 1) < 1e-5);
      assert.ok(row.attention > 0 && row.attention < 1);
    }
    assert.notDeepEqual(o.rows[0].targetLogits, o.rows[1].targetLogits);
    // the same image alone gives the same row (batching does not change outputs)
    r = await predict("--weights", CKPT, "--image-size", "32", b, "--json");
    assert.ok(maxAbs(JSON.parse(r.stdout).rows[0].targetLogits, o.rows[1].targetLogits) < 1e-4);
    r = await predict("--weights", CKPT, "--image-size", "32", a);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /a\.jpg: (surprise|fear|disgust|happiness|sadness|anger|neutral) \(\d+\.\d %\), attention 0\.\d{3} \(aux 0\.\d{3}, target 0\.\d{3}\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("meanCropRows() averages the crops' logits and attention; probabilities are the softmax of the mean", () => {
  const row = (t: number[], w: number): PredictionRow => ({
    targetLogits: t,
    auxLogits: t.map((v) => -v),
    attention: w,
    attentionAux: w / 2,
    attentionTarget: 1.5 * w,
    probabilities: [],
  });
  const out = meanCropRows([row([0, 2], 0.2), row([2, 0], 0.4), row([3, 3], 0.5), row([1, 1], 0.7)], 2);
  assert.equal(out.length, 2);
  assert.deepEqual(out[0].targetLogits, [1, 1]);
  assert.deepEqual(out[0].auxLogits, [-1, -1]);
  assert.ok(Math.abs(out[1].attention! - 0.6) < 1e-12);
  assert.ok(Math.abs(out[1].attentionAux! - 0.3) < 1e-12);
  assert.ok(Math.abs(out[1].attentionTarget! - 0.9) < 1e-12);
  assert.deepEqual(out[1].probabilities, [0.5, 0.5]);
  assert.throws(() => meanCropRows([row([0], 0)], 2), /whole groups of 2 crops/);
});

Deno.test("loadFacesTenCrop() gives ten normalised crops per face; deno task predict --ten-crop true one row per face", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-predict10-" });
  try {
    const a = join(dir, "a.jpg");
    const b = join(dir, "b.png");
    await put(a, await solidImage(CLASS_COLOURS[0], { width: 40, height: 40 }));
    await put(b, await solidImage(CLASS_COLOURS[3], { width: 40, height: 40, format: "png" }));
    const x = await loadFacesTenCrop([a, b], { decodeSize: 37, crop: 32 });
    assert.equal(x.length, 2 * 10 * 32 * 32 * 3);
    const r = await predict("--weights", CKPT, "--image-size", "32", "--ten-crop", "true", a, b, "--json");
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout).rows;
    assert.equal(rows.length, 2);
    assert.deepEqual(rows.map((row: { image: string }) => row.image), [a, b]);
    // a face of one solid colour gives ten identical crops: the mean equals the single crop's row
    const single = JSON.parse((await predict("--weights", CKPT, "--image-size", "32", a, "--json")).stdout).rows[0];
    assert.ok(maxAbs(rows[0].targetLogits, single.targetLogits) < 1e-3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an official checkpoint's outputs are reordered from its data set's class order (--checkpoint-classes)", async () => {
  const { checkpointClassMap } = await import("../../lib/infer/trained_model.ts");
  // AffectNet's ids 0..6 = neutral, happy, sad, surprise, fear, disgust, anger; SFEW's folders are alphabetical
  assert.deepEqual(checkpointClassMap("affectnet", 7), [6, 3, 4, 0, 1, 2, 5]);
  assert.deepEqual(checkpointClassMap("sfew", 7), [5, 2, 1, 3, 6, 4, 0]);
  assert.deepEqual(checkpointClassMap("raf-db", 7), [0, 1, 2, 3, 4, 5, 6]);
  const npy = join(FIX, "parity_input.npy");
  const raf = JSON.parse((await predict("--weights", CKPT, "--npy", npy, "--json")).stdout).rows;
  for (const order of ["affectnet", "sfew"] as const) {
    const r = await predict("--weights", CKPT, "--npy", npy, "--checkpoint-classes", order, "--json");
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout).rows;
    const map = checkpointClassMap(order, 7);
    for (let i = 0; i < rows.length; i++) {
      for (let k = 0; k < 7; k++) {
        assert.ok(
          Math.abs(rows[i].targetLogits[map[k]] - raf[i].targetLogits[k]) < 1e-5,
          `${order} row ${i} class ${k}`,
        );
        assert.ok(Math.abs(rows[i].auxLogits[map[k]] - raf[i].auxLogits[k]) < 1e-5);
      }
      assert.ok(Math.abs(rows[i].attention! - raf[i].attention!) < 1e-6);
    }
  }
});

Deno.test("deno task predict: bad usage or input exits 2 with one error: line naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-predictbad-" });
  try {
    const corrupt = join(dir, "corrupt.jpg");
    writeFileSync(corrupt, "not an image");
    const badNpy = join(dir, "bad.npy");
    writeFileSync(badNpy, encodeNpy(new Float32Array(2 * 4 * 4), [2, 1, 4, 4]));
    const cases: [string[], RegExp][] = [
      [[join(dir, "a.jpg")], /give exactly one of --run DIR and --weights FILE/],
      [["--weights", CKPT], /give image files or --npy FILE/],
      [["--weights", CKPT, "x.jpg", "--npy", badNpy], /give image files or --npy FILE/],
      [["--weights", CKPT, join(dir, "missing.jpg")], /image .*missing\.jpg does not exist/],
      [["--weights", CKPT, "--image-size", "32", corrupt], /image .*corrupt\.jpg cannot be read/],
      [["--weights", CKPT, "--npy", badNpy], /bad\.npy has shape \(2, 1, 4, 4\); expected \(N, 3, S, S\)/],
      [["--weights", CKPT, "--npy", join(dir, "none.npy")], /none\.npy: --npy does not exist/],
      [["--weights", CKPT, "--npy", "/dev/zero"], /\/dev\/zero: --npy is a .*expected a regular file/],
      [["--weights", join(FIX, "resnet18_msceleb_style.pth"), "--npy", join(FIX, "parity_input.npy")], /plain ResNet/],
      [["--run", dir, corrupt], /is not a run folder/],
      [["--weights", CKPT, "--ten-crop", "maybe", corrupt], /--ten-crop expects true or false/],
      [
        ["--weights", CKPT, "--checkpoint-classes", "ck+", corrupt],
        /--checkpoint-classes expects raf-db, affectnet or sfew/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await predict(...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^error: /);
      assert.match(lines[0], pattern);
    }
    const h = await predict("--help");
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--npy FILE/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task predict on a plain network (the baseline's torchvision export) gives null attention fields", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-predict-plain-" });
  try {
    const { AdaDfNet } = await import("../../lib/model/adadf_net.ts");
    const { exportOfficialSafetensors } = await import("../../lib/model/weights_export.ts");
    const { initBackend } = await import("../../lib/backend/backend.ts");
    await initBackend("cpu");
    const net = new AdaDfNet({ width: 4, numClasses: 7, variant: "plain" }, { seed: 2 });
    const path = join(dir, "baseline.safetensors");
    await exportOfficialSafetensors(net, path, {});
    net.dispose();
    const r = await predict("--weights", path, "--npy", join(FIX, "parity_input.npy"), "--json");
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout);
    for (const row of o.rows) {
      assert.equal(row.attention, null);
      assert.equal(row.attentionAux, null);
      assert.equal(row.attentionTarget, null);
      assert.deepEqual(row.auxLogits, row.targetLogits, "one branch");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("non-finite values never become answers: a NaN input row or NaN weights (the loader eval shares) are one error: line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-predict-nan-" });
  try {
    const { encodeNpy } = await import("../../lib/util/files.ts");
    const x = new Float32Array(2 * 3 * 8 * 8).fill(0.1);
    x[3 * 8 * 8 + 5] = NaN; // row 1
    Deno.writeFileSync(join(dir, "nan.npy"), encodeNpy(x, [2, 3, 8, 8]));
    let r = await predict("--weights", CKPT, "--npy", join(dir, "nan.npy"), "--json");
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), /^error: --npy .*nan\.npy: row 1 holds a non-finite value \(NaN\)/);
    assert.equal(r.stdout, "");

    // weights with a NaN: refused by name before anything is predicted (wasm would give finite probabilities)
    const { AdaDfNet } = await import("../../lib/model/adadf_net.ts");
    const { exportOfficialSafetensors } = await import("../../lib/model/weights_export.ts");
    const { initBackend } = await import("../../lib/backend/backend.ts");
    const tf = await import("@tensorflow/tfjs");
    await initBackend("cpu");
    tf.disposeVariables();
    const net = new AdaDfNet({ width: 4, numClasses: 7 }, { seed: 2 });
    const w = net.params.get("branch_2.layer3.0.conv1.weight")!;
    w.assign(tf.fill(w.shape, NaN));
    const path = join(dir, "nan.safetensors");
    await exportOfficialSafetensors(net, path, {});
    net.dispose();
    r = await predict("--weights", path, "--npy", join(FIX, "parity_input.npy"), "--json");
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr.trim(),
      /^error: weights: .*nan\.safetensors: 'branch_2\.layer3\.0\.conv1\.weight' holds a non-finite value/,
    );
    assert.equal(r.stderr.trim().split("\n").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * `deno task predict --detect` with an official Ada-DF checkpoint (the fixture) on a packaged
 * sample photo: one row per face with box, landmarks and score beside the usual fields, the same
 * outputs as predicting on the faces `deno task align` writes, and --annotate renders a PNG.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { samplePhotos } from "../../lib/faces/detector.ts";

const TASKS = new URL("../../tasks/", import.meta.url).pathname;
const CKPT = new URL("../fixtures/weights/adadf_checkpoint.pth.tar", import.meta.url).pathname;

async function task(name: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(TASKS, `${name}.ts`), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("deno task predict --detect: one row per face, CLI.md's fields, the same outputs as on align's crops", async () => {
  const dir = await Deno.makeTempDir();
  const photo = samplePhotos()[0];
  const png = join(dir, "annotated.png");
  const r = await task(
    "predict",
    "--weights",
    CKPT,
    "--detect",
    photo,
    "--image-size",
    "64",
    "--annotate",
    png,
    "--json",
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.classes.length, 7);
  assert.equal(out.rows.length, 3);
  for (const [i, row] of out.rows.entries()) {
    assert.equal(row.image, photo);
    assert.equal(row.face, i);
    assert.equal(row.box.length, 4);
    assert.equal(row.landmarks.length, 5);
    for (const p of row.landmarks) assert.equal(p.length, 2);
    assert.ok(row.score > 0.5 && row.score <= 1);
    for (const k of ["targetLogits", "auxLogits", "probabilities"]) assert.equal(row[k].length, 7);
    for (const k of ["attention", "attentionAux", "attentionTarget"]) assert.equal(typeof row[k], "number");
  }
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, "png");
  assert.ok(meta.width! > 0 && meta.height! > 0);
  // the aligned faces, saved by align and given to plain predict, give the same outputs
  const a = await task("align", photo, "--out", join(dir, "faces"));
  assert.equal(a.code, 0, a.stderr);
  const plain = await task(
    "predict",
    "--weights",
    CKPT,
    "--image-size",
    "64",
    "--json",
    ...[0, 1, 2].map((k) => join(dir, "faces", `sample1_${k}.png`)),
  );
  assert.equal(plain.code, 0, plain.stderr);
  JSON.parse(plain.stdout).rows.forEach((row: { probabilities: number[] }, i: number) => {
    row.probabilities.forEach((p, k) => assert.ok(Math.abs(p - out.rows[i].probabilities[k]) < 1e-6));
  });
  // a corrupt photo is one error: line, exit 2
  const bad = join(dir, "bad.jpg");
  await Deno.writeFile(bad, (await Deno.readFile(photo)).subarray(0, 1000));
  const e = await task("predict", "--weights", CKPT, "--detect", bad);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /^error: image .*bad\.jpg: corrupt, truncated or not an image/);
  assert.equal(e.stderr.trim().split("\n").length, 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task predict --detect works with --run (a run folder) and with TenCrop, as predict does on align's crops", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const photo = samplePhotos()[2]; // 3 people
    const a = await task("align", photo, "--out", join(dir, "faces"));
    assert.equal(a.code, 0, a.stderr);
    const crops = [0, 1, 2].map((k) => join(dir, "faces", `sample3_${k}.png`));
    const same = (detect: { rows: { probabilities: number[] }[] }, plain: { rows: { probabilities: number[] }[] }) => {
      assert.equal(detect.rows.length, 3);
      plain.rows.forEach((row, i) =>
        row.probabilities.forEach((p, k) => assert.ok(Math.abs(p - detect.rows[i].probabilities[k]) < 1e-6))
      );
    };
    // TenCrop: each face is resized to the decode size and the ten crops' outputs averaged
    const ten = ["--weights", CKPT, "--image-size", "32", "--ten-crop", "true", "--json"];
    const d = await task("predict", ...ten, "--detect", photo);
    assert.equal(d.code, 0, d.stderr);
    const p = await task("predict", ...ten, ...crops);
    assert.equal(p.code, 0, p.stderr);
    same(JSON.parse(d.stdout), JSON.parse(p.stdout));
    const single = await task("predict", "--weights", CKPT, "--image-size", "32", "--json", "--detect", photo);
    assert.notDeepEqual(JSON.parse(single.stdout).rows[0].probabilities, JSON.parse(d.stdout).rows[0].probabilities);

    // a run folder (a one-epoch SynthFER run at 16x16): its input size and classes come from config.json
    const cfg = join(dir, "tiny.json");
    await Deno.writeTextFile(
      cfg,
      JSON.stringify({ epochs: 1, imageSize: 16, width: 4, trackedSamples: 2, synth: { trainSize: 70, testSize: 35 } }),
    );
    const t = await task("train", "--config", cfg, "--out", join(dir, "run"), "--quiet");
    assert.equal(t.code, 0, t.stderr);
    const rd = await task("predict", "--run", join(dir, "run"), "--json", "--detect", photo);
    assert.equal(rd.code, 0, rd.stderr);
    const rp = await task("predict", "--run", join(dir, "run"), "--json", ...crops);
    assert.equal(rp.code, 0, rp.stderr);
    same(JSON.parse(rd.stdout), JSON.parse(rp.stdout));
    for (const row of JSON.parse(rd.stdout).rows) assert.equal(typeof row.attention, "number");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

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

/**
 * `deno task align` on face-api's packaged sample photos (node_modules): folders keep their
 * tree, several faces are all kept or --largest keeps one, a photo without a face and a corrupt
 * one are listed, and --dataset sfew writes a copy the SFEW reader takes.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { samplePhotos } from "../../lib/faces/detector.ts";
import { indexSfew } from "../../lib/data/readers/sfew.ts";
import { indexRafDb } from "../../lib/data/readers/raf_db.ts";

const ALIGN = new URL("../../tasks/align.ts", import.meta.url).pathname;

async function align(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ALIGN, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("deno task align DIR keeps the tree, names faces by photo and index, lists misses and corrupt photos", async () => {
  const dir = await Deno.makeTempDir();
  const raw = join(dir, "raw");
  mkdirSync(join(raw, "happy"), { recursive: true });
  mkdirSync(join(raw, "sad"), { recursive: true });
  const photos = samplePhotos();
  copyFileSync(photos[0], join(raw, "happy", "party.jpg")); // 3 people
  copyFileSync(photos[2], join(raw, "sad", "sofa.jpg")); // 3 people
  await sharp({ create: { width: 320, height: 240, channels: 3, background: "#7a8" } }).png().toFile(
    join(raw, "sad", "wall.png"),
  );
  writeFileSync(join(raw, "happy", "broken.jpg"), readFileSync(photos[1]).subarray(0, 1500));
  const r = await align(raw, "--out", join(dir, "out"), "--json");
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.photos, 4);
  assert.equal(report.facesFound, 6);
  assert.equal(report.facesWritten, 6);
  assert.deepEqual(report.withoutFace, [join(raw, "sad", "wall.png")]);
  assert.deepEqual(report.withSeveral.map((s: { faces: number }) => s.faces), [3, 3]);
  assert.equal(report.skipped.length, 1);
  assert.equal(report.skipped[0].photo, join(raw, "happy", "broken.jpg"));
  for (const k of [0, 1, 2]) {
    const meta = await sharp(join(dir, "out", "happy", `party_${k}.png`)).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels], [100, 100, 3]);
    assert.ok(existsSync(join(dir, "out", "sad", `sofa_${k}.png`)));
  }
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "out", "align_report.json"), "utf8")).facesWritten, 6);
  // --largest: one face per photo, named after the photo
  const one = await align(join(raw, "happy", "party.jpg"), "--out", join(dir, "one"), "--largest", "--json");
  assert.equal(one.code, 0, one.stderr);
  assert.equal(JSON.parse(one.stdout).facesWritten, 1);
  assert.ok(existsSync(join(dir, "one", "party.png")));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task align --dataset sfew keeps Train/ and Val/ class folders, and the SFEW reader takes the copy", async () => {
  const dir = await Deno.makeTempDir();
  const raw = join(dir, "SFEW");
  const photos = samplePhotos();
  const layout: [string, string, number][] = [["Train", "Happy", 0], ["Train", "Sad", 1], ["Val", "Happy", 3], [
    "Val",
    "Angry",
    4,
  ]];
  for (const [split, cls, i] of layout) {
    mkdirSync(join(raw, split, cls), { recursive: true });
    copyFileSync(photos[i], join(raw, split, cls, `clip_${i}.jpg`));
  }
  const r = await align("--dataset", "sfew", "--data-path", raw, "--out", join(dir, "aligned"), "--json");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).facesWritten, 4, "one face per labelled photo");
  const index = await indexSfew(join(dir, "aligned"));
  assert.equal(index.train.length, 2);
  assert.equal(index.test.length, 2);
  assert.ok(index.train.some((s) => s.id.endsWith("clip_0.jpg")));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task align --dataset raf-db aligns Image/original into Image/aligned, and the RAF-DB reader takes the copy", async () => {
  const dir = await Deno.makeTempDir();
  const raw = join(dir, "RAF-DB");
  mkdirSync(join(raw, "Image", "original"), { recursive: true });
  mkdirSync(join(raw, "EmoLabel"), { recursive: true });
  const photos = samplePhotos();
  copyFileSync(photos[0], join(raw, "Image", "original", "train_00001.jpg")); // 3 people: the largest is kept
  copyFileSync(photos[3], join(raw, "Image", "original", "test_0001.jpg"));
  await sharp({ create: { width: 320, height: 240, channels: 3, background: "#7a8" } }).jpeg().toFile(
    join(raw, "Image", "original", "train_00002.jpg"),
  );
  const labels = "train_00001.jpg 4\ntrain_00002.jpg 7\ntest_0001.jpg 1\n";
  writeFileSync(join(raw, "EmoLabel", "list_patition_label.txt"), labels);
  const out = join(dir, "aligned");
  const r = await align("--dataset", "raf-db", "--data-path", raw, "--out", out, "--json");
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.photos, 3);
  assert.equal(report.facesWritten, 2, "one face per labelled photo");
  assert.deepEqual(report.withoutFace, [join(raw, "Image", "original", "train_00002.jpg")]);
  assert.equal(readFileSync(join(out, "EmoLabel", "list_patition_label.txt"), "utf8"), labels);
  for (const name of ["train_00001_aligned.jpg", "test_0001_aligned.jpg"]) {
    const meta = await sharp(join(out, "Image", "aligned", name)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", 100, 100]);
  }
  const index = await indexRafDb(out);
  assert.deepEqual(index.train.map((s) => s.label), [3, 6]);
  assert.ok(existsSync((index.train[0].source as { path: string }).path));
  assert.ok(!existsSync((index.train[1].source as { path: string }).path), "the faceless photo is absent, as listed");

  // a label file naming a path outside Image/ is refused before anything is written
  writeFileSync(join(raw, "EmoLabel", "list_patition_label.txt"), "train/../../../escape.jpg 1\n");
  const bad = await align("--dataset", "raf-db", "--data-path", raw, "--out", join(dir, "bad"));
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^error: .*list_patition_label\.txt:1: image name .* has a path separator/);
  assert.ok(!existsSync(join(dir, "bad")));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task align: bad usage is one error: line and exit code 2", async () => {
  for (
    const [args, pattern] of [
      [["photo.jpg"], /--out DIR is required/],
      [["--out", "x"], /give photos or folders/],
      [["--dataset", "affectnet", "--data-path", "x", "--out", "y"], /--dataset expects sfew, folder or raf-db/],
      [["/no/such/photo.jpg", "--out", "y"], /does not exist/],
    ] as [string[], RegExp][]
  ) {
    const r = await align(...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.ok(r.stderr.startsWith("error: "));
  }
});

/**
 * Detection, landmarks and alignment on the six multi-person photos that ship in
 * `@vladmandic/face-api`'s npm package (read from node_modules, never committed).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { initBackend } from "../../lib/backend/backend.ts";
import { alignFace, EYE_ANCHORED_WEIGHTS } from "../../lib/faces/align.ts";
import { annotatePhoto } from "../../lib/faces/annotate.ts";
import { type DetectedFace, type FaceDetector, loadFaceDetector, samplePhotos } from "../../lib/faces/detector.ts";
import { decodePhoto, type Photo } from "../../lib/faces/photo.ts";
import { applySimilarity, estimateSimilarity } from "../../lib/faces/similarity.ts";
import { RAF_DB_TEMPLATE, templateForSize } from "../../lib/faces/template.ts";
import { CLASSES } from "../../lib/data/classes.ts";
import { ImageDecodeError } from "../../lib/data/images.ts";

/** People in each sample photo (counted by eye). */
const PEOPLE = [3, 3, 3, 4, 5, 4];

let cache: { detector: FaceDetector; photos: Photo[]; faces: DetectedFace[][] } | undefined;
async function detectAll() {
  if (cache) return cache;
  await initBackend("wasm");
  const detector = await loadFaceDetector({ expressions: true });
  const photos: Photo[] = [], faces: DetectedFace[][] = [];
  for (const p of samplePhotos()) {
    const photo = await decodePhoto(p);
    photos.push(photo);
    const before = tf.memory().numTensors;
    faces.push(await detector.detect(photo));
    assert.equal(tf.memory().numTensors, before, "detect() leaks no tensor");
  }
  cache = { detector, photos, faces };
  return cache;
}

Deno.test("loadFaceDetector() finds every person in the sample photos, boxes and landmarks sane", async () => {
  const { photos, faces } = await detectAll();
  assert.deepEqual(faces.map((f) => f.length), PEOPLE);
  photos.forEach((photo, i) => {
    assert.equal(photo.detect.width, 1024, "a 1920-wide photo is shrunk to 1024 for detection");
    let lastX = -Infinity;
    for (const f of faces[i]) {
      const [x, y, w, h] = f.box;
      assert.ok(
        x >= -w * 0.1 && y >= -h * 0.1 && x + w <= photo.width * 1.01 && y + h <= photo.height * 1.01,
        "box in photo",
      );
      assert.ok(w > 100 && w < 400 && h > 100 && h < 400, `box ${w}x${h} face-sized at 1920 px`);
      assert.ok(f.score >= 0.5 && f.score <= 1);
      assert.ok(x >= lastX, "left to right");
      lastX = x;
      for (const [px, py] of f.landmarks) {
        // the landmark net sees the box padded: a mouth corner may sit on its edge
        assert.ok(px > x - 0.1 * w && px < x + 1.1 * w && py > y - 0.1 * h && py < y + 1.1 * h, "landmark in box");
      }
      const [le, re, nose, ml, mr] = f.landmarks;
      assert.ok(le[0] < re[0] && ml[0] < mr[0], "left before right");
      assert.ok(Math.max(le[1], re[1]) < nose[1] && nose[1] < Math.min(ml[1], mr[1]), "eyes above nose above mouth");
      assert.equal(f.landmarks68.length, 68);
      assert.equal(f.otherModelExpression!.length, CLASSES.length);
      assert.ok(Math.abs(f.otherModelExpression!.reduce((a, b) => a + b, 0) - 1) < 1e-3);
    }
  });
});

Deno.test("alignFace() puts the eye centres on the template on real photos and moves the pixels there", async () => {
  const { photos, faces } = await detectAll();
  const residuals = (weights: readonly number[] | undefined) => {
    const eyes: number[] = [], rest: number[] = [];
    for (let i = 0; i < photos.length; i++) {
      for (const f of faces[i]) {
        // the transform alignFace() uses (with its default weights when `weights` is undefined)
        const t = alignFace(photos[i], f.landmarks, { size: 100, weights }).transform;
        f.landmarks.forEach((p, k) => {
          const q = applySimilarity(t, p);
          (k < 2 ? eyes : rest).push(Math.hypot(q[0] - RAF_DB_TEMPLATE[k][0], q[1] - RAF_DB_TEMPLATE[k][1]));
        });
      }
    }
    eyes.sort((a, b) => a - b);
    return { eyes, restMean: rest.reduce((a, b) => a + b, 0) / rest.length };
  };
  // the default (eye-anchored) fit: every eye of every sample face within a pixel of the template
  const anchored = residuals(undefined);
  assert.equal(anchored.eyes.length, 2 * PEOPLE.reduce((a, b) => a + b, 0));
  assert.ok(anchored.eyes.at(-1)! < 1, `worst eye residual ${anchored.eyes.at(-1)} px`);
  assert.deepEqual([...EYE_ANCHORED_WEIGHTS], [1, 1, 0.01, 0.01, 0.01]);
  // the unweighted fit (insightface's estimate_norm) leaves the eyes off on tilted heads, for a
  // mouth and nose a little nearer theirs (README.md's figures)
  const plain = residuals([1, 1, 1, 1, 1]);
  assert.ok(plain.eyes.at(-1)! > 3, `unweighted worst eye residual ${plain.eyes.at(-1)} px`);
  assert.ok(plain.restMean < anchored.restMean && anchored.restMean < 7, `${plain.restMean} / ${anchored.restMean}`);
  const t = estimateSimilarity(faces[0][0].landmarks, templateForSize(100), { weights: EYE_ANCHORED_WEIGHTS });
  assert.deepEqual(alignFace(photos[0], faces[0][0].landmarks).transform, t, "alignFace's default is these weights");
  // the warp: paint a white disc at each eye centre in the photo; in the crop, its centroid is
  // where the transform puts the eye (within a pixel)
  const photo = photos[2], face = faces[2][0];
  const painted = { ...photo, data: photo.data.slice() };
  const iod = Math.hypot(face.landmarks[1][0] - face.landmarks[0][0], face.landmarks[1][1] - face.landmarks[0][1]);
  const r = iod / 8;
  for (const [cx, cy] of face.landmarks.slice(0, 2)) {
    for (let y = Math.floor(cy - r - 1); y <= cy + r + 1; y++) {
      for (let x = Math.floor(cx - r - 1); x <= cx + r + 1; x++) {
        if (Math.hypot(x + 0.5 - cx, y + 0.5 - cy) <= r) {
          painted.data.fill(255, (y * photo.width + x) * 3, (y * photo.width + x) * 3 + 3);
        } else if (Math.hypot(x + 0.5 - cx, y + 0.5 - cy) <= r + 1.5) {
          painted.data.fill(0, (y * photo.width + x) * 3, (y * photo.width + x) * 3 + 3);
        }
      }
    }
  }
  const crop = alignFace(painted, face.landmarks);
  for (const k of [0, 1]) {
    const [ex, ey] = applySimilarity(crop.transform, face.landmarks[k]);
    let sx = 0, sy = 0, sw = 0;
    for (let y = Math.floor(ey - 4); y <= ey + 4; y++) {
      for (let x = Math.floor(ex - 4); x <= ex + 4; x++) {
        const v = crop.pixels[(y * 100 + x) * 3 + 1];
        const w = v > 200 ? v : 0;
        sx += w * (x + 0.5), sy += w * (y + 0.5), sw += w;
      }
    }
    assert.ok(sw > 0);
    assert.ok(
      Math.hypot(sx / sw - ex, sy / sw - ey) < 1,
      `eye ${k}: marker at ${sx / sw},${sy / sw}, expected ${ex},${ey}`,
    );
    // and in the crop's pixels the eye sits on the template's eye
    const [tx, ty] = RAF_DB_TEMPLATE[k];
    assert.ok(
      Math.hypot(sx / sw - tx, sy / sw - ty) < 1,
      `eye ${k}: marker at ${sx / sw},${sy / sw}, template ${tx},${ty}`,
    );
  }
});

Deno.test("alignFace() is deterministic: the same photo gives the same bytes", async () => {
  const { photos, faces } = await detectAll();
  const hash = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
  const a = alignFace(photos[0], faces[0][1].landmarks).pixels;
  const b = alignFace(photos[0], faces[0][1].landmarks).pixels;
  assert.equal(hash(a), hash(b));
  assert.equal(a.length, 100 * 100 * 3);
  // decoding and detecting again gives the same landmarks, hence the same crop
  const again = await cache!.detector.detect(await decodePhoto(samplePhotos()[0]));
  assert.equal(hash(alignFace(photos[0], again[1].landmarks).pixels), hash(a));
});

Deno.test("annotatePhoto() renders a PNG with every face's box", async () => {
  const { photos, faces } = await detectAll();
  const png = await annotatePhoto(
    photos[4],
    faces[4].map((f) => ({ box: f.box, probabilities: f.otherModelExpression! })),
    {
      classes: CLASSES,
    },
  );
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, "png");
  assert.equal(meta.width, 1280);
});

Deno.test("decodePhoto() refuses a corrupt photo with an ImageDecodeError naming it", async () => {
  const dir = await Deno.makeTempDir();
  const bad = `${dir}/broken.jpg`;
  const bytes = await Deno.readFile(samplePhotos()[0]);
  await Deno.writeFile(bad, bytes.subarray(0, 2000));
  await assert.rejects(
    () => decodePhoto(bad),
    (e: Error) => e instanceof ImageDecodeError && e.message.startsWith(bad),
  );
  await Deno.writeFile(bad, new TextEncoder().encode("not a photo"));
  await assert.rejects(() => decodePhoto(bad), ImageDecodeError);
  await assert.rejects(() => decodePhoto(dir), ImageDecodeError);
  await Deno.remove(dir, { recursive: true });
});

import assert from "node:assert/strict";
import { fiveCrop, flipHorizontal, meanOverCrops, tenCrop } from "../../lib/data/augment/tencrop.ts";
import { imageAt, IMAGENET_MEAN, IMAGENET_STD, prepareBatch, prepareImage } from "../../lib/data/augment/prepare.ts";
import { randAugment } from "../../lib/data/augment/randaugment.ts";
import { makeBatch } from "../../lib/data/batches.ts";
import { Prng } from "../../lib/util/prng.ts";

/** [H, W, 3] image whose pixel (y, x) is (y, x, 7). */
function coords(h: number, w: number): Uint8Array {
  const img = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.set([y, x, 7], (y * w + x) * 3);
  return img;
}
const topLeft = (crop: Uint8Array) => [crop[0], crop[1]];

Deno.test("tenCrop() returns torchvision's order: TL, TR, BL, BR, centre, then the same of the mirrored image", () => {
  const img = coords(8, 10);
  const crops = tenCrop(img, { width: 10, height: 8, crop: 4 });
  assert.equal(crops.length, 10);
  for (const c of crops) assert.equal(c.length, 4 * 4 * 3);
  assert.deepEqual(crops.slice(0, 5).map(topLeft), [[0, 0], [0, 6], [4, 0], [4, 6], [2, 3]]);
  // mirrored image: column x holds original column 9 - x
  assert.deepEqual(crops.slice(5).map(topLeft), [[0, 9], [0, 3], [4, 9], [4, 3], [2, 6]]);
  assert.deepEqual(
    crops[5],
    fiveCrop(flipHorizontal(img, { width: 10, height: 8 }), { width: 10, height: 8, crop: 4 })[0],
  );
});

Deno.test("fiveCrop() centres with Python's round (halves to even) and rejects crops larger than the image", () => {
  const img = coords(9, 9);
  // (9 - 4) / 2 = 2.5 -> 2 (torchvision: int(round(2.5)))
  assert.deepEqual(topLeft(fiveCrop(img, { width: 9, height: 9, crop: 4 })[4]), [2, 2]);
  assert.throws(() => fiveCrop(img, { width: 9, height: 9, crop: 10 }), /crop must be an integer/);
});

Deno.test("meanOverCrops() averages each image's crop logits", () => {
  const logits = Float32Array.from([1, 2, 3, 4, /* image 1 */ 10, 20, 30, 40]); // [2 images x 2 crops, 2 classes]
  assert.deepEqual(Array.from(meanOverCrops(logits, { crops: 2, classes: 2 })), [2, 3, 20, 30]);
  assert.throws(() => meanOverCrops(logits, { crops: 3, classes: 2 }), /not a multiple/);
});

Deno.test("prepareImage() runs RandAugment on uint8, then flip, then normalisation, then erasing", () => {
  const s = 6;
  const img = new Uint8Array(s * s * 3).map((_, i) => (i * 29) % 256);
  const augment = { randAugment: true, flip: true, erasing: true };
  const out = new Float32Array(s * s * 3);
  prepareImage(img, out, { size: s, augment, prng: new Prng(5) });
  // the same by hand with the same draws
  const prng = new Prng(5);
  const ra = randAugment(img, s, { prng });
  const flip = prng.next() < 0.5;
  const want = new Float32Array(s * s * 3);
  for (let r = 0; r < s; r++) {
    for (let c = 0; c < s; c++) {
      for (let ch = 0; ch < 3; ch++) {
        const v = ra[(r * s + (flip ? s - 1 - c : c)) * 3 + ch];
        want[(r * s + c) * 3 + ch] = v * (1 / (255 * IMAGENET_STD[ch])) - IMAGENET_MEAN[ch] / IMAGENET_STD[ch];
      }
    }
  }
  const erased = out.filter((v) => v === 0).length;
  let same = 0;
  for (let i = 0; i < out.length; i++) if (out[i] === want[i] || out[i] === 0) same++;
  assert.equal(same, out.length, `erased ${erased}`);
});

Deno.test("prepareBatch() with tenCrop gives 10 crops per image, labels and indices repeated", () => {
  const s = 8;
  const images = new Uint8Array(2 * s * s * 3).map((_, i) => i % 251);
  const b = prepareBatch({ images, labels: [4, 6] }, [1, 0], { imageSize: s, tenCrop: 6 });
  assert.equal(b.imageSize, 6);
  assert.equal(b.crops, 10);
  assert.equal(b.x.length, 20 * 6 * 6 * 3);
  assert.deepEqual(Array.from(b.labels), [...Array(10).fill(6), ...Array(10).fill(4)]);
  assert.deepEqual(Array.from(b.indices), [...Array(10).fill(1), ...Array(10).fill(0)]);
});

Deno.test("makeBatch() reads an image store the same as the flat array, and RandAugment is switchable", () => {
  const s = 10;
  const n = 4;
  const images = new Uint8Array(n * s * s * 3).map((_, i) => (i * 13) % 256);
  const store = { count: n, size: s, get: (i: number) => images.subarray(i * s * s * 3, (i + 1) * s * s * 3) };
  const labels = Int32Array.from([0, 1, 2, 3]);
  const augment = { randAugment: true, flip: true, erasing: true };
  const a = makeBatch({ images, labels }, [3, 1, 2], { imageSize: s, augment, prng: new Prng(2) });
  const b = makeBatch({ images: store, labels }, [3, 1, 2], { imageSize: s, augment, prng: new Prng(2) });
  assert.deepEqual(a, b);
  const off = makeBatch({ images, labels }, [3, 1, 2], {
    imageSize: s,
    augment: { ...augment, randAugment: false },
    prng: new Prng(2),
  });
  assert.notDeepEqual(a.x, off.x);
  assert.throws(() => imageAt(images, 4, s), /outside the 4 images/);
  assert.throws(() => imageAt(store, 0, 12), /holds 10px images, expected 12px/);
});

Deno.test("prepareImage() passes randAugmentOptions through (SFEW's rand-m3-n5-mstd0.5)", () => {
  const s = 6;
  const img = new Uint8Array(s * s * 3).map((_, i) => (i * 53) % 256);
  const sfew = { n: 5, m: 3, mstd: 0.5 };
  const out = new Float32Array(s * s * 3);
  prepareImage(img, out, {
    size: s,
    augment: { randAugment: true, flip: false, erasing: false, randAugmentOptions: sfew },
    prng: new Prng(8),
  });
  const prng = new Prng(8);
  const ra = randAugment(img, s, { prng, ...sfew });
  const want = Float32Array.from(
    ra,
    (v, i) => v * (1 / (255 * IMAGENET_STD[i % 3])) - IMAGENET_MEAN[i % 3] / IMAGENET_STD[i % 3],
  );
  assert.deepEqual(out, want);
  const dflt = new Float32Array(s * s * 3);
  prepareImage(img, dflt, { size: s, augment: { randAugment: true, flip: false, erasing: false }, prng: new Prng(8) });
  assert.notDeepEqual(dflt, out);
});

import assert from "node:assert/strict";
import { epochBatches, IMAGENET_MEAN, IMAGENET_STD, makeBatch, randomErase } from "../../lib/data/batches.ts";
import { Prng } from "../../lib/util/prng.ts";

const S = 4;
// two 4x4 images: pixel value = column * 60 in every channel (so a flip is visible)
const images = new Uint8Array(2 * S * S * 3).map((_, i) => (Math.floor(i / 3) % S) * 60);
const split = { images, labels: Int32Array.from([3, 5]) };

Deno.test("makeBatch() normalises with ImageNet mean and std, channels last", () => {
  const b = makeBatch(split, [1, 0], { imageSize: S });
  assert.deepEqual(Array.from(b.labels), [5, 3]);
  assert.equal(b.x.length, 2 * S * S * 3);
  for (let c = 0; c < 3; c++) {
    const px = (0 * S + 2) * 3 + c; // row 0, column 2 -> value 120
    assert.ok(Math.abs(b.x[px] - (120 / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]) < 1e-6);
  }
});

Deno.test("makeBatch() flips about half the images horizontally when augmenting, reproducibly per seed", () => {
  const idx = Array.from({ length: 200 }, (_, i) => i % 2);
  const a = makeBatch(split, idx, { imageSize: S, augment: { flip: true, erasing: false }, prng: new Prng(1) });
  const b = makeBatch(split, idx, { imageSize: S, augment: { flip: true, erasing: false }, prng: new Prng(1) });
  assert.deepEqual(a.x, b.x);
  let flipped = 0;
  for (let k = 0; k < idx.length; k++) if (a.x[k * S * S * 3] > a.x[k * S * S * 3 + (S - 1) * 3]) flipped++;
  assert.ok(flipped > 70 && flipped < 130, `${flipped} of 200 flipped`);
});

Deno.test("randomErase() erases a 2-25 % rectangle with zeros about half the time", () => {
  const size = 20;
  const prng = new Prng(3);
  let erased = 0;
  for (let t = 0; t < 400; t++) {
    const img = new Float32Array(size * size * 3).fill(1);
    randomErase(img, size, prng);
    const zeros = img.filter((v) => v === 0).length / 3;
    if (zeros > 0) {
      erased++;
      assert.ok(zeros >= 0.015 * size * size && zeros <= 0.27 * size * size, `erased area ${zeros}`);
    }
  }
  assert.ok(erased > 150 && erased < 250, `${erased} of 400 erased`);
});

Deno.test("epochBatches() shuffles with the seed and drops the last incomplete batch only when asked", () => {
  const a = epochBatches(10, 4, { prng: new Prng(1), dropLast: true });
  assert.deepEqual(a.map((b) => b.length), [4, 4]);
  const b = epochBatches(10, 4, { dropLast: false });
  assert.deepEqual(b.map((x) => Array.from(x)), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  const c = epochBatches(10, 4, { prng: new Prng(1), dropLast: true });
  assert.deepEqual(a.map((x) => Array.from(x)), c.map((x) => Array.from(x)));
});

import assert from "node:assert/strict";
import { applyOp, opArgument, RAND_AUGMENT_OPS, randAugment } from "../../lib/data/augment/randaugment.ts";
import { affine, equalize } from "../../lib/data/augment/ops.ts";
import { Prng } from "../../lib/util/prng.ts";

// PIL 9.4 outputs of every op on a 24x24 pattern: tools/golden/make_augment_fixtures.py
const DIR = new URL("../fixtures/augment/", import.meta.url);
interface Case {
  op: string;
  magnitude: number;
  negate: boolean;
  interpolation: "bilinear" | "bicubic";
  argument: number | null;
}
const meta = JSON.parse(Deno.readTextFileSync(new URL("cases.json", DIR))) as { size: number; cases: Case[] };
const input = Deno.readFileSync(new URL("input.bin", DIR));
const outputs = Deno.readFileSync(new URL("outputs.bin", DIR));
const S = meta.size;
const PX = S * S * 3;

function compare(c: Case, k: number): { max: number; mean: number; differing: number } {
  const want = outputs.subarray(k * PX, (k + 1) * PX);
  const got = applyOp(c.op, input, {
    size: S,
    magnitude: c.magnitude,
    negate: c.negate,
    interpolation: c.interpolation,
  });
  let max = 0;
  let sum = 0;
  let differing = 0;
  for (let i = 0; i < PX; i++) {
    const d = Math.abs(got[i] - want[i]);
    max = Math.max(max, d);
    sum += d;
    if (d > 0) differing++;
  }
  return { max, mean: sum / PX, differing };
}

const POINT = ["AutoContrast", "Equalize", "Invert", "Posterize", "Solarize", "SolarizeAdd"];
const ENHANCE = ["Color", "Contrast", "Brightness", "Sharpness"];
const GEOMETRIC = ["Rotate", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel"];

Deno.test("golden fixtures cover all 15 RandAugment ops", () => {
  assert.equal(outputs.length, meta.cases.length * PX);
  assert.deepEqual(new Set(meta.cases.map((c) => c.op)), new Set(RAND_AUGMENT_OPS));
  for (const c of meta.cases) {
    if (c.argument !== null) assert.ok(Math.abs(opArgument(c.op, c.magnitude) - Math.abs(c.argument)) < 1e-12, c.op);
  }
});

Deno.test("applyOp() point ops equal PIL's ImageOps exactly", () => {
  meta.cases.forEach((c, k) => {
    if (!POINT.includes(c.op)) return;
    const r = compare(c, k);
    assert.equal(r.max, 0, `${c.op} m=${c.magnitude}: ${r.differing} values differ, max ${r.max}`);
  });
});

Deno.test("applyOp() enhance ops equal PIL's ImageEnhance (float32 blend) exactly", () => {
  meta.cases.forEach((c, k) => {
    if (!ENHANCE.includes(c.op)) return;
    const r = compare(c, k);
    assert.equal(r.max, 0, `${c.op} m=${c.magnitude}: ${r.differing} values differ, max ${r.max}`);
  });
});

Deno.test("applyOp() geometric ops match PIL's affine transform (bilinear and bicubic) to within 1 level", () => {
  // exact on this machine; libm cos/sin differences could move a rotated sample by one level
  let total = 0;
  meta.cases.forEach((c, k) => {
    if (!GEOMETRIC.includes(c.op)) return;
    const r = compare(c, k);
    total += r.differing;
    assert.ok(r.max <= 1 && r.mean < 0.05, `${c.op} m=${c.magnitude} ${c.interpolation}: max ${r.max} mean ${r.mean}`);
  });
  assert.ok(total < 20, `${total} geometric values differ from PIL`);
});

Deno.test("applyOp() rejects unknown ops and magnitudes outside [0, 10]", () => {
  assert.throws(() => applyOp("Blur", input, { size: S, magnitude: 5 }), /unknown RandAugment op "Blur"/);
  assert.throws(() => applyOp("Invert", input, { size: S, magnitude: 11 }), /magnitude must be in \[0, 10\]/);
  assert.throws(() => applyOp("Invert", input, { size: S + 1, magnitude: 1 }), /expected 25x25x3/);
});

Deno.test("affine() fills points mapped outside the image with the fill colour", () => {
  const img = new Uint8Array(4 * 4 * 3).fill(200);
  const out = affine(img, 4, { matrix: [1, 0, 2, 0, 1, 0], fill: [1, 2, 3] }); // samples x + 2
  assert.deepEqual(Array.from(out.subarray(0, 3)), [200, 200, 200]);
  assert.deepEqual(Array.from(out.subarray(6, 9)), [1, 2, 3]); // column 2 samples x = 4.5: outside
});

Deno.test("equalize() leaves a flat image unchanged", () => {
  const img = new Uint8Array(5 * 5 * 3).fill(77);
  assert.deepEqual(equalize(img, 5), img);
});

Deno.test("randAugment() is reproducible per seed, differs across seeds, and leaves its input untouched", () => {
  const before = input.slice();
  const a = randAugment(input, S, { prng: new Prng(7) });
  const b = randAugment(input, S, { prng: new Prng(7) });
  assert.deepEqual(a, b);
  assert.deepEqual(input, before);
  let changed = 0;
  for (let seed = 0; seed < 20; seed++) {
    const c = randAugment(input, S, { prng: new Prng(seed) });
    if (c.some((v, i) => v !== input[i])) changed++;
  }
  // P(no op fires) = 0.5^3: about 17 or 18 of 20 change
  assert.ok(changed >= 12 && changed < 20, `${changed} of 20 changed`);
});

Deno.test("randAugment() with one op and prob 1 equals applyOp() at the drawn magnitude", () => {
  const prng = new Prng(3);
  const out = randAugment(input, S, { prng, n: 1, prob: 1, mstd: 0, m: 5, ops: ["Solarize"] });
  assert.deepEqual(out, applyOp("Solarize", input, { size: S, magnitude: 5 }));
  assert.throws(() => randAugment(input, S, { prng, ops: ["Nope"] }), /unknown RandAugment op/);
});

Deno.test("randAugment() applies each op with probability 0.5 (n = 1, Invert only)", () => {
  const prng = new Prng(11);
  let inverted = 0;
  for (let t = 0; t < 400; t++) {
    const out = randAugment(input, S, { prng, n: 1, ops: ["Invert"] });
    if (out[0] === 255 - input[0]) inverted++;
  }
  assert.ok(inverted > 160 && inverted < 240, `${inverted} of 400`);
});

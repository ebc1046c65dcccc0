import assert from "node:assert/strict";
import { CLASSES, NUM_CLASSES } from "../../lib/data/classes.ts";
import { EXPRESSION_KEYS, EXPRESSION_PROTOTYPES, mixExpression } from "../../lib/data/synthfer/expression.ts";
import { drawFaceParams } from "../../lib/data/synthfer/face_params.ts";
import { faceSvg, rasterizeSvg } from "../../lib/data/synthfer.ts";

const oneHot = (c: number) => Array.from({ length: NUM_CLASSES }, (_, i) => (i === c ? 1 : 0));

Deno.test("mixExpression() returns a class's prototype for a one-hot distribution", () => {
  CLASSES.forEach((name, c) => {
    const e = mixExpression(oneHot(c));
    for (const k of EXPRESSION_KEYS) assert.ok(Math.abs(e[k] - EXPRESSION_PROTOTYPES[name][k]) < 1e-12, `${name}.${k}`);
  });
});

Deno.test("mixExpression() puts a 50/50 blend halfway between the two prototypes", () => {
  const e = mixExpression([0.5, 0.5, 0, 0, 0, 0, 0]);
  for (const k of EXPRESSION_KEYS) {
    assert.ok(Math.abs(e[k] - (EXPRESSION_PROTOTYPES.surprise[k] + EXPRESSION_PROTOTYPES.fear[k]) / 2) < 1e-12);
  }
  assert.throws(() => mixExpression([1, 0]), RangeError);
});

Deno.test("drawFaceParams() is deterministic and its expression follows the distribution", () => {
  const a = drawFaceParams(oneHot(3), { seed: 42 });
  assert.deepEqual(a, drawFaceParams(oneHot(3), { seed: 42 }));
  assert.notDeepEqual(a, drawFaceParams(oneHot(3), { seed: 43 }));
  assert.ok(a.expression.mouthCorner > 0.5, "a happy face smiles");
  assert.ok(drawFaceParams(oneHot(4), { seed: 42 }).expression.mouthCorner < -0.5, "a sad face frowns");
});

Deno.test("faceSvg() is pure and draws at the requested size", () => {
  const p = drawFaceParams(oneHot(0), { seed: 1 });
  const svg = faceSvg(p, 64);
  assert.equal(svg, faceSvg(p, 64));
  assert.match(svg, /^<svg [^>]*width="64" height="64" viewBox="0 0 100 100"/);
  assert.ok(!svg.includes("NaN") && !svg.includes("undefined"));
  assert.throws(() => faceSvg(p, 0), RangeError);
  assert.throws(() => faceSvg(p, 12.5), RangeError);
});

Deno.test("faceSvg() draws each class differently on the same face, and redraws a face identically", async () => {
  // same identity and scene, only the expression changes
  const base = drawFaceParams(oneHot(6), { seed: 7 });
  const pixels = await Promise.all(
    CLASSES.map((_, c) => rasterizeSvg(faceSvg({ ...base, expression: mixExpression(oneHot(c)) }, 48), 48)),
  );
  const diff = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
  for (let c = 0; c < NUM_CLASSES; c++) {
    for (let d = c + 1; d < NUM_CLASSES; d++) {
      // only the features change, a small part of the picture: mean |diff| of ~1 grey level
      assert.ok(diff(pixels[c], pixels[d]) > 0.5, `${CLASSES[c]} and ${CLASSES[d]} look the same`);
    }
  }
  assert.equal(
    diff(pixels[0], await rasterizeSvg(faceSvg({ ...base, expression: mixExpression(oneHot(0)) }, 48), 48)),
    0,
  );
});

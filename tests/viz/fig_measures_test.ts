import assert from "node:assert/strict";
import { measureDistributions } from "../../lib/analysis/distribution_measures.ts";
import { attentionRocFigure, nearestTargetFigure } from "../../lib/viz/fig_measures.ts";
import { renderFigure } from "../../lib/viz/render.ts";

function records() {
  const out = [];
  for (let epoch = 1; epoch <= 3; epoch++) {
    const samples = Array.from({ length: 40 }, (_, i) => {
      const blended = i % 2 === 0;
      const truth = blended ? [0.5, 0.5, 0, 0] : [1, 0, 0, 0];
      const flipped = i % 5 === 0;
      const label = flipped ? 3 : 0;
      return {
        trueDistribution: truth,
        label,
        labelDistribution: [0.6, 0.2, 0.1, 0.1],
        classDistribution: [0.7, 0.1, 0.1, 0.1],
        fused: [0.65, 0.15, 0.1, 0.1],
        w: flipped ? 0.2 + 0.05 * epoch : 0.8 - (i % 7) / 20,
        flipped,
      };
    });
    out.push(measureDistributions(epoch, samples));
  }
  return out;
}

Deno.test("nearestTargetFigure() and attentionRocFigure() draw every epoch and render to SVG and PNG", async () => {
  const r = records();
  const a = nearestTargetFigure(r);
  const values = (a.data as { values: { epoch: number; faces: string }[] }).values;
  assert.equal(values.length, 3 * 4 * 3); // epochs x targets x face groups
  const b = attentionRocFigure(r);
  const auc = (b.hconcat as { data: { values: { kind: string; auc: number }[] } }[])[0].data.values;
  assert.equal(auc.length, 6);
  assert.ok(
    auc.filter((x) => x.kind.startsWith("flipped")).every((x) => x.auc === 1),
    "flipped faces have the lowest w",
  );
  for (const spec of [a, b]) {
    const fig = await renderFigure(spec);
    assert.ok(fig.svg.startsWith("<svg"));
    assert.ok(fig.png.length > 1000);
  }
});

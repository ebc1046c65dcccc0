import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { generateSynthFer } from "../../lib/data/synthfer.ts";
import { faceSvg } from "../../lib/data/synthfer/face_svg.ts";
import {
  architectureFigure,
  attentionStatsFigure,
  CLASS_COLORS,
  classDistributionsFigure,
  compileSpec,
  confusionFigure,
  confusionMatrix,
  fusionExampleFigure,
  pickAmbiguousFace,
  pickTrackedSample,
  renderPng,
  rgbToPngDataUrl,
  svgToPngDataUrl,
  trainingCurvesFigure,
  trajectoryFigure,
  tsneFigure,
  type VegaLiteSpec,
  votesFigure,
} from "../../lib/viz/mod.ts";
import { C, fakeRecords } from "./_fixtures.ts";

/** Compiles without warnings and renders to a PNG of sane size; returns its size. */
async function checkRenders(spec: VegaLiteSpec): Promise<{ width: number; height: number }> {
  assert.deepEqual(compileSpec(spec).warnings, []);
  const png = await renderPng(spec);
  const meta = await sharp(Buffer.from(png)).metadata();
  assert.equal(meta.format, "png");
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  assert.ok(width >= 300 && width <= 4000, `width ${width}`);
  assert.ok(height >= 200 && height <= 3000, `height ${height}`);
  // not blank: a figure has many distinct colours
  const stats = await sharp(Buffer.from(png)).stats();
  assert.ok(stats.channels[0].stdev > 5, "the PNG is nearly blank");
  return { width, height };
}

const r = fakeRecords();

Deno.test("CLASS_COLORS has one distinct colour per class", () => {
  assert.equal(CLASS_COLORS.length, C);
  assert.equal(new Set(CLASS_COLORS).size, C);
});

Deno.test("tsneFigure() draws one panel per model and checks the embedding's shape", async () => {
  const emb = new Float32Array(2 * r.n).map((_, i) => Math.sin(i) * 10);
  const spec = tsneFigure([
    { title: "Baseline", embedding: emb, labels: r.labels },
    { title: "Ada-DF", embedding: emb, labels: r.labels, note: "test 50.0 %" },
  ]);
  await checkRenders(spec);
  assert.equal((spec.data as { values: unknown[] }).values.length, 2 * r.n);
  assert.throws(() => tsneFigure([{ title: "x", embedding: emb.subarray(2), labels: r.labels }]), RangeError);
  assert.throws(() => tsneFigure([]), RangeError);
});

Deno.test("classDistributionsFigure() outlines exactly the threshold rows", async () => {
  const rec = r.classDistributions[2];
  const spec = classDistributionsFigure(rec, { threshold: 0.5 });
  await checkRenders(spec);
  const heat = (spec.hconcat as { layer: { data?: { values: { row: string }[] } }[] }[])[0];
  const outlined = heat.layer[2].data!.values.map((v) => v.row);
  assert.deepEqual(outlined, ["disgust"]); // the fixture's one replaced row
  // epoch 0: every row is a threshold row
  const first = classDistributionsFigure(r.classDistributions[0]);
  const h0 = (first.hconcat as { layer: { data?: { values: unknown[] } }[] }[])[0];
  assert.equal(h0.layer[2].data!.values.length, C);
  assert.throws(() => classDistributionsFigure({ ...rec, rows: rec.rows.slice(1) }), RangeError);
});

Deno.test("fusionExampleFigure() shows four panels with a true distribution and three without", async () => {
  const s = r.tracked[2].samples[0];
  const spec = fusionExampleFigure(s, { epoch: 3 });
  await checkRenders(spec);
  assert.match(JSON.stringify(spec.title), /w = \d\.\d\d/);
  const panels = (spec.facet as { column: { sort: string[] } }).column.sort;
  assert.equal(panels.length, 4);
  const noTruth = fusionExampleFigure({ ...s, trueDistribution: undefined });
  assert.equal((noTruth.facet as { column: { sort: string[] } }).column.sort.length, 3);
  assert.throws(() => fusionExampleFigure({ ...s, fused: [1, 0] }), RangeError);
});

Deno.test("pickTrackedSample() picks the sample with the most ambiguous distribution", () => {
  const a = r.tracked[0].samples[0];
  const flat = Array.from({ length: C }, () => 1 / C);
  assert.equal(pickTrackedSample([a, { ...a, index: 77, trueDistribution: flat }]), 77);
  assert.throws(() => pickTrackedSample([]), RangeError);
});

Deno.test("trajectoryFigure() follows one tracked sample across epochs and names the tracked ones when missing", async () => {
  const spec = trajectoryFigure(r.tracked, 9);
  await checkRenders(spec);
  const points = (spec.data as { values: { epoch: number }[] }).values;
  assert.equal(points.length, r.tracked.length * 2 * C);
  assert.throws(() => trajectoryFigure(r.tracked, 123), /not tracked; tracked: 5, 9/);
});

Deno.test("trainingCurvesFigure() draws every loss part, a1/a2, lr and accuracies, skipping nulls", async () => {
  const metrics = r.metrics.map((m, i) => (i === 0 ? { ...m, lossKld: null } : m));
  const spec = trainingCurvesFigure(metrics);
  await checkRenders(spec);
  const panels = spec.concat as { data: { values: { series: string }[] } }[];
  assert.equal(panels.length, 7);
  assert.equal(panels[2].data.values.length, metrics.length - 1);
  assert.throws(() => trainingCurvesFigure([]), RangeError);
});

Deno.test("attentionStatsFigure() draws mean and min-max band per class", async () => {
  await checkRenders(attentionStatsFigure(r.attention));
  assert.throws(() => attentionStatsFigure([{ epoch: 1, mean: [1], max: [1], min: [1] }]), RangeError);
});

Deno.test("confusionMatrix() counts (true, predicted) pairs; confusionFigure() renders it", async () => {
  assert.deepEqual(confusionMatrix([0, 0, 1, 1], [0, 1, 1, 1], 2), [[1, 1], [0, 2]]);
  assert.throws(() => confusionMatrix([0], [2], 2), RangeError);
  assert.throws(() => confusionMatrix([0, 1], [0], 2), RangeError);
  const spec = confusionFigure(r.labels, r.predictions);
  await checkRenders(spec);
  assert.match(JSON.stringify(spec.title), /accuracy 7\d\.\d %/);
});

Deno.test("votesFigure() embeds the face as a PNG data URL beside its votes", async () => {
  const ds = await generateSynthFer({ trainSize: 7, testSize: 7, imageSize: 16 });
  const i = pickAmbiguousFace(ds.test.votes, C, ds.test.trueDistributions);
  assert.ok(i >= 0 && i < 7);
  const url = await svgToPngDataUrl(faceSvg(ds.test.params[i], 64));
  assert.ok(url.startsWith("data:image/png;base64,"));
  const spec = votesFigure({
    imageUrl: url,
    votes: ds.test.votes.subarray(i * C, (i + 1) * C),
    trueDistribution: ds.test.trueDistributions.subarray(i * C, (i + 1) * C),
    caption: `face #${i}`,
  });
  await checkRenders(spec);
  const raw = await rgbToPngDataUrl(ds.test.images.subarray(0, 16 * 16 * 3), 16, { scaleTo: 64 });
  await checkRenders(votesFigure({ imageUrl: raw, votes: [1, 0, 0, 5, 0, 0, 4] }));
  assert.throws(() => votesFigure({ imageUrl: "face.png", votes: [1, 0, 0, 5, 0, 0, 4] }), TypeError);
  assert.throws(() => votesFigure({ imageUrl: raw, votes: [1, 2] }), RangeError);
});

Deno.test("pickAmbiguousFace() prefers a split vote with a clear majority that agrees with the truth", () => {
  const votes = [
    10,
    0,
    0,
    0,
    0,
    0,
    0, // unanimous
    5,
    3,
    2,
    0,
    0,
    0,
    0, // split, majority 50 %
    3,
    3,
    2,
    2,
    0,
    0,
    0, // tie
  ];
  assert.equal(pickAmbiguousFace(votes, C), 1);
  const truth = [
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0.1,
    0.8,
    0.1,
    0,
    0,
    0,
    0, // true argmax disagrees with the majority
    0.3,
    0.3,
    0.2,
    0.2,
    0,
    0,
    0,
  ];
  assert.equal(pickAmbiguousFace(votes, C, truth), 0);
});

Deno.test("architectureFigure() draws the model with the configured sizes", async () => {
  const spec = architectureFigure({ featureDim: 128, imageSize: 48, stemFrozen: false });
  await checkRenders(spec);
  const text = JSON.stringify(spec);
  assert.match(text, /fc\(128 → C\)/);
  assert.match(text, /trained \(random init\)/);
  assert.match(JSON.stringify(architectureFigure()), /frozen \(pretrained\)/);
});

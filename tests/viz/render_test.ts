import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import sharp from "sharp";
import {
  compileSpec,
  displayFigure,
  figureBundle,
  imageBundle,
  markdownBundle,
  pngSize,
  renderPng,
  renderSvg,
  svgToPng,
  toDisplayBundle,
  VEGA_LITE_SCHEMA,
  withDefaults,
} from "../../lib/viz/mod.ts";

const bars = {
  title: "bars",
  data: { values: [{ a: "surprise", b: 3 }, { a: "fear", b: 5 }] },
  mark: "bar",
  encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } },
};

Deno.test("withDefaults() adds the v5 schema and the base config without overriding the spec's own", () => {
  const s = withDefaults({ ...bars, config: { axis: { labelFontSize: 20 } } });
  assert.equal(s.$schema, VEGA_LITE_SCHEMA);
  const config = s.config as Record<string, Record<string, unknown>>;
  assert.equal(config.axis.labelFontSize, 20);
  assert.equal(config.axis.titleFontSize, 12); // merged from the base
  assert.equal(config.background, "white");
  assert.throws(() => withDefaults([] as unknown as Record<string, unknown>), TypeError);
});

Deno.test("compileSpec() reports vega-lite's warnings and none for a clean spec", () => {
  assert.deepEqual(compileSpec(bars).warnings, []);
  const bad = { ...bars, encoding: { ...bars.encoding, fontWeight: { value: "bold" } } };
  const { warnings } = compileSpec(bad);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /fontWeight/);
});

Deno.test("renderSvg() and renderPng() draw a spec headlessly with its text", async () => {
  const svg = await renderSvg(bars);
  assert.ok(svg.startsWith("<svg"));
  assert.match(svg, /surprise/);
  const png = await renderPng(bars);
  const meta = await sharp(Buffer.from(png)).metadata();
  assert.equal(meta.format, "png");
  // density 144: twice the SVG's pixel size
  const width = Number(/width="(\d+)"/.exec(svg)![1]);
  assert.equal(meta.width, 2 * width);
  const half = await svgToPng(svg, { density: 72 });
  assert.equal((await sharp(Buffer.from(half)).metadata()).width, width);
  await assert.rejects(() => svgToPng(svg, { density: 0 }), RangeError);
});

Deno.test("figureBundle() holds vega-lite v5, a 2x PNG with its CSS size and text, and no SVG", async () => {
  const b = await figureBundle(bars);
  assert.equal(b.data["application/vnd.vegalite.v5+json"].$schema, VEGA_LITE_SCHEMA);
  // nbconvert's HTML would pick an SVG over the PNG and empty it
  assert.deepEqual(Object.keys(b.data).sort(), ["application/vnd.vegalite.v5+json", "image/png", "text/plain"]);
  const png = Buffer.from(b.data["image/png"], "base64");
  assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  const svgWidth = Number(/width="(\d+)"/.exec(await renderSvg(bars))![1]);
  assert.equal(b.metadata["image/png"].width, svgWidth);
  assert.equal(pngSize(png).width, 2 * svgWidth);
  assert.equal(b.data["text/plain"], "<vega-lite figure: bars>");
});

Deno.test("displayFigure() outside a Jupyter kernel displays nothing and returns the bundle", async () => {
  const b = await displayFigure(bars);
  assert.ok(b.data["image/png"].length > 100);
});

Deno.test("imageBundle() shows PNG bytes at their size and an SVG rasterised at 2x, at its CSS size", async () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30"/></svg>';
  const fromSvg = await imageBundle(svg, { alt: "a box" });
  assert.deepEqual(fromSvg.metadata["image/png"], { width: 40, height: 30 });
  assert.deepEqual(pngSize(Buffer.from(fromSvg.data["image/png"] as string, "base64")), { width: 80, height: 60 });
  assert.equal(fromSvg.data["text/plain"], "a box");
  const png = await svgToPng(svg, { density: 72 });
  assert.deepEqual((await imageBundle(png, { alt: "x" })).metadata["image/png"], { width: 40, height: 30 });
  await assert.rejects(() => imageBundle(png, { alt: "x", pixelRatio: 0 }), RangeError);
  assert.throws(() => pngSize(new Uint8Array(30)), TypeError);
});

Deno.test("toDisplayBundle() gives every output a text/plain fallback", async () => {
  const table = "| a | b |\n| --- | --- |\n| 1 | 2 |";
  assert.deepEqual(markdownBundle(table).data, { "text/markdown": table, "text/plain": table });
  // Deno.jupyter.md`...` is an object with Symbol.for("Jupyter.display") and no text/plain
  const md = { [Symbol.for("Jupyter.display")]: () => ({ "text/markdown": table }) };
  assert.equal((await toDisplayBundle(md, { raw: false })).data["text/plain"], table);
  assert.equal((await toDisplayBundle({ "text/html": "<b>4 &amp; 7</b>" })).data["text/plain"], "4 & 7");
  assert.equal((await toDisplayBundle({ "application/json": { a: 1 } })).data["text/plain"], '{\n  "a": 1\n}');
  assert.equal((await toDisplayBundle({ "image/png": "AAAA" })).data["text/plain"], "<image/png output>");
  const own = { data: { "image/png": "AAAA", "text/plain": "face" }, metadata: { "image/png": { width: 1 } } };
  assert.deepEqual(await toDisplayBundle(own), own);
  assert.equal((await toDisplayBundle(42, { raw: false })).data["text/plain"], "42");
});

Deno.test("dejaVuTextWidth() gives narrow letters less room than wide ones and bold more than book", async () => {
  const { dejaVuTextWidth, vegaTextWidth } = await import("../../lib/viz/_text_width.ts");
  assert.ok(dejaVuTextWidth("iii", 12) < dejaVuTextWidth("mmm", 12));
  assert.ok(dejaVuTextWidth("abc", 12, true) > dejaVuTextWidth("abc", 12));
  // librsvg draws "surprise" in 100 px DejaVu Sans 393 px wide (ink); vega's own estimate is 640
  assert.ok(Math.abs(dejaVuTextWidth("surprise", 100) - 400) < 15);
  assert.equal(vegaTextWidth({ fontSize: 0, text: "x" }), 0);
  assert.ok(vegaTextWidth({ fontSize: 10, fontWeight: "bold" }, ["a", "b"]) > 0);
});

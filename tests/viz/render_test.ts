import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import sharp from "sharp";
import {
  compileSpec,
  displayFigure,
  figureBundle,
  renderPng,
  renderSvg,
  svgToPng,
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

Deno.test("figureBundle() holds vega-lite v5, SVG and a base64 PNG", async () => {
  const b = await figureBundle(bars);
  assert.equal(b["application/vnd.vegalite.v5+json"].$schema, VEGA_LITE_SCHEMA);
  assert.ok(b["image/svg+xml"].startsWith("<svg"));
  const png = Buffer.from(b["image/png"], "base64");
  assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  assert.equal(b["text/plain"], "<vega-lite figure: bars>");
});

Deno.test("displayFigure() outside a Jupyter kernel displays nothing and returns the bundle", async () => {
  const b = await displayFigure(bars);
  assert.ok(b["image/png"].length > 100);
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

/**
 * The one rendering layer of the figures: a vega-lite v5 spec (what every builder in
 * `lib/viz/` returns) to a vega spec, an SVG string, PNG bytes, and the Jupyter display
 * bundle of the Deno kernel (every notebook output goes through {@linkcode displayOutput},
 * which gives it a plain-text fallback). Rendering is headless (vega's "none" renderer, sharp's
 * librsvg for the PNG); nothing here touches the file system.
 *
 * @example
 * ```ts
 * import { renderPng } from "./render.ts";
 * const png = await renderPng({ data: { values: [{ x: 1 }] }, mark: "point", encoding: { x: { field: "x", type: "quantitative" } } });
 * if (png[1] !== 0x50) throw new Error("not a PNG"); // \x89PNG
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import "./_quiet_deprecations.ts"; // before vega: no foreign warning lines on stderr
import * as vega from "vega";
import * as vl from "vega-lite";
import sharp from "sharp";
import { baseConfig, VEGA_LITE_SCHEMA } from "./palette.ts";
import { vegaTextWidth } from "./_text_width.ts";

// Headless vega lays text out with a rough estimate (0.8 em a character); the figures use
// DejaVu Sans, whose widths we know, so titles and labels get tight, unclipped margins.
// deno-lint-ignore no-explicit-any
(vega as any).textMetrics.width = vegaTextWidth;

/** A vega-lite v5 spec as plain JSON (what the builders return and `.vl.json` holds). */
export type VegaLiteSpec = Record<string, unknown>;

/**
 * One notebook output: MIME data, always with a `text/plain` fallback (what a front end shows
 * when it may not or cannot render the rest: an untrusted classic notebook drops markdown, HTML
 * and SVG), and per-MIME metadata (an image's CSS size).
 */
export interface DisplayBundle {
  data: { "text/plain": string; [mime: string]: unknown };
  metadata: Record<string, Record<string, unknown>>;
}

/**
 * The display of a figure: vega-lite v5 (JupyterLab and VS Code draw it), a PNG at twice the
 * figure's pixel size shown at its CSS size (classic Notebook, untrusted notebooks, nbconvert's
 * HTML, GitHub), and a line of text. No SVG: Debian's nbconvert 6.5 prefers SVG over PNG in HTML
 * and its sanitiser empties every `<svg>`, and a classic notebook hides SVG until trusted.
 */
export interface FigureBundle extends DisplayBundle {
  data: {
    "application/vnd.vegalite.v5+json": VegaLiteSpec;
    /** Base64 PNG, as Jupyter's `image/png` wants it. */
    "image/png": string;
    "text/plain": string;
  };
  metadata: { "image/png": { width: number; height: number } };
}

/** Options of {@linkcode renderPng} and {@linkcode figureBundle}. */
export interface RenderOptions {
  /** Dots per inch for rasterising the SVG (default 144: twice the SVG's pixel size). */
  density?: number;
}

/** The default PNG density: 144 dpi, i.e. two PNG pixels per SVG pixel, crisp text. */
export const DEFAULT_DENSITY = 144;

/**
 * Fills in what every figure shares without overriding the builder: the v5 `$schema`
 * (the Deno kernel draws vega-lite only for the v4/v5 URLs) and the base config
 * (white background, font, sizes) under the spec's own config.
 */
export function withDefaults(spec: VegaLiteSpec): VegaLiteSpec {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new TypeError(`a vega-lite spec must be an object, got ${Array.isArray(spec) ? "an array" : typeof spec}`);
  }
  const base = baseConfig();
  const own = (spec.config ?? {}) as Record<string, unknown>;
  const config: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(own)) {
    const b = base[k];
    config[k] = b && typeof b === "object" && v && typeof v === "object" && !Array.isArray(v)
      ? { ...(b as object), ...(v as object) }
      : v;
  }
  return { $schema: VEGA_LITE_SCHEMA, ...spec, config };
}

/**
 * Compiles a vega-lite spec to vega. Returns the vega spec and vega-lite's warnings
 * (an empty list for a clean spec); vega-lite errors are thrown as a TypeError.
 */
export function compileSpec(spec: VegaLiteSpec): { vega: vega.Spec; warnings: string[] } {
  const warnings: string[] = [];
  let level = 0;
  const logger = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    warn(...args: unknown[]) {
      warnings.push(args.map(String).join(" "));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
    error(...args: unknown[]) {
      throw new TypeError(`vega-lite: ${args.map(String).join(" ")}`);
    },
  };
  // deno-lint-ignore no-explicit-any
  const out = vl.compile(withDefaults(spec) as any, { logger: logger as any });
  return { vega: out.spec as vega.Spec, warnings };
}

/** Renders a vega-lite spec to an SVG document (headless; data inline in the spec). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const { vega: vgSpec } = compileSpec(spec);
  const view = new vega.View(vega.parse(vgSpec), { renderer: "none", logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG document to PNG bytes with sharp (librsvg) at `density` dpi. */
export async function svgToPng(svg: string, options: RenderOptions = {}): Promise<Uint8Array> {
  const density = options.density ?? DEFAULT_DENSITY;
  if (!(density > 0 && density <= 600)) throw new RangeError(`density must be in (0, 600] dpi, got ${density}`);
  const buf = await sharp(Buffer.from(svg), { density }).png().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Renders a vega-lite spec to PNG bytes (SVG first, then {@linkcode svgToPng}). */
export async function renderPng(spec: VegaLiteSpec, options: RenderOptions = {}): Promise<Uint8Array> {
  return await svgToPng(await renderSvg(spec), options);
}

/** Renders a spec once to everything a figure file set needs: the full spec, SVG and PNG. */
export async function renderFigure(
  spec: VegaLiteSpec,
  options: RenderOptions = {},
): Promise<{ spec: VegaLiteSpec; svg: string; png: Uint8Array }> {
  const full = withDefaults(spec);
  const svg = await renderSvg(full);
  return { spec: full, svg, png: await svgToPng(svg, options) };
}

/**
 * The notebook display of a spec (testable without a kernel): vega-lite, and the PNG at
 * `density` (default 2 PNG pixels per CSS pixel) with its CSS size, so that every front end
 * shows it at the size the spec asks for, its text at the spec's font sizes.
 */
export async function figureBundle(spec: VegaLiteSpec, options: RenderOptions = {}): Promise<FigureBundle> {
  const { spec: full, png } = await renderFigure(spec, options);
  const title = typeof full.title === "string"
    ? full.title
    : (full.title as { text?: string } | undefined)?.text ?? "figure";
  const image = await imageBundle(png, {
    alt: `<vega-lite figure: ${Array.isArray(title) ? title.join(" ") : title}>`,
    pixelRatio: (options.density ?? DEFAULT_DENSITY) / 72,
  });
  return {
    data: {
      "application/vnd.vegalite.v5+json": full,
      "image/png": image.data["image/png"] as string,
      "text/plain": image.data["text/plain"],
    },
    metadata: image.metadata as FigureBundle["metadata"],
  };
}

/** Options of {@linkcode imageBundle}. */
export interface ImageBundleOptions {
  /** The `text/plain` of the output: what the image shows, in words. */
  alt: string;
  /** PNG pixels per CSS pixel (default 1 for PNG bytes; an SVG is rasterised at 2). */
  pixelRatio?: number;
}

/**
 * The notebook display of an image: PNG bytes, or an SVG document (rasterised at twice its
 * size, since nbconvert's HTML and untrusted notebooks show no SVG), with its CSS size and `alt`
 * as the plain-text fallback.
 */
export async function imageBundle(image: Uint8Array | string, options: ImageBundleOptions): Promise<DisplayBundle> {
  const svg = typeof image === "string";
  const ratio = options.pixelRatio ?? (svg ? 2 : 1);
  if (!(ratio > 0 && ratio <= 8)) throw new RangeError(`pixelRatio must be in (0, 8], got ${ratio}`);
  const png = svg ? await svgToPng(image, { density: 72 * ratio }) : image;
  const { width, height } = pngSize(png);
  return {
    data: { "image/png": Buffer.from(png).toString("base64"), "text/plain": options.alt },
    metadata: { "image/png": { width: Math.round(width / ratio), height: Math.round(height / ratio) } },
  };
}

/** The notebook display of markdown, its source as the plain-text fallback (an untrusted notebook renders no markdown output). */
export function markdownBundle(markdown: string): DisplayBundle {
  return { data: { "text/markdown": markdown, "text/plain": markdown }, metadata: {} };
}

/** Width and height of a PNG in pixels, from its IHDR chunk; a TypeError when the bytes are no PNG. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || sig.some((b, i) => png[i] !== b)) {
    throw new TypeError("expected PNG bytes (a PNG signature and IHDR)");
  }
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/**
 * What a front end can show of any output: a {@linkcode DisplayBundle} as it is, or a raw MIME
 * bundle, or an object with `Symbol.for("Jupyter.display")` (`Deno.jupyter.md`...), or (with
 * `raw: false`) anything `Deno.jupyter.format` takes; a `text/plain` fallback is added when missing.
 */
export async function toDisplayBundle(output: unknown, options: { raw?: boolean } = {}): Promise<DisplayBundle> {
  let data: Record<string, unknown>;
  let metadata: Record<string, Record<string, unknown>> = {};
  const o = output as Record<string | symbol, unknown>;
  const displaySymbol = Symbol.for("Jupyter.display");
  if (isDisplayBundle(output)) {
    data = output.data;
    metadata = output.metadata ?? {};
  } else if (o !== null && typeof o === "object" && typeof o[displaySymbol] === "function") {
    data = await (o[displaySymbol] as () => Record<string, unknown>)();
  } else if ((options.raw ?? true) && o !== null && typeof o === "object" && !Array.isArray(o)) {
    data = o as Record<string, unknown>;
  } else {
    const format = jupyterNamespace()?.format;
    data = format ? await format(output) : { "text/plain": Deno.inspect(output) };
  }
  return { data: { ...data, "text/plain": plainText(data) }, metadata };
}

function isDisplayBundle(o: unknown): o is DisplayBundle {
  if (o === null || typeof o !== "object" || Array.isArray(o)) return false;
  const keys = Object.keys(o);
  const data = (o as { data?: unknown }).data;
  return keys.includes("data") && keys.every((k) => k === "data" || k === "metadata") &&
    data !== null && typeof data === "object";
}

/** The data's own `text/plain`, or one made from the richest thing that has a text form. */
function plainText(data: Record<string, unknown>): string {
  const own = data["text/plain"];
  if (typeof own === "string") return own;
  if (typeof data["text/markdown"] === "string") return data["text/markdown"] as string;
  if (typeof data["text/html"] === "string") {
    return (data["text/html"] as string).replace(/<[^>]*>/g, "").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&").trim();
  }
  if (data["application/json"] !== undefined) return JSON.stringify(data["application/json"], null, 2);
  const spec = data["application/vnd.vegalite.v5+json"] as VegaLiteSpec | undefined;
  if (spec) return `<vega-lite figure: ${typeof spec.title === "string" ? spec.title : "untitled"}>`;
  const mimes = Object.keys(data);
  return `<${mimes.length ? mimes.join(", ") : "empty"} output>`;
}

/**
 * Displays a figure in a Deno Jupyter notebook ({@linkcode figureBundle} through {@linkcode displayOutput}).
 * Outside the kernel `Deno.jupyter` does not exist: nothing is displayed and the bundle is
 * still returned, so a notebook cell and a script run the same code.
 */
export async function displayFigure(spec: VegaLiteSpec, options: RenderOptions = {}): Promise<FigureBundle> {
  const bundle = await figureBundle(spec, options);
  await displayOutput(bundle);
  return bundle;
}

/**
 * Shows `output` in the Deno kernel (see {@linkcode toDisplayBundle}: a display bundle, a raw MIME
 * bundle by default, or with `raw: false` anything `Deno.jupyter.display` takes), always with a
 * `text/plain` fallback and the bundle's metadata, and makes sure it arrives; does nothing outside
 * a kernel. `Deno.jupyter.display` sends no metadata (an image's size), so the output goes out with
 * `Deno.jupyter.broadcast`. The Deno kernel (2.9) sends outputs on a socket it flushes only when
 * it sends again and drops a message that finds it still full, so a display right after a large
 * one can vanish: ten empty updates of an unused display id, 20 ms apart, push everything out
 * (front ends ignore updates of an id they never showed).
 */
export async function displayOutput(output: unknown, options: { raw?: boolean } = {}): Promise<void> {
  const jupyter = jupyterNamespace();
  if (!jupyter) return;
  const bundle = await toDisplayBundle(output, options);
  // nbclient crashes on a null `transient`: send an empty object
  await jupyter.broadcast("display_data", { data: bundle.data, metadata: bundle.metadata, transient: {} });
  for (let i = 0; i < 10; i++) {
    await jupyter.display({ "text/plain": "" }, { raw: true, display_id: "adadf-flush-outputs", update: true });
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface JupyterNamespace {
  display: (b: unknown, o: { raw: boolean; display_id?: string; update?: boolean }) => Promise<void>;
  broadcast: (msgType: string, content: Record<string, unknown>) => Promise<void>;
  format?: (o: unknown) => Promise<Record<string, unknown>>;
}

/** `Deno.jupyter` inside the kernel; undefined elsewhere (where merely reading it throws). */
function jupyterNamespace(): JupyterNamespace | undefined {
  try {
    // deno-lint-ignore no-explicit-any
    const j = (Deno as any).jupyter;
    return j && typeof j.display === "function" && typeof j.broadcast === "function" ? j : undefined;
  } catch {
    return undefined;
  }
}

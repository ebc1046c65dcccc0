/**
 * The one rendering layer of the figures: a vega-lite v5 spec (what every builder in
 * `lib/viz/` returns) to a vega spec, an SVG string, PNG bytes, and the Jupyter display
 * bundle of the Deno kernel. Rendering is headless (vega's "none" renderer, sharp's
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

/** The MIME bundle a Deno Jupyter cell displays: vega-lite for JupyterLab, SVG and PNG (base64) for the rest. */
export interface FigureBundle {
  "application/vnd.vegalite.v5+json": VegaLiteSpec;
  "image/svg+xml": string;
  /** Base64 PNG, as Jupyter's `image/png` wants it. */
  "image/png": string;
  "text/plain": string;
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

/** The Jupyter MIME bundle of a spec (testable without a kernel). */
export async function figureBundle(spec: VegaLiteSpec, options: RenderOptions = {}): Promise<FigureBundle> {
  const { spec: full, svg, png } = await renderFigure(spec, options);
  const title = typeof full.title === "string"
    ? full.title
    : (full.title as { text?: string } | undefined)?.text ?? "figure";
  return {
    "application/vnd.vegalite.v5+json": full,
    "image/svg+xml": svg,
    "image/png": Buffer.from(png).toString("base64"),
    "text/plain": `<vega-lite figure: ${Array.isArray(title) ? title.join(" ") : title}>`,
  };
}

/**
 * Displays a figure in a Deno Jupyter notebook (`Deno.jupyter.display(bundle, { raw: true })`).
 * Outside the kernel `Deno.jupyter` does not exist: nothing is displayed and the bundle is
 * still returned, so a notebook cell and a script run the same code.
 */
export async function displayFigure(spec: VegaLiteSpec, options: RenderOptions = {}): Promise<FigureBundle> {
  const bundle = await figureBundle(spec, options);
  await displayOutput(bundle);
  return bundle;
}

/**
 * Shows `output` in the Deno kernel (a raw MIME bundle by default, or with `raw: false` anything
 * `Deno.jupyter.display` takes) and makes sure it arrives; does nothing outside a kernel.
 * The Deno kernel (2.9) sends outputs on a socket it flushes only when it sends again and drops
 * a message that finds it still full, so a display right after a large one can vanish: ten
 * empty updates of an unused display id, 20 ms apart, push everything out (front ends ignore
 * updates of an id they never showed).
 */
export async function displayOutput(output: unknown, options: { raw?: boolean } = {}): Promise<void> {
  const jupyter = jupyterNamespace();
  if (!jupyter) return;
  await jupyter.display(output, { raw: options.raw ?? true });
  for (let i = 0; i < 10; i++) {
    await jupyter.display({ "text/plain": "" }, { raw: true, display_id: "adadf-flush-outputs", update: true });
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `Deno.jupyter` inside the kernel; undefined elsewhere (where merely reading it throws). */
function jupyterNamespace():
  | { display: (b: unknown, o: { raw: boolean; display_id?: string; update?: boolean }) => Promise<void> }
  | undefined {
  try {
    // deno-lint-ignore no-explicit-any
    const j = (Deno as any).jupyter;
    return j && typeof j.display === "function" ? j : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `deno task notebooks --html DIR`: executes every notebook with the Deno kernel and exports each
 * as one HTML file that opens offline, figures included. See --help.
 *
 * The pieces (execute, export, the offline clean-up and the figure count) are exported for
 * tests/notebooks_test.ts, which exports the notebooks it has just executed.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseFlags, runTask, UsageError } from "./_cli.ts";

const HELP = `Execute every notebook with the Deno kernel and export each as HTML to hand out.

Usage: deno task notebooks --html DIR [flags]

  --html DIR        where the HTML files go, one per notebook (required; created)
  --only a,b,...    only these notebooks, by name or number (e.g. 00_tour,03)
  --timeout S       seconds a cell may run (default 900)
  -h, --help

Each HTML file holds its figures as embedded PNG images and its styles inline, and refers to no
local file, so it opens offline and can be mailed or put on a web site. Formulas are drawn by
MathJax from a CDN when the reader is online; offline they stay readable TeX ($N = 4$).
The first run trains the two cached runs of notebooks 01-05 (a few minutes on 2 cores).

Needs Debian's jupyter-nbconvert, python3-nbclient, python3-ipykernel and the Deno kernel
(deno jupyter --install); see notebooks/README.md.

Exit codes: 0 done, 2 bad usage or no Jupyter / Deno kernel (one 'error:' line), 1 a notebook failed.`;

/** The notebooks folder of this repository. */
export const NOTEBOOKS_DIR: string = new URL("../notebooks/", import.meta.url).pathname;

/**
 * MathJax for the exported HTML: nbconvert's upstream default (Debian's 6.5.3 points at
 * file:///usr/share/javascript/mathjax, which a reader's machine does not have).
 */
export const MATHJAX_URL =
  "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full,Safe";

/** Why Jupyter with the Deno kernel cannot run here, or undefined when it can. */
export async function jupyterMissing(): Promise<string | undefined> {
  try {
    const r = await new Deno.Command("jupyter", {
      args: ["kernelspec", "list", "--json"],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!r.success) return "jupyter kernelspec list failed";
    const specs = JSON.parse(new TextDecoder().decode(r.stdout)).kernelspecs ?? {};
    return "deno" in specs ? undefined : "the Deno kernel is not installed (run: deno jupyter --install)";
  } catch {
    return "jupyter is not installed (apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client)";
  }
}

/** A `jupyter nbconvert` run that failed: the message names the notebook, `details` has nbconvert's own last lines. */
export class NotebookError extends Error {
  override name = "NotebookError";
  constructor(message: string, readonly details: string) {
    super(message);
  }
}

async function nbconvert(args: string[], cwd: string, what: string): Promise<void> {
  const r = await new Deno.Command("jupyter", { args: ["nbconvert", ...args], cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (r.success) return;
  const lines = new TextDecoder().decode(r.stderr).split("\n")
    // Debian's python prints debugger notes on every start
    .filter((l) => l.trim() && !/debugger|frozen|PYDEVD|0\.00s - /i.test(l));
  const last = lines.filter((l) => /Error|Exception/.test(l)).at(-1) ?? lines.at(-1) ?? `exit code ${r.code}`;
  throw new NotebookError(`${what}: ${last.trim()}`, lines.slice(-30).join("\n"));
}

/** Options of {@linkcode executeNotebook}. */
export interface ExecuteOptions {
  /** Seconds a cell may run (default 900). */
  timeoutS?: number;
}

/**
 * Executes a notebook top to bottom with the Deno kernel (in its own folder, so `../mod.ts`
 * resolves) and writes the executed copy, outputs included, to `outDir`; returns its path.
 */
export async function executeNotebook(notebook: string, outDir: string, options: ExecuteOptions = {}): Promise<string> {
  const path = resolve(notebook);
  await nbconvert(
    [
      "--to",
      "notebook",
      "--execute",
      path,
      "--output-dir",
      resolve(outDir),
      "--ExecutePreprocessor.kernel_name=deno",
      `--ExecutePreprocessor.timeout=${options.timeoutS ?? 900}`,
      // nbclient waits only 4 s (default) for outputs that arrive after a cell's reply and then
      // drops them silently: on a busy machine a figure could go missing
      "--ExecutePreprocessor.iopub_timeout=120",
      "--ExecutePreprocessor.raise_on_iopub_timeout=True",
    ],
    join(path, ".."),
    `${basename(path)} failed`,
  );
  return join(resolve(outDir), basename(path));
}

/**
 * Exports an (executed) notebook to `outDir/<name>.html` with nbconvert's lab template, made to
 * open offline ({@linkcode offlineHtml}); returns the HTML file's path.
 */
export async function exportHtml(notebook: string, outDir: string): Promise<string> {
  const path = resolve(notebook);
  const out = resolve(outDir);
  await nbconvert(
    [
      "--to",
      "html",
      path,
      "--output-dir",
      out,
      `--HTMLExporter.mathjax_url=${MATHJAX_URL}`,
      // images that markdown cells link to go into the file too
      "--HTMLExporter.embed_images=True",
    ],
    join(path, ".."),
    `exporting ${basename(path)} to HTML failed`,
  );
  const html = join(out, basename(path).replace(/\.ipynb$/, ".html"));
  await Deno.writeTextFile(html, offlineHtml(await Deno.readTextFile(html)));
  return html;
}

/**
 * Drops what an exported page loads from the local disk (Debian's nbconvert points require.js,
 * and in the classic template jQuery, at file:///usr/share/javascript; the notebooks have no
 * widgets or JavaScript outputs that need them) and throws a TypeError if any `file:` address remains.
 */
export function offlineHtml(html: string): string {
  const out = html.replace(/<script\b[^>]*\bsrc="file:[^"]*"[^>]*>\s*<\/script>\n?/g, "");
  const left = /(?:src|href)="(file:[^"]*)"/.exec(out) ?? /file:\/\/\/[^\s"'<>)]*/.exec(out);
  if (left) throw new TypeError(`the exported HTML still refers to a local file: ${left[1] ?? left[0]}`);
  return out;
}

/** What a reader sees of an exported page: its embedded PNG images and SVG outputs (which nbconvert empties). */
export function htmlFigures(html: string): { pngImages: number; svgOutputs: number } {
  return {
    pngImages: html.match(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]{100,}"/g)?.length ?? 0,
    svgOutputs: html.match(/data-mime-type="image\/svg\+xml"/g)?.length ?? 0,
  };
}

/** The notebooks of `dir` (`NN_name.ipynb`), in teaching order. */
export function listNotebooks(dir: string = NOTEBOOKS_DIR): string[] {
  return readdirSync(dir).filter((f) => /^\d\d_.*\.ipynb$/.test(f)).sort();
}

async function main(args: string[]): Promise<void> {
  const parsed = parseFlags(args, {
    html: { type: "string" },
    only: { type: "string" },
    timeout: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  const v = parsed.values;
  if (v.help) return console.log(HELP);
  if (parsed.positionals.length) throw new UsageError(`unexpected argument '${parsed.positionals[0]}' (see --help)`);
  if (!v.html) throw new UsageError("--html DIR is required (where the HTML files go); see --help");
  const timeoutS = v.timeout === undefined ? 900 : Number(v.timeout);
  if (!(Number.isFinite(timeoutS) && timeoutS > 0)) {
    throw new UsageError(`--timeout expects seconds > 0, got '${v.timeout}'`);
  }
  const all = listNotebooks();
  const wanted = v.only?.split(",").map((s) => s.trim()).filter((s) => s);
  if (wanted && !wanted.length) throw new UsageError("--only expects notebook names, e.g. 00_tour,03");
  const notebooks = wanted
    ? wanted.map((w) => {
      const hits = all.filter((nb) => nb === w || nb === `${w}.ipynb` || nb.startsWith(`${w}_`));
      if (hits.length !== 1) {
        throw new UsageError(
          `--only: '${w}' names ${hits.length ? "several" : "no"} notebook; notebooks: ${
            all.map((nb) => nb.replace(/\.ipynb$/, "")).join(", ")
          }`,
        );
      }
      return hits[0];
    })
    : all;
  const outDir = resolve(v.html);
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new UsageError(`--html ${outDir} is not a folder`);
  const missing = await jupyterMissing();
  if (missing) throw new UsageError(missing);
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw new UsageError(`--html ${outDir}: cannot create the folder (${(e as Error).message})`);
  }

  const work = await Deno.makeTempDir({ prefix: "adadf-notebooks-" });
  const written: string[] = [];
  try {
    for (const [k, nb] of notebooks.entries()) {
      const t0 = performance.now();
      const tag = `[${k + 1}/${notebooks.length}] ${nb.replace(/\.ipynb$/, "")}`;
      console.error(`${tag}: executing ...`);
      let executed: string;
      try {
        executed = await executeNotebook(join(NOTEBOOKS_DIR, nb), work, { timeoutS });
      } catch (e) {
        if (e instanceof NotebookError) console.error(e.details);
        throw e;
      }
      const html = await exportHtml(executed, outDir);
      const { pngImages } = htmlFigures(await Deno.readTextFile(html));
      const kib = statSync(html).size / 1024;
      console.error(
        `${tag}: ${((performance.now() - t0) / 1000).toFixed(1)} s, ${pngImages} image${pngImages === 1 ? "" : "s"}, ` +
          `${kib.toFixed(0)} KiB`,
      );
      written.push(html);
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
  console.log(`wrote ${written.length} HTML file${written.length === 1 ? "" : "s"} to ${outDir}:`);
  for (const html of written) console.log(`  ${html}`);
}

if (import.meta.main) await runTask(main);

/**
 * Executes every notebook headlessly with the Deno kernel (Debian's jupyter-nbconvert +
 * `deno jupyter --install`) and fails when a cell errors or a notebook lacks its outputs; then
 * exports each executed notebook to HTML as `deno task notebooks --html` does and checks that a
 * reader sees every figure: an embedded PNG per figure, no SVG output (nbconvert empties those),
 * no local `file:` address, and a `text/plain` fallback on every rich output (an untrusted
 * notebook shows nothing else). Without Jupyter the test is skipped LOUDLY; under CI=true it never skips.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { executeNotebook, exportHtml, htmlFigures, jupyterMissing, offlineHtml } from "../tasks/notebooks.ts";

const NOTEBOOKS = new URL("../notebooks/", import.meta.url).pathname;
const CI = Deno.env.get("CI") === "true";
/** Set to a folder to keep the executed notebooks (outputs included) and their HTML there, e.g. to look at them after a CI failure. */
const KEEP_DIR = Deno.env.get("NOTEBOOK_OUTPUT_DIR") ? resolve(Deno.env.get("NOTEBOOK_OUTPUT_DIR")!) : undefined;

const missing = await jupyterMissing();
if (missing !== undefined) {
  if (CI) throw new Error(`notebook tests cannot run under CI=true: ${missing}`);
  console.warn(`\n!!! SKIPPED: notebook execution tests, because ${missing}. CI runs them. !!!\n`);
}

/**
 * What each notebook must show: MIME type -> the least number of outputs carrying it.
 * A figure (lib/viz `displayFigure`) carries vega-lite v5, a PNG and text; every `image/png`
 * output must come out as an embedded image in the HTML export.
 */
const REQUIRED_OUTPUTS: Record<string, Record<string, number>> = {
  // Fig. 1 and Fig. 2
  "00_tour.ipynb": { "image/png": 2, "application/vnd.vegalite.v5+json": 2 },
  // faces, training curves, confusion matrix, summary, class-distribution table
  "01_train.ipynb": {
    "image/png": 3,
    "application/vnd.vegalite.v5+json": 2,
    "application/json": 1,
    "text/markdown": 1,
  },
  // Fig. 3
  "02_tsne_features.ipynb": { "image/png": 1, "application/vnd.vegalite.v5+json": 1 },
  // Fig. 4 at epoch 0 and the last epoch, the mined-rows table
  "03_class_distributions.ipynb": { "image/png": 2, "application/vnd.vegalite.v5+json": 2, "text/markdown": 1 },
  // the face, Fig. 5
  "04_fusion_example.ipynb": { "image/png": 2, "application/vnd.vegalite.v5+json": 1 },
  // Fig. 6 for two faces
  "05_fusion_trajectories.ipynb": { "image/png": 2, "application/vnd.vegalite.v5+json": 2 },
  // the quick ablation and noise tables (markdown) and their charts; the committed full tables and charts, and the
  // two measured-distribution figures
  "06_experiments.ipynb": { "image/png": 7, "application/vnd.vegalite.v5+json": 7, "text/markdown": 5 },
  // the annotated photo, the aligned crops, each face's distribution beside face-api's
  "07_your_photos.ipynb": { "image/png": 3, "application/vnd.vegalite.v5+json": 1 },
};

const notebooks = existsSync(NOTEBOOKS) ? readdirSync(NOTEBOOKS).filter((f) => f.endsWith(".ipynb")).sort() : [];

Deno.test("every notebook has its required outputs listed in this test", () => {
  assert.ok(notebooks.length > 0, "no notebooks found");
  for (const nb of notebooks) assert.ok(nb in REQUIRED_OUTPUTS, `${nb} has no entry in REQUIRED_OUTPUTS`);
  for (const nb of Object.keys(REQUIRED_OUTPUTS)) assert.ok(notebooks.includes(nb), `${nb} is listed but missing`);
});

Deno.test("every notebook is stored without outputs, for the Deno kernel, importing ../mod.ts", () => {
  for (const nb of notebooks) {
    const doc = JSON.parse(readFileSync(`${NOTEBOOKS}${nb}`, "utf8"));
    assert.equal(doc.metadata?.kernelspec?.name, "deno", `${nb}: kernelspec must be deno`);
    const code = doc.cells.filter((c: { cell_type: string }) => c.cell_type === "code");
    for (const c of code) {
      assert.deepEqual(c.outputs, [], `${nb}: clear the outputs before committing (the test executes it)`);
      assert.equal(c.execution_count, null, `${nb}: clear the execution counts before committing`);
    }
    const source = code.map((c: { source: string | string[] }) => [c.source].flat().join("")).join("\n");
    assert.match(source, /from "\.\.\/mod\.ts"/, `${nb} must import the toolkit as a user's notebook does`);
    assert.doesNotMatch(
      source,
      /from "\.\.\/lib\//,
      `${nb} must import from ../mod.ts only, as a user's notebook does`,
    );
    assert.ok(
      /^# /m.test([doc.cells[0].source].flat().join("")),
      `${nb} must open with a markdown title`,
    );
  }
});

Deno.test("the code of every notebook type-checks (the Deno kernel runs it unchecked)", async () => {
  // the cells, concatenated, as a module next to the notebook so that `../mod.ts` resolves
  const files: string[] = [];
  try {
    for (const nb of notebooks) {
      const doc = JSON.parse(readFileSync(`${NOTEBOOKS}${nb}`, "utf8"));
      const code = doc.cells.filter((c: { cell_type: string }) => c.cell_type === "code")
        .map((c: { source: string | string[] }) => [c.source].flat().join("")).join("\n\n");
      const file = `${NOTEBOOKS}.typecheck_${nb.replace(/\.ipynb$/, "")}.ts`;
      writeFileSync(file, `${code}\nexport {};\n`);
      files.push(file);
    }
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["check", "-q", ...files],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const err = new TextDecoder().decode(r.stderr);
    assert.ok(r.success, `a notebook does not type-check (cells concatenated):\n${err.slice(0, 4000)}`);
  } finally {
    for (const f of files) rmSync(f, { force: true });
  }
});

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
  metadata?: Record<string, Record<string, unknown>>;
  ename?: string;
  evalue?: string;
}

for (const nb of notebooks) {
  Deno.test({
    name: `notebook ${nb} runs top to bottom with the Deno kernel, shows its outputs and exports them to HTML`,
    ignore: missing !== undefined,
    fn: async () => {
      if (KEEP_DIR) mkdirSync(KEEP_DIR, { recursive: true });
      const outDir = KEEP_DIR ?? await Deno.makeTempDir({ prefix: "adadf-nbtest-" });
      let executedPath: string;
      try {
        executedPath = await executeNotebook(`${NOTEBOOKS}${nb}`, outDir);
      } catch (e) {
        const details = (e as { details?: string }).details ?? "";
        assert.fail(`nbconvert failed on ${nb}: ${(e as Error).message}\n${details}`);
      }
      const executed = JSON.parse(await Deno.readTextFile(executedPath));
      const counts = new Map<string, number>();
      for (const cell of executed.cells) {
        if (cell.cell_type !== "code") continue;
        for (const o of (cell.outputs ?? []) as Output[]) {
          assert.notEqual(o.output_type, "error", `${nb}: a cell raised ${o.ename}: ${o.evalue}`);
          if (!o.data) continue;
          for (const m of Object.keys(o.data)) counts.set(m, (counts.get(m) ?? 0) + 1);
          const mimes = Object.keys(o.data).join(", ");
          // an untrusted classic notebook shows only text/plain, PNG, JPEG and LaTeX
          // (nbformat stores a multi-line string as a list of lines)
          const plain = o.data["text/plain"];
          assert.ok(
            typeof plain === "string" || (Array.isArray(plain) && plain.every((l) => typeof l === "string")),
            `${nb}: an output (${mimes}) has no text/plain fallback`,
          );
          // nbconvert's HTML prefers SVG over PNG and its sanitiser empties it
          assert.ok(!("image/svg+xml" in o.data), `${nb}: an output carries image/svg+xml (${mimes})`);
          if ("image/png" in o.data) {
            const size = o.metadata?.["image/png"];
            assert.ok(
              Number(size?.width) > 0 && Number(size?.height) > 0,
              `${nb}: a PNG output has no CSS width and height in its metadata (${JSON.stringify(o.metadata)})`,
            );
          }
        }
      }
      const has = [...counts].map(([m, k]) => `${k} x ${m}`).join(", ");
      for (const [m, least] of Object.entries(REQUIRED_OUTPUTS[nb])) {
        assert.ok(
          (counts.get(m) ?? 0) >= least,
          `${nb} shows ${counts.get(m) ?? 0} ${m} outputs, needs ${least} (has: ${has})`,
        );
      }

      // the handed-out HTML: the executed notebook exported as `deno task notebooks --html` does
      const html = await Deno.readTextFile(await exportHtml(executedPath, outDir));
      const figures = htmlFigures(html);
      const pngs = REQUIRED_OUTPUTS[nb]["image/png"] ?? 0;
      assert.ok(figures.pngImages >= pngs, `${nb}.html shows ${figures.pngImages} embedded PNG images, needs ${pngs}`);
      assert.equal(figures.pngImages, counts.get("image/png") ?? 0, `${nb}.html lost an image`);
      assert.equal(figures.svgOutputs, 0, `${nb}.html has an SVG output, which nbconvert shows empty`);
      assert.doesNotMatch(html, /file:\/\//, `${nb}.html refers to a local file`);
      if (!KEEP_DIR) await Deno.remove(outDir, { recursive: true });
    },
  });
}

Deno.test("offlineHtml() drops scripts loaded from the local disk and rejects any other file: address", () => {
  const page = '<head>\n<script src="file:///usr/share/javascript/requirejs/require.min.js"></script>\n' +
    '<script src="https://cdn.example/mathjax.js"> </script>\n</head>';
  assert.equal(offlineHtml(page), '<head>\n<script src="https://cdn.example/mathjax.js"> </script>\n</head>');
  assert.throws(() => offlineHtml('<img src="file:///tmp/x.png">'), /local file: file:\/\/\/tmp\/x\.png/);
});

Deno.test("htmlFigures() counts embedded PNG images and SVG outputs of an exported page", () => {
  const png = `<img src="data:image/png;base64,${"A".repeat(200)}"\nwidth=300`;
  const svg = '<div class="jp-RenderedSVG jp-OutputArea-output" data-mime-type="image/svg+xml"></div>';
  assert.deepEqual(htmlFigures(`${png}${png}${svg}<img src="x.png">`), { pngImages: 2, svgOutputs: 1 });
});

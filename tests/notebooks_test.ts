/**
 * Executes every notebook headlessly with the Deno kernel (Debian's jupyter-nbconvert +
 * `deno jupyter --install`) and fails when a cell errors or a notebook lacks its outputs.
 * Without Jupyter the test is skipped LOUDLY; under CI=true it never skips.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

const NOTEBOOKS = new URL("../notebooks/", import.meta.url).pathname;
const CI = Deno.env.get("CI") === "true";
/** Set to a folder to keep the executed notebooks (outputs included) there, e.g. to look at them after a CI failure. */
const KEEP_DIR = Deno.env.get("NOTEBOOK_OUTPUT_DIR") ? resolve(Deno.env.get("NOTEBOOK_OUTPUT_DIR")!) : undefined;

async function hasJupyterWithDeno(): Promise<string | undefined> {
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

const missing = await hasJupyterWithDeno();
if (missing !== undefined) {
  if (CI) throw new Error(`notebook tests cannot run under CI=true: ${missing}`);
  console.warn(`\n!!! SKIPPED: notebook execution tests, because ${missing}. CI runs them. !!!\n`);
}

/**
 * What each notebook must show: MIME type -> the least number of outputs carrying it.
 * A figure (lib/viz `displayFigure`) carries vega-lite v5, SVG and PNG.
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
  "04_fusion_example.ipynb": { "image/png": 1, "application/vnd.vegalite.v5+json": 1, "image/svg+xml": 2 },
  // Fig. 6 for two faces
  "05_fusion_trajectories.ipynb": { "image/png": 2, "application/vnd.vegalite.v5+json": 2 },
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

for (const nb of notebooks) {
  Deno.test({
    name: `notebook ${nb} runs top to bottom with the Deno kernel and shows its outputs`,
    ignore: missing !== undefined,
    fn: async () => {
      if (KEEP_DIR) mkdirSync(KEEP_DIR, { recursive: true });
      const outDir = KEEP_DIR ?? await Deno.makeTempDir({ prefix: "adadf-nbtest-" });
      const r = await new Deno.Command("jupyter", {
        args: [
          "nbconvert",
          "--to",
          "notebook",
          "--execute",
          nb,
          "--output-dir",
          outDir,
          "--ExecutePreprocessor.kernel_name=deno",
          "--ExecutePreprocessor.timeout=900",
          // nbclient waits only 4 s (default) for outputs that arrive after a cell's reply and
          // then drops them silently: on a busy CI machine a figure could go missing
          "--ExecutePreprocessor.iopub_timeout=120",
          "--ExecutePreprocessor.raise_on_iopub_timeout=True",
        ],
        cwd: NOTEBOOKS,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(r.stderr);
      assert.ok(
        r.success,
        `nbconvert failed on ${nb}:\n${
          stderr.split("\n").filter((l) => !/debug|frozen/i.test(l)).slice(-30).join("\n")
        }`,
      );
      const executed = JSON.parse(await Deno.readTextFile(`${outDir}/${nb}`));
      const counts = new Map<string, number>();
      for (const cell of executed.cells) {
        if (cell.cell_type !== "code") continue;
        for (const o of cell.outputs ?? []) {
          assert.notEqual(o.output_type, "error", `${nb}: a cell raised ${o.ename}: ${o.evalue}`);
          for (const m of Object.keys(o.data ?? {})) counts.set(m, (counts.get(m) ?? 0) + 1);
        }
      }
      const has = [...counts].map(([m, k]) => `${k} x ${m}`).join(", ");
      for (const [m, least] of Object.entries(REQUIRED_OUTPUTS[nb])) {
        assert.ok(
          (counts.get(m) ?? 0) >= least,
          `${nb} shows ${counts.get(m) ?? 0} ${m} outputs, needs ${least} (has: ${has})`,
        );
      }
      if (!KEEP_DIR) await Deno.remove(outDir, { recursive: true });
    },
  });
}

/**
 * Executes every notebook headlessly with the Deno kernel (Debian's jupyter-nbconvert +
 * `deno jupyter --install`) and fails when a cell errors or a notebook lacks its outputs.
 * Without Jupyter the test is skipped LOUDLY; under CI=true it never skips.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";

const NOTEBOOKS = new URL("../notebooks/", import.meta.url).pathname;
const CI = Deno.env.get("CI") === "true";

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

/** Minimal outputs each notebook must produce (MIME types that must appear somewhere). */
const REQUIRED_OUTPUTS: Record<string, string[]> = {
  "01_train.ipynb": ["image/png", "application/json", "text/markdown"],
};

const notebooks = existsSync(NOTEBOOKS) ? readdirSync(NOTEBOOKS).filter((f) => f.endsWith(".ipynb")).sort() : [];

Deno.test("every notebook has its required outputs listed in this test", () => {
  assert.ok(notebooks.length > 0, "no notebooks found");
  for (const nb of notebooks) assert.ok(nb in REQUIRED_OUTPUTS, `${nb} has no entry in REQUIRED_OUTPUTS`);
});

for (const nb of notebooks) {
  Deno.test({
    name: `notebook ${nb} runs top to bottom with the Deno kernel and shows its outputs`,
    ignore: missing !== undefined,
    fn: async () => {
      const outDir = await Deno.makeTempDir({ prefix: "adadf-nbtest-" });
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
      const mimes = new Set<string>();
      for (const cell of executed.cells) {
        if (cell.cell_type !== "code") continue;
        for (const o of cell.outputs ?? []) {
          assert.notEqual(o.output_type, "error", `${nb}: a cell raised ${o.ename}: ${o.evalue}`);
          for (const m of Object.keys(o.data ?? {})) mimes.add(m);
        }
      }
      for (const m of REQUIRED_OUTPUTS[nb]) {
        assert.ok(mimes.has(m), `${nb} shows no ${m} output (has: ${[...mimes].join(", ")})`);
      }
      await Deno.remove(outDir, { recursive: true });
    },
  });
}

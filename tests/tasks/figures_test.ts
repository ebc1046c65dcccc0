import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFakeRun } from "../viz/_fixtures.ts";

const FIGURES = new URL("../../tasks/figures.ts", import.meta.url).pathname;
const NAMES = [
  "fig1_votes",
  "fig2_architecture",
  "fig3_tsne",
  "fig4_class_distributions",
  "fig5_fusion_example",
  "fig6_trajectory",
  "training_curves",
  "attention_stats",
  "confusion_matrix",
  "nearest_target",
  "attention_roc",
];

async function figures(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", FIGURES, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("deno task figures writes every figure as .vl.json, .svg and .png from a run folder and a baseline", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const run = join(tmp, "adadf");
    const base = join(tmp, "baseline");
    await Deno.mkdir(run);
    await Deno.mkdir(base);
    writeFakeRun(run);
    writeFakeRun(base, { mode: "baseline", seed: 2 });
    // the tiny SynthFER of the fake config is generated into a cache of its own
    const r = await figures(
      "--run",
      run,
      "--baseline",
      base,
      "--tsne-iterations",
      "250",
      "--synth-cache",
      join(tmp, "cache"),
    );
    assert.equal(r.code, 0, r.stderr);
    // only the toolkit's own lines: no Node deprecation warning from vega's dependencies (punycode)
    assert.ok(!/\(node:\d+\)|DeprecationWarning/.test(r.stderr), r.stderr);
    const out = join(run, "figures");
    for (const name of NAMES) {
      for (const ext of [".vl.json", ".svg", ".png"]) {
        const path = join(out, name + ext);
        assert.ok(existsSync(path) && statSync(path).size > 500, `${path} missing or tiny`);
        assert.ok(r.stdout.includes(path), `${path} not listed`);
      }
      const spec = JSON.parse(Deno.readTextFileSync(join(out, `${name}.vl.json`)));
      assert.equal(spec.$schema, "https://vega.github.io/schema/vega-lite/v5.json");
    }
    assert.match(r.stdout, /wrote 33 files/);
    const tsne = Deno.readTextFileSync(join(out, "fig3_tsne.vl.json"));
    assert.match(tsne, /Baseline/);
    assert.match(tsne, /Ada-DF/);
    // no temporary files left behind by the atomic writes
    assert.equal([...Deno.readDirSync(out)].length, 33);

    // --only, --out, --epoch, --sample
    const out2 = join(tmp, "some");
    const r2 = await figures(
      "--run",
      run,
      "--out",
      out2,
      "--only",
      "fig4_class_distributions,fig5_fusion_example",
      "--epoch",
      "1",
      "--sample",
      "9",
    );
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal([...Deno.readDirSync(out2)].length, 6);
    assert.match(Deno.readTextFileSync(join(out2, "fig4_class_distributions.vl.json")), /after epoch 1/);
    assert.match(Deno.readTextFileSync(join(out2, "fig5_fusion_example.vl.json")), /face #9/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("deno task figures exits 2 with one error line on a missing or invalid run folder or bad flags", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const cases: [string[], RegExp][] = [
      [["--run", join(tmp, "nope")], /does not exist/],
      [["--run", tmp], /config\.json is missing/],
      [[], /--run DIR is required/],
      [["--run", tmp, "--frobnicate"], /unknown flag --frobnicate/],
      [["--run", tmp, "--only", "fig9"], /unknown figure 'fig9'/],
    ];
    for (const [args, msg] of cases) {
      const r = await figures(...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], msg);
    }
    // a corrupt metrics file
    writeFakeRun(tmp);
    Deno.writeTextFileSync(join(tmp, "metrics.jsonl"), "{not json\n");
    const r = await figures("--run", tmp);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error: --run: .*metrics\.jsonl line 1 is not valid JSON/);
    // an epoch or sample the run does not have
    writeFakeRun(tmp);
    const e = await figures("--run", tmp, "--epoch", "99");
    assert.equal(e.code, 2);
    assert.match(
      e.stderr,
      /error: --epoch 99: the run has class distributions for epochs 0\.\.3 and tracked samples for epochs 1\.\.3/,
    );
    // epoch 0 has class distributions but no tracked samples: Fig. 5 is skipped with a note
    const e0 = await figures("--run", tmp, "--epoch", "0", "--only", "fig4_class_distributions,fig5_fusion_example");
    assert.equal(e0.code, 0, e0.stderr);
    assert.match(e0.stdout, /wrote 3 files/);
    assert.match(e0.stdout, /skipped fig5_fusion_example: tracked\.jsonl has no epoch 0/);
    const s = await figures("--run", tmp, "--sample", "4");
    assert.equal(s.code, 2);
    assert.match(s.stderr, /error: --sample 4 is not tracked; tracked training indices: 5, 9/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("deno task figures --help prints the flags and exits 0", async () => {
  const r = await figures("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--baseline DIR/);
});

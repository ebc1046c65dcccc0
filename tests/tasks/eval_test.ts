/**
 * `deno task eval` on a run trained for one epoch on a tiny RAF-DB copy: the numbers equal
 * what training recorded, the confusion matrix's rows are the true classes, --weights and
 * --which work, bad usage exits 2 with one error: line.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makeRafDb } from "../data/readers/_make.ts";
import { CLASSES } from "../../lib/data/classes.ts";
import { confusionFromLogits, evaluationReport, formatEvaluation } from "../../lib/infer/evaluate.ts";

const TRAIN = new URL("../../tasks/train.ts", import.meta.url).pathname;
const EVAL = new URL("../../tasks/eval.ts", import.meta.url).pathname;

async function run(script: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));

Deno.test("confusionFromLogits() and evaluationReport(): rows are true classes, per-class recall, null for absent classes", () => {
  // 3 images, 3 classes: true 0 -> 0, true 0 -> 2, true 1 -> 1
  const logits = Float32Array.from([5, 0, 0, 0, 1, 3, 0, 2, 1]);
  const labels = Int32Array.from([0, 0, 1]);
  assert.deepEqual(confusionFromLogits(logits, labels, 3), [[1, 0, 1], [0, 1, 0], [0, 0, 0]]);
  const r = evaluationReport(logits, labels, {
    classes: ["a", "b", "c"],
    trueDistributions: Float32Array.from([1, 0, 0, 0, 0, 1, 0, 1, 0]),
  });
  assert.equal(r.accuracy, 2 / 3);
  assert.deepEqual(r.perClassAccuracy, { a: 0.5, b: 1, c: null });
  assert.equal(r.accuracyTrue, 1);
  assert.equal(r.count, 3);
  const text = formatEvaluation(r, ["a", "b", "c"]);
  assert.match(text, /accuracy 66\.67 %/);
  assert.match(text, /c\s+-/);
  assert.throws(() => confusionFromLogits(logits, Int32Array.from([0, 3, 1]), 3), /pair 1 \(3, /);
});

Deno.test("deno task eval --run reproduces the run's test accuracy, --which best its best, --weights the same", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-eval-" });
  try {
    const root = join(dir, "RAF-DB");
    await makeRafDb(root, 2);
    const out = join(dir, "run");
    const t = await run(
      TRAIN,
      ...["--dataset", "raf-db", "--data-path", root, "--epochs", "2", "--image-size", "16", "--width", "4"],
      ...["--batch-size", "7", "--quiet", "--out", out],
    );
    assert.equal(t.code, 0, t.stderr);
    const summary = json(join(out, "summary.json"));

    let r = await run(EVAL, "--run", out, "--json");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "", "--json prints nothing else");
    const last = JSON.parse(r.stdout);
    assert.ok(Math.abs(last.accuracy - summary.testAccuracy) < 1e-9, `${last.accuracy} vs ${summary.testAccuracy}`);
    assert.equal(last.count, 7);
    assert.equal(last.dataset, "raf-db");
    assert.match(last.weights, /weights_last\.safetensors$/);
    assert.deepEqual(Object.keys(last.perClassAccuracy), [...CLASSES]);
    assert.equal(last.confusion.length, 7);
    // rows = true class: one test image per class
    last.confusion.forEach((row: number[]) => assert.equal(row.reduce((a, b) => a + b, 0), 1));

    r = await run(EVAL, "--run", out, "--which", "best", "--json");
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Math.abs(JSON.parse(r.stdout).accuracy - summary.bestTestAccuracy) < 1e-9);

    r = await run(
      EVAL,
      ...["--weights", join(out, "weights_last.safetensors"), "--dataset", "raf-db", "--data-path", root, "--json"],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).confusion, last.confusion, "the file records its input size");

    r = await run(EVAL, "--run", out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /accuracy \d+\.\d\d % on 7 images/);
    assert.match(r.stdout, /confusion \(rows: true class, columns: predicted class\)/);
    assert.match(r.stdout, /happiness/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task eval: bad usage or input exits 2 with one error: line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-evalbad-" });
  try {
    const cases: [string[], RegExp][] = [
      [[], /give exactly one of --run DIR and --weights FILE/],
      [["--run", dir, "--weights", "w"], /give exactly one of/],
      [["--run", dir], /is not a run folder: it has no config.json/],
      [["--run", dir, "--which", "first"], /--which expects last or best/],
      [["--weights", join(dir, "none.safetensors")], /does not exist/],
      [["--weights", "w.pth", "--dataset", "mnist"], /dataset must be one of/],
      [["--weights", "w.pth", "--bogus"], /unknown flag --bogus/],
      [
        ["--weights", new URL("../fixtures/weights/resnet18_msceleb_style.pth", import.meta.url).pathname],
        /plain ResNet/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await run(EVAL, ...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^error: /);
      assert.match(lines[0], pattern);
    }
    const h = await run(EVAL, "--help");
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--run DIR \| --weights FILE/);
    assert.match(h.stdout, /--which last\|best/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

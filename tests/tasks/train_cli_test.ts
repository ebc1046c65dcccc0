import { existsSync } from "node:fs";
import assert from "node:assert/strict";

const TRAIN = new URL("../../tasks/train.ts", import.meta.url).pathname;

async function train(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", TRAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

function assertOneErrorLine(stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
}

const BAD: [string[], RegExp][] = [
  [["--threshold", "1.5"], /threshold must be in \[0, 1\], got 1.5/],
  [["--epochs", "0"], /epochs must be an integer >= 1, got 0/],
  [["--epochs", "two"], /--epochs expects an integer, got 'two'/],
  [["--backend", "tpu"], /backend must be one of auto, tensorflow, webgpu, wasm, cpu, got 'tpu'/],
  [["--frobnicate"], /unknown flag --frobnicate/],
  [["--mode", "fancy"], /mode must be one of adadf, baseline, class, label/],
  [["--min-weight", "0.5", "--max-weight", "0.4"], /max-weight must be in \[min-weight, 1\]/],
  [["--freeze-stem", "maybe"], /--freeze-stem expects true or false/],
  [["--config", "/nonexistent/cfg.json"], /--config file \/nonexistent\/cfg.json does not exist/],
  [["--dataset", "raf-db"], /dataset 'raf-db' needs --data-path DIR/],
  [["--dataset", "sfew", "--data-path", "/nonexistent/SFEW2"], /\/nonexistent\/SFEW2/],
  [["--cache", "ram"], /cache must be memory, disk or auto, got 'ram'/],
  [["--ten-crop", "yes"], /--ten-crop expects true or false, got 'yes'/],
  [["--ten-crop", "true"], /ten-crop needs faces larger than the crop; SynthFER is drawn at the input size/],
  [["--noise", "0.1", "--noise-file", "n.txt", "--dataset", "raf-db", "--data-path", "/x"], /give one of them/],
  [
    ["--backend", "tensorflow", "--epochs", "1", "--out", "/tmp/adadf-cli-never"],
    /needs @tensorflow\/tfjs-node-gpu or @tensorflow\/tfjs-node/,
  ],
];

for (const [args, pattern] of BAD) {
  Deno.test(`deno task train ${args.join(" ")} exits 2 with one error: line`, async () => {
    const r = await train(...args);
    assert.equal(r.code, 2, r.stderr);
    // one line in all: the run folder is named only once training starts
    assertOneErrorLine(r.stderr.trim(), pattern);
  });
}

Deno.test("deno task train --out FILE (not a folder) exits 2 with one error: line", async () => {
  const file = await Deno.makeTempFile();
  const r = await train("--epochs", "1", "--out", file);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim().split("\n").at(-1)!, /^error: run folder .* exists and is not a folder/);
  await Deno.remove(file);
});

Deno.test("a training set smaller than one batch is an error: line before any run folder exists", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/run`;
  const r = await train("--synth-train", "14", "--synth-test", "7", "--batch-size", "32", "--out", out);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr.trim().split("\n").at(-1)!,
    /^error: the training set has 14 images, fewer than one batch of 32/,
  );
  assert.ok(!r.stderr.includes("run folder:"), r.stderr);
  assert.equal(existsSync(out), false, "no run folder is left behind");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task train --help prints usage and exits 0", async () => {
  const r = await train("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--mode adadf\|baseline\|class\|label/);
  assert.match(r.stdout, /--backend auto\|tensorflow\|webgpu\|wasm\|cpu/);
  for (const flag of ["--data-path", "--pretrained", "--noise-file", "--cache", "--image-size", "--ten-crop"]) {
    assert.ok(r.stdout.includes(flag), `--help lacks ${flag}`);
  }
});

Deno.test("a --config file is overridden by flags and bad keys are named", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = `${dir}/cfg.json`;
  await Deno.writeTextFile(cfg, JSON.stringify({ threshold: 2 }));
  let r = await train("--config", cfg);
  assert.equal(r.code, 2);
  assertOneErrorLine(r.stderr, /threshold must be in \[0, 1\], got 2/);
  await Deno.writeTextFile(cfg, JSON.stringify({ treshold: 0.5 }));
  r = await train("--config", cfg);
  assert.equal(r.code, 2);
  assertOneErrorLine(r.stderr, /unknown configuration key 'treshold'/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a hostile --config (100k levels deep, a prototype key, a FIFO) is one error: line and leaves no run folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-cfg-" });
  try {
    const cases: [string, string | null, RegExp][] = [
      [
        "deep.json",
        "[".repeat(100_000) + "]".repeat(100_000),
        /deep\.json: --config file is not valid JSON|must hold a JSON object/,
      ],
      ["proto.json", '{"constructor": {"x": 1}}', /unknown configuration key 'constructor'/],
      ["typo.json", '{"synth": {"trainsize": 10}}', /unknown configuration key 'synth\.trainsize'/],
      ["fifo.json", null, /fifo\.json: --config file is a FIFO/],
    ];
    for (const [name, text, pattern] of cases) {
      const path = `${dir}/${name}`;
      if (text === null) {
        const mk = await new Deno.Command("mkfifo", { args: [path] }).output();
        assert.ok(mk.success);
      } else Deno.writeTextFileSync(path, text);
      const out = `${dir}/run-${name}`;
      const r = await train("--config", path, "--out", out);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assertOneErrorLine(r.stderr, pattern);
      assert.ok(!existsSync(out), `${name}: no run folder left behind`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

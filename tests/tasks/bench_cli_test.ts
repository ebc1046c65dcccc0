import assert from "node:assert/strict";

const BENCH = new URL("../../tasks/bench.ts", import.meta.url).pathname;

async function bench(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BENCH, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("deno task bench --json prints CLI.md's shape with positive speeds and the costliest kernels", async () => {
  const r = await bench(
    "--backend",
    "wasm",
    "--image-size",
    "32",
    "--image-size",
    "24",
    "--width",
    "4",
    "--batch-size",
    "8",
    "--steps",
    "1",
    "--threads",
    "1",
    "--json",
  );
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.backend, "wasm");
  assert.equal(j.threads, 1);
  // --threads reaches the native libraries' pools too; oneDNN is installed here and under CI
  if (j.dnnl === null) {
    assert.notEqual(Deno.env.get("CI"), "true", "oneDNN must be in use under CI");
    console.warn("*** oneDNN not found: the bench ran without it ***");
  } else {
    assert.deepEqual(j.dnnl.threads, 1, JSON.stringify(j.dnnl));
  }
  if (j.blas !== null) assert.equal(j.blas.threads, 1, JSON.stringify(j.blas));
  // OpenBLAS is found here and under CI (.ci/run installs it); null where it is not installed
  if (j.blas === null) {
    assert.notEqual(Deno.env.get("CI"), "true", "OpenBLAS must be in use under CI");
    console.warn("*** OpenBLAS not found: the bench ran on XNNPACK alone ***");
  } else {
    assert.ok(j.blas.threads >= 1 && typeof j.blas.corename === "string", JSON.stringify(j.blas));
  }
  assert.deepEqual(j.results.map((x: { kind: string; imageSize: number }) => `${x.kind}@${x.imageSize}`), [
    "train@32",
    "infer@32",
    "train@24",
    "infer@24",
  ]);
  for (const x of j.results) {
    assert.equal(x.batchSize, 8);
    assert.ok(x.imagesPerSecond > 0 && x.peakRssMiB > 0);
  }
  assert.ok(j.kernels.length > 0 && j.kernels.length <= 10);
  // the project's kernels (which of them are costliest depends on the libraries: with oneDNN a
  // tiny net's convolution gradients can drop out of the top ten)
  const ours = [
    "Conv2DBackpropFilter",
    "Conv2DBackpropInput",
    "AdadfAdamUpdate",
    "AdadfBatchNormTrain",
    "AdadfBatchNormGrad",
    "AdadfDnnlBatchNormTrain",
    "AdadfDnnlBatchNormGrad",
    "MaxPoolGrad",
  ];
  const names = j.kernels.map((k: { name: string }) => k.name);
  assert.ok(names.some((n: string) => ours.includes(n)), `none of our wasm kernels in the profile: ${names}`);
  // the data pipeline beside the training step: cold (JPEG decode + augment) and cached, per size
  assert.deepEqual(j.pipeline.map((p: { kind: string; imageSize: number }) => `${p.kind}@${p.imageSize}`), [
    "pipeline-cold@32",
    "pipeline-cached@32",
    "pipeline-cold@24",
    "pipeline-cached@24",
  ]);
  for (const p of j.pipeline) {
    assert.ok(p.imagesPerSecond > 0 && p.trainImagesPerSecond > 0);
    assert.ok(Math.abs(p.ratio - p.imagesPerSecond / p.trainImagesPerSecond) < 1e-9);
  }
});

Deno.test("deno task bench rejects bad values with one error: line", async () => {
  for (
    const [args, pattern] of [
      [["--image-size", "8"], /--image-size must be in \[16, 512\], got 8/],
      [[
        "--backend",
        "tpu",
      ], /backend must be one of/],
      [["--steps", "x"], /--steps expects an integer/],
      [["--blas", "mkl"], /--blas must be auto or off, got 'mkl'/],
    ] as [
      string[],
      RegExp,
    ][]
  ) {
    const r = await bench(...args);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
  }
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { readRunFolder, RunFolderError } from "../../lib/run/reader.ts";
import { writeFakeRun } from "../viz/_fixtures.ts";

Deno.test("readRunFolder() reads every file of a run folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    writeFakeRun(dir);
    const run = readRunFolder(dir);
    assert.equal(run.metrics.length, 3);
    assert.equal(run.classDistributions!.length, 4);
    assert.equal(run.attention!.length, 3);
    assert.equal(run.tracked![0].samples.length, 2);
    assert.deepEqual(run.features!.shape, [40, 8]);
    assert.equal(run.features!.data.length, 320);
    assert.equal(run.features!.predictions!.length, 40);
    assert.equal(run.summary!.testAccuracy, 0.45);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readRunFolder() leaves optional files out and names a missing required one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    writeFakeRun(dir);
    for (const f of ["attention.jsonl", "tracked.jsonl", "features.json", "features.npy", "summary.json"]) {
      await Deno.remove(join(dir, f));
    }
    const run = readRunFolder(dir);
    assert.equal(run.attention, undefined);
    assert.equal(run.features, undefined);
    await Deno.remove(join(dir, "metrics.jsonl"));
    assert.throws(
      () => readRunFolder(dir),
      (e: Error) => e instanceof RunFolderError && /metrics\.jsonl is missing/.test(e.message),
    );
    assert.throws(() => readRunFolder(join(dir, "nope")), /does not exist/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readRunFolder() names the file and line of a corrupt record", async () => {
  const dir = await Deno.makeTempDir();
  try {
    writeFakeRun(dir);
    const path = join(dir, "class_distributions.jsonl");
    const lines = Deno.readTextFileSync(path).split("\n");
    Deno.writeTextFileSync(path, [lines[0], lines[1].slice(0, 40), ...lines.slice(2)].join("\n"));
    assert.throws(() => readRunFolder(dir), /class_distributions\.jsonl line 2 is not valid JSON/);
    const rec = JSON.parse(lines[1]);
    rec.mined = [true];
    Deno.writeTextFileSync(path, [lines[0], JSON.stringify(rec)].join("\n"));
    assert.throws(() => readRunFolder(dir), /line 2: mined must be 7 booleans/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readRunFolder() rejects features.json that disagrees with features.npy", async () => {
  const dir = await Deno.makeTempDir();
  try {
    writeFakeRun(dir);
    const path = join(dir, "features.json");
    const meta = JSON.parse(Deno.readTextFileSync(path));
    meta.labels = meta.labels.slice(1);
    Deno.writeTextFileSync(path, JSON.stringify(meta));
    assert.throws(() => readRunFolder(dir), /labels must be 40 numbers/);
    Deno.writeFileSync(join(dir, "features.npy"), new Uint8Array([1, 2, 3]));
    assert.throws(() => readRunFolder(dir), RunFolderError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

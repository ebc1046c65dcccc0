import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataConfig, resolveConfig, resolveDataConfig } from "../../lib/config.ts";
import { readRunConfig, readRunConfigJson, runConfigJson, writeRunConfig } from "../../lib/run/config_json.ts";

Deno.test("readRunConfig() gives back the configuration runConfigJson() and writeRunConfig() wrote", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adadf-config-json-" });
  try {
    const cfg = resolveConfig({ epochs: 3, noise: 0.2, seed: 9 });
    const json = runConfigJson(cfg, { out: dir, backend: { backend: "cpu", reason: "test" }, classes: ["a", "b"] });
    writeRunConfig(dir, json);
    const raw = readRunConfigJson(dir);
    assert.equal(raw.out, dir);
    assert.equal(raw.resolvedBackend, "cpu");
    assert.deepEqual(raw.classes, ["a", "b"]);
    assert.deepEqual(readRunConfig(dir), { ...cfg, out: null });
    // a key that is neither configuration nor recorded is refused by name
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...raw, epochz: 3 }));
    assert.throws(() => readRunConfig(dir), /unknown configuration key 'epochz'/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolveDataConfig() resolves data settings only and refuses a training key", () => {
  const d = resolveDataConfig({ dataset: "raf-db", dataPath: "/d" }, { imageSize: 112 });
  assert.deepEqual(d, dataConfig(resolveConfig({ dataset: "raf-db", dataPath: "/d", imageSize: 112 })));
  assert.throws(() => resolveDataConfig({ batchSize: 3 } as never), /'batchSize' is not a data setting/);
  assert.throws(() => resolveDataConfig({ dataset: "raf-db" }), /needs --data-path/);
});

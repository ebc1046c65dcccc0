import assert from "node:assert/strict";
import {
  ConfigError,
  DATASETS,
  decodeSize,
  DEFAULT_CONFIG,
  type Layer,
  resolveConfig,
  stemFrozen,
  SYNTH_PRESET,
} from "../lib/config.ts";

Deno.test("resolveConfig() applies defaults < file < flags, nested synth options merge", () => {
  const cfg = resolveConfig({ epochs: 3, synth: { trainSize: 70 } }, { epochs: 5, synth: { testSize: 14 } });
  assert.equal(cfg.epochs, 5);
  assert.equal(cfg.synth.trainSize, 70);
  assert.equal(cfg.synth.testSize, 14);
  assert.equal(cfg.synth.annotators, DEFAULT_CONFIG.synth.annotators);
  assert.equal(cfg.threshold, SYNTH_PRESET.threshold, "SynthFER's preset applies under the layers");
  assert.equal(cfg.lr, DEFAULT_CONFIG.lr);
  assert.equal(resolveConfig({}, { threshold: 0.8 }).threshold, 0.8, "a flag beats the preset");
});

Deno.test("resolveConfig() names the bad field, its value and the expected range", () => {
  assert.throws(
    () => resolveConfig({ threshold: 1.5 }),
    (e) => e instanceof ConfigError && /threshold must be in \[0, 1\], got 1.5/.test(e.message),
  );
  assert.throws(() => resolveConfig({ epochs: 0 }), /epochs must be an integer >= 1, got 0/);
  assert.throws(() => resolveConfig({ tops: 0.01, batchSize: 8 }), /rank groups non-empty/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => resolveConfig({ bogus: 1 } as any), /unknown configuration key 'bogus'/);
});

Deno.test("stemFrozen() follows METHOD.md: frozen with pretrained weights, trained from random ones, unless set", () => {
  assert.equal(stemFrozen(resolveConfig({})), false);
  assert.equal(stemFrozen({ ...resolveConfig({}), pretrained: "w.pth" }), true);
  assert.equal(stemFrozen(resolveConfig({ freezeStem: true })), true);
});

Deno.test("resolveConfig() applies each data set's published hyper-parameters unless a layer sets them (METHOD.md)", () => {
  const raf = resolveConfig({ dataset: "raf-db", dataPath: "/d" });
  assert.deepEqual([raf.threshold, raf.beta, raf.batchSize, raf.imageSize], [0.7, 3, 64, 100]);
  assert.equal(raf.balancedSampling, false);
  assert.equal(raf.tenCrop, false);
  const aff = resolveConfig({ dataset: "affectnet", dataPath: "/d" });
  assert.deepEqual([aff.threshold, aff.beta, aff.batchSize, aff.affectnetClasses], [0.5, 5, 64, 7]);
  assert.equal(aff.balancedSampling, true, "the official code samples AffectNet's classes evenly");
  const sfew = resolveConfig({ dataset: "sfew", dataPath: "/d" });
  assert.deepEqual([sfew.threshold, sfew.beta, sfew.batchSize, sfew.imageSize], [0.5, 5, 16, 224]);
  assert.equal(sfew.tenCrop, true);
  assert.equal(decodeSize(sfew), 256, "TenCrop 224 from faces resized to 256");
  assert.equal(decodeSize({ imageSize: 112, tenCrop: true }), 128);
  assert.equal(decodeSize(raf), 100);
  const set = resolveConfig({ dataset: "sfew", dataPath: "/d" }, { batchSize: 8, tenCrop: false, threshold: 0.6 });
  assert.deepEqual([set.batchSize, set.tenCrop, set.threshold], [8, false, 0.6]);
});

Deno.test("resolveConfig() requires a data path for real data sets and one kind of label noise", () => {
  for (const dataset of DATASETS.filter((d) => d !== "synth")) {
    assert.throws(
      () => resolveConfig({ dataset }),
      (e) => e instanceof ConfigError && new RegExp(`dataset '${dataset}' needs --data-path DIR`).test(e.message),
    );
  }
  assert.throws(
    () => resolveConfig({ dataset: "raf-db", dataPath: "/d", noise: 0.1, noiseFile: "n.txt" }),
    /give one of them/,
  );
  assert.throws(() => resolveConfig({ noiseFile: "n.txt" }), /needs a real data set/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => resolveConfig({ cache: "ram" as any }), /cache must be memory, disk or auto, got 'ram'/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => resolveConfig({ affectnetClasses: 6 as any }), /affectnetClasses must be 7 or 8, got 6/);
  assert.equal(resolveConfig({ dataset: "raf-db", dataPath: "/d", noiseFile: "n.txt" }).noiseFile, "n.txt");
});

Deno.test("resolveConfig() is as strict with a config file as with flags: own keys only, nested keys, types, seeds", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ toString: 1 }, /unknown configuration key 'toString'/],
    [{ constructor: {} }, /unknown configuration key 'constructor'/],
    [{ synth: { trainsize: 10 } }, /unknown configuration key 'synth\.trainsize'/],
    [{ augment: "yes" }, /augment must be an object of randAugment, flip, erasing/],
    [{ augment: { flipp: true } }, /unknown configuration key 'augment\.flipp'/],
    [{ synth: [1, 2] }, /synth must be an object/],
    [{ pretrained: 5 }, /pretrained must be a file or folder name \(a string\), got 5/],
    [{ out: { a: 1 } }, /out must be a file or folder name/],
    [{ seed: 2 ** 32 }, /seed must be an integer in \[0, 2\^32 - 1\], got 4294967296/],
    [{ synth: { seed: 2 ** 40 } }, /synth\.seed must be an integer in \[0, 2\^32 - 1\]/],
  ];
  for (const [layer, pattern] of bad) {
    assert.throws(() => resolveConfig(layer as Layer), (e: Error) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes("\n"));
      return true;
    }, JSON.stringify(layer));
  }
  assert.equal(resolveConfig({ seed: 2 ** 32 - 1 }).seed, 2 ** 32 - 1);
});

Deno.test("readJsonFileSync() accepts a UTF-8 byte order mark, as the label-file readers do", async () => {
  const { readJsonFileSync } = await import("../lib/util/files.ts");
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeFile(path, new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"epochs": 3}')]));
    assert.deepEqual(readJsonFileSync(path), { epochs: 3 });
  } finally {
    await Deno.remove(path);
  }
});

import assert from "node:assert/strict";
import { ConfigError, DEFAULT_CONFIG, resolveConfig, stemFrozen, SYNTH_PRESET } from "../lib/config.ts";

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

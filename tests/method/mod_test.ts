import assert from "node:assert/strict";
import * as method from "../../lib/method/mod.ts";

Deno.test("mod.ts re-exports the whole method API", () => {
  const names = [
    "adaDfLoss",
    "attentionStatistics",
    "averageAttention",
    "ClassDistributionMiner",
    "crossEntropy",
    "fuseDistributions",
    "initialClassDistributions",
    "klDivergenceLoss",
    "labelDistribution",
    "lossWeights",
    "mineClassDistributions",
    "normalizeAttention",
    "rankRegularization",
    "thresholdRow",
  ];
  for (const name of names) assert.equal(typeof (method as Record<string, unknown>)[name], "function", name);
  assert.deepEqual(method.RANK_REGULARIZATION_DEFAULTS, { tops: 0.7, margin: 0.07 });
  assert.deepEqual(method.NORMALIZE_ATTENTION_DEFAULTS, { minWeight: 0.2, maxWeight: 1 });
});

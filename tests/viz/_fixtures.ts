/** Tiny synthetic run-folder records for the figure tests (C = 7 classes, a few epochs). */
import { measureDistributions } from "../../lib/analysis/distribution_measures.ts";
import { join } from "node:path";
import { CLASSES } from "../../lib/data/classes.ts";
import { encodeNpy } from "../../lib/util/files.ts";
import { Prng } from "../../lib/util/prng.ts";
import type { AttentionRecord, ClassDistributionRecord, MetricsRecord, TrackedRecord } from "../../lib/run/records.ts";

export const C = CLASSES.length;

/** A random distribution over C classes with extra mass on `peak`. [C] */
export function dist(prng: Prng, peak: number): number[] {
  const d = Array.from({ length: C }, (_, j) => prng.uniform(0.01, 0.2) + (j === peak ? 1 : 0));
  const s = d.reduce((a, b) => a + b, 0);
  return d.map((x) => x / s);
}

/** Everything a run folder holds, for `epochs` epochs, `n` test faces of `d` features. */
export function fakeRecords(epochs = 3, n = 40, d = 8, seed = 1) {
  const prng = new Prng(seed);
  const metrics: MetricsRecord[] = Array.from({ length: epochs }, (_, i) => ({
    epoch: i + 1,
    lr: 0.001 * 0.9 ** i,
    a1: 1,
    a2: Math.exp(-((1 - (i + 1) / 10) ** 2)),
    loss: 2 - 0.3 * i,
    lossCe: 1.8 - 0.3 * i,
    lossKld: 0.1,
    lossRr: i === 0 ? 0 : 0.0002,
    trainStepAccuracy: 0.3 + 0.1 * i,
    trainAccuracy: 0.3 + 0.1 * i,
    testAccuracy: 0.25 + 0.1 * i,
    testAccuracyTrue: 0.26 + 0.1 * i,
    seconds: 1,
    rssMiB: 100,
  }));
  const classDistributions: ClassDistributionRecord[] = Array.from({ length: epochs + 1 }, (_, e) => {
    const rows = Array.from({ length: C }, (_, c) => dist(prng, c));
    const mined = rows.map((_, c) => e > 0 && c !== 2);
    return {
      epoch: e,
      rows,
      mined,
      replaced: mined.map((m) => !m),
      diagonal: rows.map((r, c) => (e > 0 ? r[c] : null)),
      counts: rows.map(() => (e > 0 ? 10 : 0)),
    };
  });
  const attention: AttentionRecord[] = Array.from({ length: epochs }, (_, i) => ({
    epoch: i + 1,
    mean: Array.from({ length: C }, () => prng.uniform(0.3, 0.5)),
    max: Array.from({ length: C }, () => prng.uniform(0.8, 1)),
    min: Array.from({ length: C }, () => prng.uniform(0.2, 0.25)),
  }));
  const tracked: TrackedRecord[] = Array.from({ length: epochs }, (_, i) => ({
    epoch: i + 1,
    samples: [5, 9].map((index, k) => {
      const label = k === 0 ? 2 : 6;
      const labelDistribution = dist(prng, (label + i) % C);
      const classDistribution = dist(prng, label);
      const w = prng.uniform(0.2, 1);
      return {
        index,
        label,
        trueDistribution: dist(prng, label),
        labelDistribution,
        classDistribution,
        fused: labelDistribution.map((p, j) => w * classDistribution[j] + (1 - w) * p),
        wAux: 0.5,
        wTar: 0.4,
        wAvg: 0.45,
        w,
      };
    }),
  }));
  const labels = Array.from({ length: n }, (_, i) => i % C);
  const features = new Float32Array(n * d).map((_, t) =>
    prng.normal() + 3 * (labels[Math.floor(t / d)] % d === t % d ? 1 : 0)
  );
  const predictions = labels.map((l, i) => (i % 4 === 0 ? (l + 1) % C : l));
  return { metrics, classDistributions, attention, tracked, labels, predictions, features, n, d };
}

/** Writes a complete fake run folder into `dir` (SynthFER config with a tiny data set). */
export function writeFakeRun(dir: string, options: { mode?: string; seed?: number } = {}): void {
  const r = fakeRecords(3, 40, 8, options.seed ?? 1);
  const jsonl = (rows: unknown[]) => rows.map((x) => JSON.stringify(x)).join("\n") + "\n";
  Deno.writeTextFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      dataset: "synth",
      mode: options.mode ?? "adadf",
      backbone: "resnet18",
      imageSize: 16,
      threshold: 0.5,
      attentionOn: "logits",
      stemFrozen: false,
      synth: { seed: 0, trainSize: 14, testSize: 7, annotators: 10, ambiguousFraction: 0.5, difficulty: "normal" },
      classes: [...CLASSES],
    }),
  );
  Deno.writeTextFileSync(join(dir, "metrics.jsonl"), jsonl(r.metrics));
  Deno.writeTextFileSync(join(dir, "class_distributions.jsonl"), jsonl(r.classDistributions));
  Deno.writeTextFileSync(join(dir, "attention.jsonl"), jsonl(r.attention));
  Deno.writeTextFileSync(join(dir, "tracked.jsonl"), jsonl(r.tracked));
  // measured distributions of 40 made-up training faces per epoch (half blended, every fifth label flipped)
  const distributions = [1, 2, 3].map((epoch) =>
    measureDistributions(
      epoch,
      Array.from({ length: 40 }, (_, i) => {
        const truth = i % 2 ? [1, 0, 0, 0, 0, 0, 0] : [0.5, 0.5, 0, 0, 0, 0, 0];
        const soft = [0.6, 0.2, 0.05, 0.05, 0.04, 0.03, 0.03];
        return {
          trueDistribution: truth,
          label: i % 5 === 0 ? 3 : 0,
          labelDistribution: soft,
          classDistribution: [0.7, 0.1, 0.04, 0.04, 0.04, 0.04, 0.04],
          fused: soft.map((p, j) => 0.5 * p + 0.5 * [0.7, 0.1, 0.04, 0.04, 0.04, 0.04, 0.04][j]),
          w: i % 5 === 0 ? 0.3 : 0.5 + ((i * 7) % 10) / 20,
          flipped: i % 5 === 0,
        };
      }),
    )
  );
  Deno.writeTextFileSync(join(dir, "distributions.jsonl"), jsonl(distributions));
  Deno.writeFileSync(join(dir, "features.npy"), encodeNpy(r.features, [r.n, r.d]));
  Deno.writeTextFileSync(
    join(dir, "features.json"),
    JSON.stringify({
      epoch: 3,
      branch: "target",
      shape: [r.n, r.d],
      classes: [...CLASSES],
      labels: r.labels,
      predictions: r.predictions,
      attention: r.labels.map(() => 0.5),
    }),
  );
  Deno.writeTextFileSync(join(dir, "summary.json"), JSON.stringify({ testAccuracy: 0.45, epochsCompleted: 3 }));
}

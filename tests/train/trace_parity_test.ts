/**
 * Training-trace parity with PyTorch: train.py's loop re-typed in
 * tools/golden/make_weights_fixtures.py, run from the official checkpoint fixture's weights
 * on 24 fixed images (file order, no augmentation, stem frozen), two epochs of three
 * steps. Our trainAdaDf must give the same per-step losses, loss weights and mined class
 * distributions: this pins eval-mode mining, epochs counted from 1, the frozen stem's
 * BatchNorm running statistics (still updated in train mode) and the undetached target.
 * Threshold rows: the code's (0.4 / (C - 1) off the diagonal), threshold 0.143 so that
 * some classes are mined and some replaced; margin 0.3 so that L_RR is active in some steps.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/backend.ts";
import { resolveConfig } from "../../lib/config.ts";
import { AdaDfNet } from "../../lib/model/adadf_net.ts";
import { loadPretrainedInto } from "../../lib/model/weights_import.ts";
import type { ClassDistributionRecord, EpochMetrics } from "../../lib/run/records.ts";
import { trainAdaDf } from "../../lib/train/trainer.ts";

await initBackend("cpu");

const FIX = new URL("../fixtures/weights/", import.meta.url).pathname;
const trace = JSON.parse(readFileSync(join(FIX, "trace.json"), "utf8"));
const TOL = 1e-3;

const decodeImages = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

function close(got: number, want: number, what: string) {
  assert.ok(Math.abs(got - want) <= TOL * Math.max(1, Math.abs(want)), `${what}: ours ${got}, PyTorch ${want}`);
}

Deno.test("trainAdaDf() reproduces train.py's per-step losses, loss weights and mined class distributions (PyTorch trace)", async () => {
  tf.disposeVariables();
  const c = trace.config;
  const cfg = resolveConfig({
    width: c.width,
    imageSize: c.imageSize,
    epochs: c.epochs,
    batchSize: c.batchSize,
    lr: c.lr,
    lrGamma: c.lrGamma,
    threshold: c.threshold,
    thresholdRows: c.thresholdRows,
    beta: c.beta,
    tops: c.tops,
    margin: c.margin,
    minWeight: c.minWeight,
    maxWeight: c.maxWeight,
    freezeStem: c.freezeStem,
    detachTargets: c.detachTargets,
    shuffle: false,
    augment: { randAugment: false, flip: false, erasing: false },
    miningAugment: false,
    trackedSamples: 0,
  });
  const net = new AdaDfNet({ width: c.width, numClasses: c.numClasses });
  try {
    const loaded = await loadPretrainedInto(net, join(FIX, "adadf_checkpoint.pth.tar"));
    assert.equal(loaded.kind, "adadf");
    const data = {
      train: { images: decodeImages(trace.train.images), labels: Int32Array.from(trace.train.labels) },
      test: { images: decodeImages(trace.test.images), labels: Int32Array.from(trace.test.labels) },
      numClasses: c.numClasses,
      imageSize: c.imageSize,
    };
    const steps: Record<string, number>[] = [];
    const mined: ClassDistributionRecord[] = [];
    const stemBefore = await net.params.get("feature.layer1.0.conv1.weight")!.data();
    const history: EpochMetrics[] = await trainAdaDf(net, data, cfg, {
      onEvent: (e) => {
        if (e.type === "step") steps.push({ ...(e as unknown as Record<string, number>) });
      },
      onEpoch: (r) => {
        mined.push(r.classDistributions);
      },
    });

    // per-step totals (from the running means the step events carry; batches are equal)
    const want = trace.steps as Record<string, number>[];
    assert.equal(steps.length, want.length);
    for (let i = 0; i < want.length; i++) {
      const s = steps[i];
      assert.equal(s.epoch, want[i].epoch);
      const prev = s.step > 1 ? steps[i - 1].loss * (s.step - 1) : 0;
      close(s.loss * s.step - prev, want[i].total, `step ${i + 1} total`);
      // per-step parts, where the step event carries them (see the report: trainer.ts change)
      for (const k of ["ce", "kld", "rr", "a1", "a2"]) if (k in s) close(s[k], want[i][k], `step ${i + 1} ${k}`);
    }
    // per-epoch means of each part and the loss weights
    for (const m of history) {
      const ws = want.filter((w) => w.epoch === m.epoch);
      const mean = (k: string) => ws.reduce((a, w) => a + w[k], 0) / ws.length;
      close(m.lossCe, mean("ce"), `epoch ${m.epoch} L_ce`);
      close(m.lossKld, mean("kld"), `epoch ${m.epoch} L_kld`);
      close(m.lossRr, mean("rr"), `epoch ${m.epoch} L_RR`);
      close(m.loss, mean("total"), `epoch ${m.epoch} total`);
      close(m.a1, ws[0].a1, `epoch ${m.epoch} a1`);
      close(m.a2, ws[0].a2, `epoch ${m.epoch} a2`);
    }
    // L_RR is active in some steps and not in others: both branches of `if diff > 0` are exercised
    assert.ok(want.some((w) => w.rr > 0) && want.some((w) => w.rr === 0));

    // class distributions mined after each epoch (eval mode, auxiliary branch)
    assert.equal(mined.length, trace.epochs.length);
    for (let e = 0; e < mined.length; e++) {
      const ref = trace.epochs[e];
      ref.rows.forEach((row: number[], i: number) =>
        row.forEach((v, j) => close(mined[e].rows[i][j], v, `epoch ${ref.epoch} class distribution [${i}][${j}]`))
      );
      ref.diagonal.forEach((d: number, i: number) => {
        close(mined[e].diagonal[i] as number, d, `epoch ${ref.epoch} diagonal ${i}`); // NaN in memory, never null
        assert.equal(mined[e].mined[i], d >= c.threshold, `epoch ${ref.epoch} class ${i} mined`);
      });
    }
    assert.ok(mined[1].mined.some((m) => m) && mined[1].mined.some((m) => !m));
    // the frozen stem's weights did not move
    assert.deepEqual(await net.params.get("feature.layer1.0.conv1.weight")!.data(), stemBefore);
  } finally {
    net.dispose();
  }
});

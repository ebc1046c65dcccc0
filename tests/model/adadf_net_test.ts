import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { AdaDfNet, BnStatistics, featureDim } from "../../lib/model/adadf_net.ts";
import { batchNorm } from "../../lib/model/layers.ts";
import { Prng } from "../../lib/util/prng.ts";

await initBackend("cpu");

function paramCount(net: AdaDfNet, prefixes: string[]): number {
  let n = 0;
  for (const [k, v] of net.params) if (v.trainable && prefixes.some((p) => k.startsWith(p))) n += v.size;
  return n;
}

Deno.test("AdaDfNet stem + one branch has torchvision ResNet-18's 11,689,512 parameters at width 64 and 1000 classes", () => {
  const net = new AdaDfNet({ backbone: "resnet18", width: 64, numClasses: 1000 });
  assert.equal(paramCount(net, ["feature.", "branch_1."]), 11_689_512);
  assert.equal(featureDim(net.config), 512);
  assert.equal(net.params.get("alpha_1.weight")!.shape.join(), "512,1");
  net.dispose();
});

Deno.test("AdaDfNet stem + one branch has torchvision ResNet-50's 25,557,032 parameters; attention heads are 2048-d", () => {
  const net = new AdaDfNet({ backbone: "resnet50", width: 64, numClasses: 1000 });
  assert.equal(paramCount(net, ["feature.", "branch_1."]), 25_557_032);
  assert.equal(net.params.get("alpha_2.weight")!.shape.join(), "2048,1");
  net.dispose();
});

Deno.test("AdaDfNet uses torchvision names under the official prefixes", () => {
  const net = new AdaDfNet({ width: 8 });
  for (
    const k of [
      "feature.conv1.weight",
      "feature.bn1.running_var",
      "feature.layer1.1.conv2.weight",
      "branch_1.layer2.0.downsample.0.weight",
      "branch_1.layer2.0.downsample.1.running_mean",
      "branch_2.layer4.1.bn2.bias",
      "branch_2.fc.weight",
      "alpha_1.bias",
      "alpha_2.weight",
    ]
  ) assert.ok(net.params.has(k), k);
  net.dispose();
});

Deno.test("AdaDfNet's two branches start identical and the attention heads differ", () => {
  const net = new AdaDfNet({ width: 8 }, { seed: 3 });
  for (const [k, v] of net.params) {
    if (!k.startsWith("branch_1.")) continue;
    const twin = net.params.get(k.replace("branch_1.", "branch_2."))!;
    assert.deepEqual(Array.from(v.dataSync()), Array.from(twin.dataSync()), k);
  }
  assert.notDeepEqual(
    Array.from(net.params.get("alpha_1.weight")!.dataSync()),
    Array.from(net.params.get("alpha_2.weight")!.dataSync()),
  );
  net.dispose();
});

Deno.test("AdaDfNet forward gives [N, C] logits, [N, 1] sigmoid attention, logits = attention * fc(feature)", () => {
  const net = new AdaDfNet({ width: 8, numClasses: 7 }, { seed: 1 });
  const x = tf.randomNormal([3, 32, 32, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const o = net.apply(x, { training: false });
  assert.deepEqual(o.tarLogits.shape, [3, 7]);
  assert.deepEqual(o.wAux.shape, [3, 1]);
  const w = o.wTar.dataSync();
  assert.ok(Array.from(w).every((v) => v > 0 && v < 1));
  const fc = tf.add(
    tf.matMul(o.tarFeatures, net.params.get("branch_2.fc.weight")!),
    net.params.get("branch_2.fc.bias")!,
  );
  const expected = tf.mul(o.wTar, fc);
  assert.ok(tf.max(tf.abs(tf.sub(expected, o.tarLogits))).dataSync()[0] < 1e-6);
  tf.dispose([x, fc, expected, ...Object.values(o)]);
  net.dispose();
});

Deno.test("AdaDfNet with attentionOn 'features' computes fc(attention * feature)", () => {
  const net = new AdaDfNet({ width: 8, attentionOn: "features" }, { seed: 1 });
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const o = net.apply(x, { training: false });
  const expected = tf.add(
    tf.matMul(tf.mul(o.wAux, o.auxFeatures), net.params.get("branch_1.fc.weight")!),
    net.params.get("branch_1.fc.bias")!,
  );
  assert.ok(tf.max(tf.abs(tf.sub(expected, o.auxLogits))).dataSync()[0] < 1e-6);
  tf.dispose([x, expected, ...Object.values(o)]);
  net.dispose();
});

Deno.test("batchNorm() training gradient equals TF.js's own batchNorm gradient", () => {
  const prng = new Prng(5);
  const x = tf.tensor4d(Float32Array.from({ length: 4 * 3 * 5 * 6 }, () => prng.normal(0.5, 2)), [4, 3, 5, 6]);
  const gamma = tf.variable(
    tf.tensor1d(Float32Array.from({ length: 6 }, () => prng.normal(1, 0.3))),
    true,
    "bn.weight",
  );
  const beta = tf.variable(tf.tensor1d(Float32Array.from({ length: 6 }, () => prng.normal())), true, "bn.bias");
  const dy = tf.tensor4d(Float32Array.from({ length: x.size }, () => prng.normal()), x.shape);
  const params = new Map([["bn.weight", gamma], ["bn.bias", beta]]);
  const bn = new BnStatistics();
  const ours = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
    tf.sum(
      tf.mul(
        batchNorm(
          { params: new Map([["bn.weight", g as tf.Variable], ["bn.bias", b as tf.Variable]]), training: true, bn },
          "bn",
          a as tf.Tensor4D,
        ),
        dy,
      ),
    )
  )([x, gamma, beta]);
  const ref = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(a, [0, 1, 2]);
    return tf.sum(
      tf.mul(
        tf.batchNorm4d(
          a as tf.Tensor4D,
          mean as tf.Tensor1D,
          variance as tf.Tensor1D,
          b as tf.Tensor1D,
          g as tf.Tensor1D,
          1e-5,
        ),
        dy,
      ),
    );
  })([x, gamma, beta]);
  for (let i = 0; i < 3; i++) {
    const err = tf.max(tf.abs(tf.sub(ours[i], ref[i]))).dataSync()[0];
    assert.ok(err < 1e-4, `gradient ${i} differs by ${err}`);
  }
  bn.dispose();
  void params;
  tf.dispose([x, gamma, beta, dy, ...ours, ...ref]);
});

Deno.test("BnStatistics.apply() updates running statistics as PyTorch (momentum 0.1, unbiased variance)", () => {
  const net = new AdaDfNet({ width: 4 }, { seed: 1 });
  const x = tf.tensor4d(Float32Array.from({ length: 2 * 32 * 32 * 3 }, (_, i) => Math.sin(i) * 3 + 1), [2, 32, 32, 3]);
  const bn = new BnStatistics();
  const o = net.apply(x, { training: true, bn });
  // the stem's first BatchNorm sees conv1's output; recompute its statistics directly
  const c1 = tf.conv2d(x, net.params.get("feature.conv1.weight")! as tf.Tensor4D, 2, 3);
  const { mean, variance } = tf.moments(c1, [0, 1, 2]);
  const n = c1.shape[0] * c1.shape[1] * c1.shape[2];
  const expMean = tf.mul(mean, 0.1).dataSync();
  const expVar = tf.add(0.9, tf.mul(tf.mul(variance, n / (n - 1)), 0.1)).dataSync();
  bn.apply(net.params);
  const rm = net.params.get("feature.bn1.running_mean")!.dataSync();
  const rv = net.params.get("feature.bn1.running_var")!.dataSync();
  for (let i = 0; i < rm.length; i++) {
    assert.ok(Math.abs(rm[i] - expMean[i]) < 1e-5);
    assert.ok(Math.abs(rv[i] - expVar[i]) < 1e-4);
  }
  tf.dispose([x, c1, mean, variance, ...Object.values(o)]);
  net.dispose();
});

Deno.test("conv layers pad symmetrically as PyTorch: 7x7 stride 2 pad 3 on 32x32 gives 16x16 and matches explicit padding", () => {
  const net = new AdaDfNet({ width: 4 }, { seed: 1 });
  const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 4) as tf.Tensor4D;
  const w = net.params.get("feature.conv1.weight")! as tf.Tensor4D;
  const a = tf.conv2d(x, w, 2, 3);
  const b = tf.conv2d(tf.pad(x, [[0, 0], [3, 3], [3, 3], [0, 0]]), w, 2, "valid");
  assert.deepEqual(a.shape, [1, 16, 16, 4]);
  assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] < 1e-5);
  tf.dispose([x, a, b]);
  net.dispose();
});

Deno.test("AdaDfNet variant 'plain' (the baseline) is a plain ResNet: stem, one branch, fc, no attention head", () => {
  tf.disposeVariables();
  const before = tf.memory().numTensors;
  const dual = new AdaDfNet({ width: 8 }, { seed: 1 });
  const dualValues = new Map([...dual.params].map(([k, v]) => [k, v.arraySync()]));
  const dualCount = dual.parameterCount();
  dual.dispose();
  const plain = new AdaDfNet({ width: 8, variant: "plain" }, { seed: 1 });
  const names = [...plain.params.keys()];
  assert.ok(!names.some((k) => k.startsWith("branch_1.") || k.startsWith("alpha_")), names.join(","));
  assert.ok(names.includes("branch_2.fc.weight") && names.includes("feature.conv1.weight"));
  // the same stem and branch as the dual network built from the same seed, about half its parameters
  for (const k of names) assert.deepEqual(plain.params.get(k)!.arraySync(), dualValues.get(k), k);
  assert.ok(plain.parameterCount() < 0.6 * dualCount);
  tf.tidy(() => {
    const x = tf.randomNormal([3, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
    const o = plain.apply(x, { training: false });
    // logits = fc(f), no gate: recompute from the features
    const fc = tf.add(
      tf.matMul(o.tarFeatures, plain.params.get("branch_2.fc.weight")!),
      plain.params.get("branch_2.fc.bias")!,
    );
    assert.ok(tf.max(tf.abs(tf.sub(fc, o.tarLogits))).arraySync() as number < 1e-5);
    assert.deepEqual(o.wTar.arraySync(), [[1], [1], [1]]);
    assert.equal(o.auxLogits, o.tarLogits);
  });
  plain.dispose();
  assert.equal(tf.memory().numTensors, before);
});

import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/backend.ts";
import { AdaDfNet } from "../../lib/model/adadf_net.ts";
import { readTorchFile, readWeightsFile, type TorchTensor } from "../../lib/model/torch_file.ts";
import { loadPretrainedInto } from "../../lib/model/weights_import.ts";
import { exportOfficialSafetensors, officialStateDict, sidecarPath } from "../../lib/model/weights_export.ts";

await initBackend("cpu");

// Fixtures: tools/golden/make_weights_fixtures.py (PyTorch 1.13)
const FIX = new URL("../fixtures/weights/", import.meta.url).pathname;
const CKPT = join(FIX, "adadf_checkpoint.pth.tar");
const officialKeys = JSON.parse(readFileSync(join(FIX, "official_keys.json"), "utf8")) as {
  key: string;
  shape: number[];
  dtype: string;
}[];

Deno.test("officialStateDict() has the official model's state_dict keys, order, shapes and dtypes (what strict=True checks)", async () => {
  tf.disposeVariables();
  const net = new AdaDfNet({ width: 4, numClasses: 7 });
  const sd = await officialStateDict(net);
  net.dispose();
  assert.deepEqual(
    Object.entries(sd).map(([key, t]) => ({ key, shape: t.shape, dtype: t.dtype === "I64" ? "int64" : "float32" })),
    officialKeys,
  );
});

Deno.test("exportOfficialSafetensors() writes the checkpoint's own values back under the same keys, with a sidecar", async () => {
  tf.disposeVariables();
  const dir = await Deno.makeTempDir();
  const net = new AdaDfNet({ width: 4, numClasses: 7 });
  try {
    const r = await loadPretrainedInto(net, CKPT);
    const classes = ["surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral"];
    const path = join(dir, "model.safetensors");
    const before = tf.memory().numTensors;
    const out = await exportOfficialSafetensors(net, path, {
      classes,
      classDistributions: r.classDistributions,
      config: { imageSize: 32 },
    });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(out.keys, officialKeys.length);
    assert.equal(out.sidecarPath, sidecarPath(path));
    assert.equal(out.sidecarPath, join(dir, "model.json"));
    const side = JSON.parse(readFileSync(out.sidecarPath, "utf8"));
    assert.deepEqual(side.classes, classes);
    assert.deepEqual(side.classDistributions, r.classDistributions);
    assert.deepEqual(side.config, {
      backbone: "resnet18",
      width: 4,
      numClasses: 7,
      attentionOn: "logits",
      variant: "adadf",
      imageSize: 32,
    });

    // every float tensor equals the PyTorch checkpoint's, aliases included
    const file = await readWeightsFile(path);
    assert.equal(file.format, "safetensors");
    const exported = file.root as Record<string, TorchTensor>;
    const sd = (readTorchFile(readFileSync(CKPT)) as { state_dict: Record<string, TorchTensor> }).state_dict;
    assert.deepEqual(Object.keys(exported), Object.keys(sd));
    for (const [k, t] of Object.entries(sd)) {
      assert.deepEqual(exported[k].shape, t.shape, k);
      if (k.endsWith("num_batches_tracked")) assert.equal(exported[k].dtype, "int64");
      else assert.deepEqual(exported[k].data, t.data, k);
    }

    // and the export loads back (kind adadf), class distributions from the metadata
    const back = await loadPretrainedInto(net, path);
    assert.equal(back.kind, "adadf");
    assert.deepEqual(back.classDistributions, r.classDistributions);
  } finally {
    net.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exportOfficialSafetensors() output loads into the official PyTorch model with strict=True (needs python3-torch)", async () => {
  // The committed-fixture test above already checks keys, shapes, dtypes and values; this one runs
  // PyTorch itself (issue 4: "loadable by PyTorch ... with strict=True"): skipped loudly on a laptop
  // without python3-torch, never under CI=true (.ci/run installs it).
  const python = "/usr/bin/python3";
  const probe = existsSync(python)
    ? await new Deno.Command(python, { args: ["-c", "import torch"], stdout: "null", stderr: "null" }).output()
    : { success: false };
  if (!probe.success) {
    if (Deno.env.get("CI") === "true") {
      throw new Error("CI=true but /usr/bin/python3 cannot import torch: .ci/run must install python3-torch");
    }
    console.warn("\n!!! SKIPPED: the PyTorch strict=True load check, because /usr/bin/python3 has no torch !!!\n");
    return;
  }
  tf.disposeVariables();
  const dir = await Deno.makeTempDir();
  const net = new AdaDfNet({ width: 4, numClasses: 7 });
  try {
    await loadPretrainedInto(net, CKPT);
    const path = join(dir, "model.safetensors");
    await exportOfficialSafetensors(net, path, {});
    const script = new URL("../../tools/golden/make_weights_fixtures.py", import.meta.url).pathname;
    const r = await new Deno.Command(python, { args: [script, "--check-export", path] }).output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    assert.ok(r.success, text);
    const report = JSON.parse(text.trim().split("\n").at(-1)!);
    assert.equal(report.strict, true);
    assert.ok(report.maxRelativeError < 1e-4, text);
  } finally {
    net.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("officialStateDict() of a plain network (the baseline) has torchvision's ResNet keys in torchvision's order", async () => {
  tf.disposeVariables();
  const net = new AdaDfNet({ width: 4, numClasses: 7, variant: "plain" });
  const sd = await officialStateDict(net);
  net.dispose();
  const keys = Object.keys(sd);
  assert.equal(keys[0], "conv1.weight");
  assert.deepEqual(keys.slice(-2), ["fc.weight", "fc.bias"]);
  assert.ok(keys.includes("layer4.1.bn2.num_batches_tracked"));
  assert.ok(!keys.some((k) => /^(feature|branch|alpha)/.test(k)), keys.join(","));
  // torchvision's resnet18: 62 parameters and 40 BatchNorm buffers (20 BatchNorms x running mean/var, + 20 counters)
  assert.equal(keys.length, 122);
  assert.deepEqual(sd["fc.weight"].shape, [7, 32]);
});

Deno.test("exportOfficialSafetensors() of a plain network loads into torchvision's resnet18 with strict=True and gives the same logits (needs python3-torchvision)", async () => {
  const python = "/usr/bin/python3";
  const probe = existsSync(python)
    ? await new Deno.Command(python, { args: ["-c", "import torch, torchvision"], stdout: "null", stderr: "null" })
      .output()
    : { success: false };
  if (!probe.success) {
    if (Deno.env.get("CI") === "true") {
      throw new Error(
        "CI=true but /usr/bin/python3 cannot import torchvision: .ci/run must install python3-torchvision",
      );
    }
    console.warn(
      "\n!!! SKIPPED: the torchvision strict=True load check, because /usr/bin/python3 has no torchvision !!!\n",
    );
    return;
  }
  tf.disposeVariables();
  const dir = await Deno.makeTempDir();
  // torchvision's resnet18 has width 64; give the BatchNorms non-trivial statistics so that eval mode matters
  const net = new AdaDfNet({ width: 64, numClasses: 7, variant: "plain" }, { seed: 3 });
  try {
    let k = 0;
    for (const [name, v] of net.params) {
      if (name.endsWith("running_var")) v.assign(tf.add(tf.randomUniform(v.shape, 0, 1, "float32", ++k), 0.5));
      if (name.endsWith("running_mean")) v.assign(tf.randomUniform(v.shape, -0.2, 0.2, "float32", ++k));
    }
    const n = 2;
    const s = 40;
    const x = tf.randomNormal([n, s, s, 3], 0, 1, "float32", 17) as tf.Tensor4D;
    const ours = tf.tidy(() => net.apply(x, { training: false }).tarLogits);
    const want = Array.from(await ours.data());
    ours.dispose();
    const nchw = tf.transpose(x, [0, 3, 1, 2]);
    const { encodeNpy } = await import("../../lib/util/files.ts");
    Deno.writeFileSync(join(dir, "x.npy"), encodeNpy((await nchw.data()) as Float32Array, [n, 3, s, s]));
    tf.dispose([x, nchw]);
    const path = join(dir, "baseline.safetensors");
    await exportOfficialSafetensors(net, path, {});
    const script = new URL("../../tools/golden/make_weights_fixtures.py", import.meta.url).pathname;
    const r = await new Deno.Command(python, { args: [script, "--check-torchvision", path, join(dir, "x.npy")] })
      .output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    assert.ok(r.success, text);
    const report = JSON.parse(text.trim().split("\n").at(-1)!);
    assert.equal(report.strict, true);
    assert.equal(report.logits.length, n * 7);
    const worst = Math.max(...want.map((v, i) => Math.abs(v - report.logits[i]) / (Math.abs(v) + 1e-3)));
    assert.ok(worst < 1e-4, `max relative error ${worst}`);
    // and back: the export is a model of its own for predict/eval (a 7-class ResNet)
    net.dispose();
    const { netFromWeightsFile } = await import("../../lib/model/weights_import.ts");
    const back = await netFromWeightsFile(path);
    try {
      assert.equal(back.config.variant, "plain");
      assert.equal(back.config.width, 64);
      const again = tf.tidy(() =>
        back.net.apply(tf.randomNormal([n, s, s, 3], 0, 1, "float32", 17) as tf.Tensor4D, { training: false })
          .tarLogits
      );
      const got = Array.from(await again.data());
      again.dispose();
      assert.deepEqual(got, want);
    } finally {
      back.net.dispose();
    }
  } finally {
    net.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/backend.ts";
import { AdaDfNet, type AdaDfOutputs } from "../../lib/model/adadf_net.ts";
import { readWeightsFile, type TorchTensor, WeightsError } from "../../lib/model/torch_file.ts";
import {
  findStateDict,
  inferModelConfig,
  loadPretrainedInto,
  netFromWeightsFile,
} from "../../lib/model/weights_import.ts";
import {
  encodeTypedSafetensors,
  exportOfficialSafetensors,
  officialStateDict,
} from "../../lib/model/weights_export.ts";
import { decodeNpy } from "../../lib/util/files.ts";
import { encodeSafetensors } from "../../lib/model/safetensors.ts";

await initBackend("cpu");

// Fixtures: tools/golden/make_weights_fixtures.py (PyTorch 1.13, width 4, 7 classes, 32x32)
const FIX = new URL("../fixtures/weights/", import.meta.url).pathname;
const parity = JSON.parse(readFileSync(join(FIX, "parity.json"), "utf8"));
const CKPT = join(FIX, "adadf_checkpoint.pth.tar");
const RESNET = join(FIX, "resnet18_msceleb_style.pth");

/** parity_input.npy [N, 3, H, W] (PyTorch layout) -> [N, H, W, 3]. */
function parityInput(): tf.Tensor4D {
  const { data, shape } = decodeNpy(readFileSync(join(FIX, "parity_input.npy")));
  return tf.tidy(() => tf.transpose(tf.tensor4d(data, shape as [number, number, number, number]), [0, 2, 3, 1]));
}

/** Largest |got - want| / max(|want|, 1e-2 * max|want|): relative, with a floor for entries near zero. */
function maxRelError(got: ArrayLike<number>, want: number[]): number {
  assert.equal(got.length, want.length);
  const scale = Math.max(...want.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(Math.abs(want[i]), 1e-2 * scale));
  }
  return worst;
}

function assertOneLine(e: unknown, pattern: RegExp): true {
  assert.ok(e instanceof WeightsError, `a WeightsError, got ${e}`);
  assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
  assert.match(e.message, pattern);
  return true;
}

Deno.test("loadPretrainedInto() an official checkpoint: logits and attention equal PyTorch's (eval) within 1e-4 relative", async () => {
  tf.disposeVariables(); // variables are named: a failed test must not block the next
  const net = new AdaDfNet({ width: 4, numClasses: 7 }, { seed: 5 });
  const x = parityInput();
  const before = tf.memory().numTensors;
  const r = await loadPretrainedInto(net, CKPT);
  assert.equal(r.kind, "adadf");
  assert.equal(r.loaded.length, net.params.size);
  assert.deepEqual(r.skipped, []);
  const out = tf.tidy(() =>
    net.apply(x, { training: false }) as unknown as tf.NamedTensorMap
  ) as unknown as AdaDfOutputs;
  const errors = {
    auxLogits: maxRelError(out.auxLogits.dataSync(), parity.adadf.auxLogits),
    tarLogits: maxRelError(out.tarLogits.dataSync(), parity.adadf.tarLogits),
    wAux: maxRelError(out.wAux.dataSync(), parity.adadf.wAux),
    wTar: maxRelError(out.wTar.dataSync(), parity.adadf.wTar),
  };
  const avg = tf.tidy(() => tf.div(tf.add(out.wAux, out.wTar), 2));
  const errAvg = maxRelError(avg.dataSync(), parity.adadf.attention);
  tf.dispose([...Object.values(out), avg]);
  assert.equal(tf.memory().numTensors, before);
  for (const [k, e] of Object.entries({ ...errors, attention: errAvg })) assert.ok(e < 1e-4, `${k}: ${e}`);
  // the class distributions travel with the checkpoint
  assert.equal(r.classDistributions!.length, 7);
  assert.ok(maxRelError(r.classDistributions!.flat(), parity.adadf.classDistributions.flat()) < 1e-6);
  x.dispose();
  net.dispose();
});

Deno.test("loadPretrainedInto() a ResNet-18 state_dict: stem and both branches, fc of another class count skipped", async () => {
  tf.disposeVariables(); // variables are named: a failed test must not block the next
  const net = new AdaDfNet({ width: 4, numClasses: 7 }, { seed: 5 });
  const x = parityInput();
  const fcBefore = net.params.get("branch_1.fc.weight")!.dataSync().slice();
  const alphaBefore = net.params.get("alpha_2.weight")!.dataSync().slice();
  const notices: string[] = [];
  const r = await loadPretrainedInto(net, RESNET, { onNotice: (m) => notices.push(m) });
  assert.equal(r.kind, "resnet");
  assert.deepEqual(r.skipped, ["fc.weight", "fc.bias"]);
  assert.ok(
    notices.some((m) => /fc has 10 classes, the model 7: skipped \(fc.weight, fc.bias\)/.test(m)),
  );
  assert.deepEqual(net.params.get("branch_1.fc.weight")!.dataSync(), fcBefore);
  assert.deepEqual(net.params.get("alpha_2.weight")!.dataSync(), alphaBefore);
  assert.ok(!r.loaded.some((k) => k.startsWith("alpha_") || k.includes(".fc.")));
  // the deep copy: branch 2 starts equal to branch 1
  for (const k of r.loaded.filter((k) => k.startsWith("branch_1."))) {
    assert.deepEqual(net.params.get(k.replace("branch_1.", "branch_2."))!.dataSync(), net.params.get(k)!.dataSync(), k);
  }
  const out = tf.tidy(() =>
    net.apply(x, { training: false }) as unknown as tf.NamedTensorMap
  ) as unknown as AdaDfOutputs;
  assert.ok(maxRelError(out.auxFeatures.dataSync(), parity.resnet.features) < 1e-4);
  assert.ok(maxRelError(out.tarFeatures.dataSync(), parity.resnet.features) < 1e-4);
  tf.dispose([...Object.values(out), x]);
  net.dispose();
});

Deno.test("loadPretrainedInto() a module.-prefixed float16 legacy file gives the float32 file's weights rounded to half", async () => {
  tf.disposeVariables(); // variables are named: a failed test must not block the next
  const a = new AdaDfNet({ width: 4, numClasses: 7 }, { seed: 1 });
  const ra = await loadPretrainedInto(a, RESNET);
  const va = await a.toArrays();
  a.dispose();
  const b = new AdaDfNet({ width: 4, numClasses: 7 }, { seed: 1 });
  const rb = await loadPretrainedInto(b, join(FIX, "resnet18_module_legacy_f16.pth"));
  const vb = await b.toArrays();
  b.dispose();
  assert.deepEqual(rb.loaded, ra.loaded);
  for (const k of ra.loaded) {
    const [p, q] = [va[k].data, vb[k].data];
    for (let i = 0; i < p.length; i++) assert.ok(Math.abs(p[i] - q[i]) <= 1e-3 * Math.max(1, Math.abs(p[i])), k);
  }
});

Deno.test("loadPretrainedInto() ResNet-50 weights into a ResNet-50 model load; into a ResNet-18 model they are one clear error", async () => {
  tf.disposeVariables(); // variables are named: a failed test must not block the next
  const r50 = new AdaDfNet({ backbone: "resnet50", width: 2, numClasses: 7 });
  const r = await loadPretrainedInto(r50, join(FIX, "resnet50_w2.pth"));
  assert.equal(r.kind, "resnet");
  assert.deepEqual(r.skipped, ["fc.weight", "fc.bias"]);
  r50.dispose();
  const r18 = new AdaDfNet({ width: 2, numClasses: 7 });
  await assert.rejects(
    () => loadPretrainedInto(r18, join(FIX, "resnet50_w2.pth")),
    (e) =>
      assertOneLine(
        e,
        /^weights: \S+: key 'layer1\.0\.conv1\.weight' has shape \[2,2,1,1\] in the file, the model expects \[2,2,3,3\] \(ResNet-50 weights for a ResNet-18 model\?\)$/,
      ),
  );
  r18.dispose();
});

Deno.test("loadPretrainedInto() a checkpoint of another width names the first key with both shapes and changes nothing", async () => {
  tf.disposeVariables(); // variables are named: a failed test must not block the next
  const net = new AdaDfNet({ width: 8, numClasses: 7 });
  const before = net.params.get("feature.conv1.weight")!.dataSync().slice();
  await assert.rejects(
    () => loadPretrainedInto(net, CKPT),
    (e) =>
      assertOneLine(
        e,
        /^weights: \S+: key 'feature\.0\.weight' has shape \[4,3,7,7\] in the file, the model expects \[8,3,7,7\]$/,
      ),
  );
  assert.deepEqual(net.params.get("feature.conv1.weight")!.dataSync(), before);
  net.dispose();
});

Deno.test("loadPretrainedInto() names a missing key, a mis-shaped key and an unexpected key", async () => {
  tf.disposeVariables(); // variables are named: a failed test must not block the next
  const src = new AdaDfNet({ width: 4, numClasses: 7 });
  const sd = await officialStateDict(src);
  src.dispose();
  const dir = await Deno.makeTempDir();
  const write = async (name: string, dict: typeof sd) => {
    const p = join(dir, name);
    await Deno.writeFile(p, encodeTypedSafetensors(dict));
    return p;
  };
  try {
    const net = new AdaDfNet({ width: 4, numClasses: 7 });
    // a key and its alias both gone
    const noKey = { ...sd };
    delete noKey["branch_2.1.0.bn1.running_var"];
    delete noKey["branch_2_feature.1.0.bn1.running_var"];
    await assert.rejects(
      async () => loadPretrainedInto(net, await write("missing.safetensors", noKey)),
      (e) =>
        assertOneLine(
          e,
          /^weights: \S+: key 'branch_2\.1\.0\.bn1\.running_var' is missing from the file \(the model expects \[16\]\)$/,
        ),
    );
    // an alias alone is enough
    const aliasOnly = { ...sd };
    delete aliasOnly["branch_1.4.weight"];
    assert.equal((await loadPretrainedInto(net, await write("alias.safetensors", aliasOnly))).kind, "adadf");
    const badShape = {
      ...sd,
      "alpha_1.0.weight": { dtype: "F32" as const, shape: [2, 16], data: new Float32Array(32) },
    };
    await assert.rejects(
      async () => loadPretrainedInto(net, await write("shape.safetensors", badShape)),
      (e) =>
        assertOneLine(
          e,
          /^weights: \S+: key 'alpha_1\.0\.weight' has shape \[2,16\] in the file, the model expects \[1,32\]$/,
        ),
    );
    const extra = { ...sd, "alpha_3.0.weight": { dtype: "F32" as const, shape: [1], data: new Float32Array(1) } };
    await assert.rejects(
      async () => loadPretrainedInto(net, await write("extra.safetensors", extra)),
      (e) =>
        assertOneLine(
          e,
          /^weights: \S+: key 'alpha_3\.0\.weight' \(shape \[1\]\) in the file has no place in the model$/,
        ),
    );
    const junk = { "encoder.weight": { dtype: "F32" as const, shape: [1], data: new Float32Array(1) } };
    await assert.rejects(
      async () => loadPretrainedInto(net, await write("junk.safetensors", junk)),
      (e) => assertOneLine(e, /is not a ResNet or Ada-DF state_dict \(its keys start 'encoder\.weight'\)$/),
    );
    net.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inferModelConfig() reads backbone, width and classes from each kind of file", async () => {
  tf.disposeVariables(); // variables are named: a failed test must not block the next
  const ck = await readWeightsFile(CKPT);
  assert.deepEqual(inferModelConfig(findStateDict(ck)), { backbone: "resnet18", width: 4, numClasses: 7 });
  const rn = await readWeightsFile(RESNET);
  // a plain ResNet file is a plain network when it is used as a model of its own
  assert.deepEqual(inferModelConfig(findStateDict(rn)), {
    backbone: "resnet18",
    width: 4,
    numClasses: 10,
    variant: "plain",
  });
  const r50 = await readWeightsFile(join(FIX, "resnet50_w2.pth"));
  assert.deepEqual(inferModelConfig(findStateDict(r50)), {
    backbone: "resnet50",
    width: 2,
    numClasses: 1000,
    variant: "plain",
  });
});

Deno.test("loadPretrainedInto() a DataParallel ('module.') official state_dict and the toolkit's own run-folder weights", async () => {
  tf.disposeVariables();
  const dir = await Deno.makeTempDir();
  try {
    const src = new AdaDfNet({ width: 4, numClasses: 7 }, { seed: 11 });
    const sd = await officialStateDict(src);
    const native = await src.toArrays();
    src.dispose();
    const prefixed = Object.fromEntries(Object.entries(sd).map(([k, v]) => [`module.${k}`, v]));
    const p1 = join(dir, "dp.safetensors");
    await Deno.writeFile(p1, encodeTypedSafetensors(prefixed));
    const p2 = join(dir, "weights_last.safetensors");
    await Deno.writeFile(
      p2,
      encodeSafetensors(native, { format: "ada-df-ts", config: JSON.stringify({ backbone: "resnet18", width: 4 }) }),
    );
    const net = new AdaDfNet({ width: 4, numClasses: 7 }, { seed: 12 });
    try {
      assert.equal((await loadPretrainedInto(net, p1)).kind, "adadf");
      const a = await net.toArrays();
      for (const k of Object.keys(native)) assert.deepEqual(a[k].data, native[k].data, k);
      const r = await loadPretrainedInto(net, p2);
      assert.equal(r.kind, "native");
      assert.equal(r.loaded.length, net.params.size);
    } finally {
      net.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("netFromWeightsFile() builds the architecture a file needs; a plain ResNet file without a 7/8-class fc is refused for inference", async () => {
  tf.disposeVariables();
  const m = await netFromWeightsFile(CKPT);
  try {
    assert.deepEqual(m.config, {
      backbone: "resnet18",
      width: 4,
      numClasses: 7,
      attentionOn: "logits",
      variant: "adadf",
    });
    assert.equal(m.result.kind, "adadf");
    assert.equal(m.result.classDistributions!.length, 7);
  } finally {
    m.net.dispose();
  }
  const dir = await Deno.makeTempDir();
  try {
    const net = new AdaDfNet({ width: 4, numClasses: 7, attentionOn: "features" });
    const path = join(dir, "paper.safetensors");
    await exportOfficialSafetensors(net, path, { classes: ["a", "b", "c", "d", "e", "f", "g"] });
    net.dispose();
    const back = await netFromWeightsFile(path);
    assert.equal(back.config.attentionOn, "features");
    assert.deepEqual(back.sidecar!.classes, ["a", "b", "c", "d", "e", "f", "g"]);
    back.net.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(
    () => netFromWeightsFile(RESNET),
    (e) =>
      assertOneLine(
        e,
        /plain ResNet state_dict without a 7- or 8-class fc \(its fc has 10 outputs\); use it with train --pretrained$/,
      ),
  );
});

Deno.test("loadPretrainedInto() a checkpoint saved from a CUDA GPU by PyTorch 2.11 loads on the CPU and gives the GPU's outputs", async () => {
  // cuda_saved_torch2.pth: {state_dict, view, half, class_distributions} saved from an H200 (every storage
  // tagged cuda:0, the newer zip layout with .format_version and .storage_alignment); cuda_output.json: the
  // official model's outputs computed on that GPU (tools/golden/make_weights_fixtures.py's model, seed 7)
  tf.disposeVariables();
  const file = await readWeightsFile(join(FIX, "cuda_saved_torch2.pth"));
  const root = file.root as Record<string, TorchTensor>;
  assert.deepEqual(root.view.shape, [6, 4]);
  assert.deepEqual(Array.from(root.view.data.subarray(0, 4)), [0, 6, 12, 18]);
  assert.equal(root.half.dtype, "float16");
  assert.deepEqual(Array.from(root.half.data), [3, 4, 5, 6, 7, 8]);
  const want = JSON.parse(readFileSync(join(FIX, "cuda_output.json"), "utf8"));
  const { data, shape } = decodeNpy(readFileSync(join(FIX, "cuda_input.npy")));
  const net = new AdaDfNet({ width: 4, numClasses: 7 });
  try {
    const r = await loadPretrainedInto(net, file);
    assert.equal(r.kind, "adadf");
    assert.equal(r.loaded.length, net.params.size);
    const out = tf.tidy(() => {
      const x = tf.transpose(tf.tensor4d(data, shape as [number, number, number, number]), [0, 2, 3, 1]);
      const o = net.apply(x as tf.Tensor4D, { training: false });
      return [o.auxLogits, o.tarLogits, o.wAux, o.wTar];
    });
    const [aux, tar, w1, w2] = out.map((t) => Array.from(t.dataSync()));
    tf.dispose(out);
    assert.ok(maxRelError(aux, want.aux) < 1e-4);
    assert.ok(maxRelError(tar, want.tar) < 1e-4);
    assert.ok(maxRelError(w1, want.w1) < 1e-4);
    assert.ok(maxRelError(w2, want.w2) < 1e-4);
  } finally {
    net.dispose();
  }
});

import assert from "node:assert/strict";
import { zipSync } from "fflate";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  isTorchTensor,
  readSafetensorsAny,
  readTorchFile,
  readWeightsFile,
  type TorchTensor,
  WeightsError,
} from "../../lib/model/torch_file.ts";
import { encodeTypedSafetensors } from "../../lib/model/weights_export.ts";

// Fixtures: tools/golden/make_weights_fixtures.py (PyTorch 1.13)
const FIX = new URL("../fixtures/weights/", import.meta.url).pathname;
const read = (name: string) => readFileSync(join(FIX, name));
const expected = JSON.parse(new TextDecoder().decode(read("torch_features.json"))) as Record<
  string,
  { dtype: string; shape: number[]; values: number[] }
>;

function assertTensorsAsSaved(root: Record<string, unknown>) {
  for (const [key, want] of Object.entries(expected)) {
    const t = root[key] as TorchTensor;
    assert.ok(isTorchTensor(t), `${key} is a tensor`);
    assert.equal(t.dtype, want.dtype, key);
    assert.deepEqual(t.shape, want.shape, key);
    assert.equal(t.data.length, want.values.length, key);
    t.data.forEach((v, i) =>
      assert.ok(Math.abs(v - want.values[i]) <= 1e-6 * Math.max(1, Math.abs(want.values[i])), `${key}[${i}]`)
    );
  }
}

Deno.test("readTorchFile() reads the zip format: float32, float16, int64, bool, scalars, views with offsets and strides", () => {
  const root = readTorchFile(read("torch_features.pth")) as Record<string, unknown>;
  assertTensorsAsSaved(root);
  // transposed is base.view(4, 6).t(): element [j][i] = base[6 i + j]
  const t = root.transposed as TorchTensor;
  assert.equal(t.data[1], -3 + 6 * 0.5); // [0][1] = base[6]
});

Deno.test("readTorchFile() reads the legacy pre-1.6 format to the same values", () => {
  const root = readTorchFile(read("torch_features_legacy.pth")) as Record<string, unknown>;
  assertTensorsAsSaved(root);
});

Deno.test("readTorchFile() keeps a storage shared by several keys shared, and views name their storage", () => {
  for (const f of ["torch_features.pth", "torch_features_legacy.pth"]) {
    const root = readTorchFile(read(f)) as Record<string, TorchTensor>;
    assert.equal(root.shared_a.storage, root.shared_b.storage, f);
    assert.equal(root.offset_view.storage, root.transposed.storage, f);
    assert.notEqual(root.f32.storage, root.shared_a.storage, f);
  }
});

Deno.test("readTorchFile() reads lists, tuples, None, booleans, strings and integers beyond 2^53", () => {
  const root = readTorchFile(read("torch_features.pth")) as Record<string, unknown>;
  const nested = root.nested as { list: unknown[]; tuple: unknown[] };
  assert.deepEqual(nested.list, [1, 2.5, "three", null, true]);
  assert.ok(isTorchTensor(nested.tuple[0]));
  assert.equal(nested.tuple[1], -1);
  assert.equal(root.big_int, 2n ** 62n);
});

Deno.test("readTorchFile() loads a checkpoint saved with cuda:0 storages on the CPU, aliases sharing storage", () => {
  const root = readTorchFile(read("adadf_checkpoint.pth.tar")) as Record<string, unknown>;
  assert.equal(root.epoch, 3);
  assert.equal(root.best_acc, 63.5);
  const sd = root.state_dict as Record<string, TorchTensor>;
  const a = sd["branch_1.0.0.conv1.weight"];
  const b = sd["branch_1_feature.0.0.conv1.weight"];
  assert.deepEqual(a.shape, [8, 4, 3, 3]);
  assert.equal(a.storage, b.storage);
  assert.deepEqual(a.data, b.data);
  assert.equal(sd["feature.1.num_batches_tracked"].data[0], 1234);
  const opt = root.optimizer as { state: Record<string, { exp_avg: TorchTensor }>; param_groups: unknown[] };
  assert.ok(Object.keys(opt.state).length > 0 && isTorchTensor(Object.values(opt.state)[0].exp_avg));
  assert.deepEqual((root.class_distributions as TorchTensor).shape, [7, 7]);
});

function assertOneLineWeightsError(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof WeightsError, `a WeightsError, got ${e}`);
    assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("readTorchFile() rejects a file that is not a checkpoint with one line", () => {
  assertOneLineWeightsError(
    () => readTorchFile(new TextEncoder().encode("hello, this is a text file\n")),
    /not a PyTorch checkpoint/,
  );
  assertOneLineWeightsError(() => readTorchFile(new Uint8Array(0)), /not a PyTorch checkpoint/);
});

Deno.test("readTorchFile() names the pre-0.4 tar format, a zip without data.pkl and a truncated file", () => {
  const tar = new Uint8Array(1024);
  tar.set(new TextEncoder().encode("ustar"), 257);
  assertOneLineWeightsError(() => readTorchFile(tar), /tar format of torch\.save before PyTorch 0\.4/);
  const zip = zipSync({ "model/constants.pkl": new Uint8Array([0x80, 2, 0x4e, 0x2e]) });
  assertOneLineWeightsError(() => readTorchFile(zip), /without data\.pkl \(a TorchScript archive\?\)/);
  const whole = read("torch_features.pth");
  assertOneLineWeightsError(() => readTorchFile(whole.subarray(0, whole.length - 200)), /zip file that cannot be read/);
  const legacy = read("torch_features_legacy.pth");
  assertOneLineWeightsError(() => readTorchFile(legacy.subarray(0, legacy.length - 10)), /truncated/);
  assertOneLineWeightsError(() => readTorchFile(legacy.subarray(0, 120)), /broken checkpoint|truncated/);
});

Deno.test("readSafetensorsAny() reads F32 and I64 tensors and rejects a truncated file", () => {
  const bytes = encodeTypedSafetensors({
    w: { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
    n: { dtype: "I64", shape: [], data: new BigInt64Array([7n]) },
  }, { k: "v" });
  const { tensors, metadata } = readSafetensorsAny(bytes);
  assert.deepEqual(Array.from(tensors.w.data), [1, 2, 3, 4]);
  assert.deepEqual(tensors.n.shape, []);
  assert.equal(tensors.n.data[0], 7);
  assert.equal(metadata.k, "v");
  assertOneLineWeightsError(() => readSafetensorsAny(bytes.subarray(0, bytes.length - 4)), /does not fit the file/);
});

Deno.test("readWeightsFile() recognises the format by content and names the path in its errors", async () => {
  assert.equal((await readWeightsFile(join(FIX, "adadf_checkpoint.pth.tar"))).format, "torch-zip");
  assert.equal((await readWeightsFile(join(FIX, "resnet18_module_legacy_f16.pth"))).format, "torch-legacy");
  const dir = await Deno.makeTempDir();
  try {
    const st = join(dir, "w.bin");
    await Deno.writeFile(st, encodeTypedSafetensors({ a: { dtype: "F32", shape: [1], data: new Float32Array([1]) } }));
    assert.equal((await readWeightsFile(st)).format, "safetensors");
    const bad = join(dir, "notes.pth");
    await Deno.writeTextFile(bad, "not weights");
    await assert.rejects(() => readWeightsFile(bad), (e: Error) => {
      assert.ok(e instanceof WeightsError);
      assert.match(e.message, new RegExp(`^weights: ${bad}: not a PyTorch checkpoint`));
      return true;
    });
    await assert.rejects(() => readWeightsFile(join(dir, "missing.pth")), /weights: cannot read/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

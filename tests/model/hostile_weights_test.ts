/**
 * Hostile and clumsy weight files (issue 13, items 1, 2 and 8), each made here, small: every
 * one is refused (or read) in time linear in its size, with one WeightsError line naming the
 * file, before any large allocation and before any network is built.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { zipSync } from "fflate";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/backend.ts";
import { AdaDfNet, type ModelConfig } from "../../lib/model/adadf_net.ts";
import { expectedParams } from "../../lib/model/_arch_check.ts";
import { readSafetensorsAny, readTorchFile, readWeightsFile, WeightsError } from "../../lib/model/torch_file.ts";
import { decodeSafetensors, encodeSafetensors } from "../../lib/model/safetensors.ts";
import { findStateDict, netFromWeightsFile } from "../../lib/model/weights_import.ts";
import { encodeNpy } from "../../lib/util/files.ts";
import { cat, catAll, ints, makeZip, oneTensor, pk, torchZip } from "./_hostile.ts";

await initBackend("cpu");

const dir = Deno.makeTempDirSync({ prefix: "hostile-weights-" });
const write = (name: string, bytes: Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

/** Expects one WeightsError line matching `re` (and naming `path` when given) within `ms`. */
async function refused(fn: () => unknown, re: RegExp, options: { path?: string; ms?: number } = {}) {
  const t0 = performance.now();
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t0;
  assert.ok(err instanceof WeightsError, `expected a WeightsError, got ${err}`);
  const msg = (err as Error).message;
  assert.ok(!msg.includes("\n"), `one line: ${msg}`);
  assert.match(msg, re);
  if (options.path) assert.ok(msg.includes(options.path), `names the file: ${msg}`);
  assert.ok(!/Maximum call stack|Invalid typed array|allocation failed|is not a function|not iterable/.test(msg), msg);
  assert.ok(ms < (options.ms ?? 5000), `refused in ${ms.toFixed(0)} ms`);
}

Deno.test("readWeightsFile() refuses a 10 MB LONG4 integer in a deflated zip at once (it hung before)", async () => {
  const pkl = cat(
    [0x80, 0x02, 0x8b],
    new Uint8Array(new Uint32Array([1e7]).buffer),
    new Uint8Array(1e7).fill(0x7f),
    ".",
  );
  const path = write("long4.pth", zipSync({ "archive/data.pkl": [pkl, { level: 6 }] }));
  await refused(() => readWeightsFile(path), /an integer of 10000000 bytes; at most 1024/, { path });
});

Deno.test("readTorchFile() reads 300k APPENDS, a 1 MB BINSTRING and a 200k-deep list linearly; findStateDict() refuses them in one line", async () => {
  const appends = pk.pickle(cat("](", new Uint8Array(300_000 * 2).map((_, i) => (i % 2 ? 1 : 0x4b)), "e"));
  const binstring = pk.pickle(
    cat([0x54], new Uint8Array(new Uint32Array([1 << 20]).buffer), new Uint8Array(1 << 20).fill(0xe9)),
  );
  const deep = pk.pickle(cat(new Uint8Array(200_000).fill(0x5d), new Uint8Array(199_999).fill(0x61)));
  const t0 = performance.now();
  assert.equal((readTorchFile(torchZip(appends)) as unknown[]).length, 300_000);
  assert.equal((readTorchFile(torchZip(binstring)) as string).length, 1 << 20);
  assert.ok(Array.isArray(readTorchFile(torchZip(deep))));
  assert.ok(performance.now() - t0 < 3000);
  for (const [name, pkl] of [["appends", appends], ["binstring", binstring], ["deep", deep]] as const) {
    const path = write(`${name}.pth`, torchZip(pkl));
    await refused(async () => findStateDict(await readWeightsFile(path)), /holds no dict of tensors/, { path });
  }
  // a deep list as a storage's persistent id: described, never stringified
  const deepPid = pk.pickle(cat(new Uint8Array(100_000).fill(0x5d), new Uint8Array(99_999).fill(0x61), "Q"));
  await refused(() => readTorchFile(torchZip(deepPid)), /unknown persistent id in the pickle \(a tuple of 1\)/);
});

Deno.test("readTorchFile() refuses a pickle that re-uses one memo entry to multiply its work", () => {
  // memo a 200k-item list, then ask builtins.list() and _codecs.encode() of it over and over
  const big = cat("](", new Uint8Array(200_000 * 2).map((_, i) => (i % 2 ? 1 : 0x4b)), "eq\x00", "0");
  const copies: Uint8Array[] = new Array(50_000).fill(
    cat(pk.global("builtins", "list"), Uint8Array.of(0x68, 0, 0x85, 0x52, 0x30)),
  );
  const t0 = performance.now();
  const v = readTorchFile(torchZip(pk.pickle(cat(big, catAll(copies), "N")))); // builtins.list(x) is x: no copies
  assert.equal(v, null);
  const text = cat(
    "X",
    new Uint8Array(new Uint32Array([1 << 20]).buffer),
    new Uint8Array(1 << 20).fill(0x41),
    "q\x01",
    "0",
  );
  const encodes: Uint8Array[] = new Array(5000).fill(
    cat(pk.global("_codecs", "encode"), "h\x01", pk.str("latin1"), Uint8Array.of(0x86, 0x52, 0x30)),
  );
  assert.throws(
    () => readTorchFile(torchZip(pk.pickle(cat(text, catAll(encodes), "N")))),
    /more work than its size allows/,
  );
  // copying the list each time would be 50k x 200k = 10^10 element copies: minutes
  assert.ok(performance.now() - t0 < 6000, `${performance.now() - t0} ms`);
});

Deno.test("netFromWeightsFile() refuses a 155-byte safetensors that claims width 256 before building anything", async () => {
  const config = JSON.stringify({ backbone: "resnet18", width: 256, numClasses: 7, attentionOn: "logits" });
  const bytes = encodeSafetensors({}, { format: "ada-df-ts", config });
  const path = write("meta_only.safetensors", bytes);
  const before = tf.memory().numTensors;
  await refused(() => netFromWeightsFile(path), /key 'feature\.conv1\.weight' is missing/, { path, ms: 3000 });
  assert.equal(tf.memory().numTensors, before);
  const huge = encodeSafetensors({}, { format: "ada-df-ts", config: config.replace("256", "20000") });
  await refused(
    () => netFromWeightsFile(write("huge.safetensors", huge)),
    /width .* is 20000; expected an integer in 2\.\.256/,
  );
  await refused(
    () => netFromWeightsFile(write("badjson.safetensors", encodeSafetensors({}, { format: "ada-df-ts", config: "{" }))),
    /metadata 'config' is not JSON/,
  );
});

Deno.test("netFromWeightsFile() refuses an expanded width-20000 conv (stride 0) without materialising or building it", async () => {
  // torch.ones(1).expand(20000, 3, 7, 7) saved as feature.0.weight: one float of storage
  const pkl = oneTensor("feature.0.weight", 1, {
    offset: pk.int(0),
    size: ints(20000, 3, 7, 7),
    stride: ints(0, 0, 0, 0),
  });
  const path = write("expand.pth", torchZip(pkl, { "0": Float32Array.of(1) }));
  assert.ok(Deno.statSync(path).size < 1000);
  const before = tf.memory().numTensors;
  await refused(
    () => netFromWeightsFile(path),
    /width \(conv1's channels\) is 20000; expected an integer in 2\.\.256/,
    { path, ms: 3000 },
  );
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("readTorchFile() refuses a stride-0 view of 200M elements (an 808-byte file cost 847 MB) and reads small ones lazily", () => {
  const big = oneTensor("w", 1, { offset: pk.int(0), size: ints(2000, 1000, 100), stride: ints(0, 0, 0) });
  assert.throws(
    () => readTorchFile(torchZip(big, { "0": Float32Array.of(1) })),
    /view with 200000000 elements of a storage of 1 \(stride 0/,
  );
  const small = oneTensor("w", 1, { offset: pk.int(0), size: ints(2, 3), stride: ints(0, 0) });
  const t = (readTorchFile(torchZip(small, { "0": Float32Array.of(5) })) as Record<string, { data: Float32Array }>).w;
  assert.deepEqual([...t.data], [5, 5, 5, 5, 5, 5]);
});

Deno.test("readTorchFile() refuses negative, missing, fractional and mistyped offsets, sizes and strides (they gave NaN weights)", () => {
  const storage = { "0": new Float32Array(16).fill(1) };
  const cases: [string, Parameters<typeof oneTensor>[2], RegExp][] = [
    [
      "negative stride",
      { offset: pk.int(4), size: ints(2, 2), stride: ints(-2, 1) },
      /strides .*expected 2 integers >= 0/,
    ],
    [
      "fewer strides",
      { offset: pk.int(0), size: ints(2, 2, 2), stride: ints(4, 1) },
      /strides .*expected 3 integers >= 0/,
    ],
    [
      "fractional offset",
      { offset: pk.float(1.5), size: ints(2), stride: ints(1) },
      /offset 1\.5; expected an integer >= 0/,
    ],
    ["negative offset", { offset: pk.int(-3), size: ints(2), stride: ints(1) }, /offset -3/],
    [
      "string size",
      { offset: pk.int(0), size: pk.str("abc"), stride: ints(1) },
      /size "abc"; expected a tuple of integers/,
    ],
    [
      "fractional size",
      { offset: pk.int(0), size: pk.tuple(pk.float(2.5)), stride: ints(1) },
      /size a tuple of 1; expected a tuple/,
    ],
    [
      "past the storage",
      { offset: pk.int(10), size: ints(4, 4), stride: ints(4, 1) },
      /runs past its storage '0' of 16 elements/,
    ],
  ];
  for (const [what, view, re] of cases) {
    assert.throws(() => readTorchFile(torchZip(oneTensor("w", 16, view), storage)), (e: Error) => {
      assert.ok(e instanceof WeightsError, what);
      assert.match(e.message, re, what);
      return true;
    });
  }
});

Deno.test("readTorchFile() inflates only the entries used, each within its declared and its actual size", () => {
  const pkl = oneTensor("w", 4, { offset: pk.int(0), size: ints(4), stride: ints(1) });
  const data = new Uint8Array(Float32Array.of(1, 2, 3, 4).buffer);
  // an unused entry that declares 4 GB and is not even deflate: never touched
  const unused = {
    name: "archive/data/unused",
    data: new Uint8Array(0),
    method: 8 as const,
    declaredSize: 0xfffffff0,
    raw: new Uint8Array(64).fill(0xff),
  };
  const ok = readTorchFile(
    makeZip([{ name: "archive/data.pkl", data: pkl, method: 8 }, { name: "archive/data/0", data, method: 8 }, unused]),
  );
  assert.deepEqual([...(ok as Record<string, { data: Float32Array }>).w.data], [1, 2, 3, 4]);
  // the same entry used: refused before allocating
  const used = (e: object) =>
    makeZip([{ name: "archive/data.pkl", data: pkl }, { name: "archive/data/0", data, ...e }]);
  const w = (bytes: Uint8Array) => (readTorchFile(bytes) as Record<string, { data: Float32Array }>).w.data;
  assert.throws(
    () => w(used({ method: 8, declaredSize: 0xfffffff0 })),
    /storage '0' holds 4294967280 bytes, the pickle declares 4 float32/,
  );
  const lying = oneTensor("w", 2 ** 30, { offset: pk.int(0), size: ints(4), stride: ints(1) });
  assert.throws(
    () =>
      (readTorchFile(
        makeZip([{ name: "archive/data.pkl", data: lying }, {
          name: "archive/data/0",
          data: new Uint8Array(1024),
          method: 8,
          declaredSize: 2 ** 32 - 16,
        }]),
      ) as Record<string, { data: Float32Array }>).w.data,
    /holds 4294967280 bytes|above the limit|more than its .* deflated bytes/,
  );
  // declared smaller than what it inflates to: stopped there
  const zeros = new Uint8Array(1 << 20);
  const liar = makeZip([{
    name: "archive/data.pkl",
    data: oneTensor("w", 4, { offset: pk.int(0), size: ints(4), stride: ints(1) }),
  }, { name: "archive/data/0", data: zeros, method: 8, declaredSize: 16 }]);
  assert.throws(
    () => (readTorchFile(liar) as Record<string, { data: Float32Array }>).w.data,
    /inflates to more than its declared 16 bytes/,
  );
  // a deflated data.pkl that declares more than deflate can give
  assert.throws(
    () => readTorchFile(makeZip([{ name: "archive/data.pkl", data: pkl, method: 8, declaredSize: 1 << 27 }])),
    /more than its \d+ deflated bytes can hold/,
  );
});

Deno.test("readSafetensorsAny() and decodeSafetensors() refuse negative, overlapping and fractional offsets and non-array shapes", () => {
  const header = (h: object) => {
    const json = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(8 + json.length + 64);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  const cases: [object, RegExp][] = [
    [{ a: { dtype: "F32", shape: [2], data_offsets: [-8, 0] } }, /data_offsets \[-8,0\]/],
    [{ a: { dtype: "F32", shape: [2], data_offsets: [0.5, 8.5] } }, /data_offsets \[0\.5,8\.5\]/],
    [{ a: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }, /data_offsets \[8,0\]/],
    [
      {
        a: { dtype: "F32", shape: [4], data_offsets: [0, 16] },
        b: { dtype: "F32", shape: [4], data_offsets: [8, 24] },
      },
      /'a' and 'b' overlap/,
    ],
    [{ a: { dtype: "F32", shape: 2, data_offsets: [0, 8] } }, /shape 2; expected an array of integers >= 0/],
    [{ a: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, /shape \[-2\]/],
    [
      { a: { dtype: "F32", shape: [1e6], data_offsets: [0, 8] } },
      /has 8 bytes, its shape \[1000000\] of F32 needs 4000000/,
    ],
    [{ a: "junk" }, /'a' is not an object/],
    [{ __metadata__: { width: 256 } }, /__metadata__ 'width' is not a string/],
    [[1, 2], /not a (JSON object|safetensors file)/],
  ];
  for (const [h, re] of cases) {
    assert.throws(
      () => readSafetensorsAny(header(h)),
      (e: Error) => e instanceof WeightsError && re.test(e.message),
      JSON.stringify(h),
    );
    assert.throws(() => decodeSafetensors(header(h)), re, JSON.stringify(h));
  }
});

Deno.test("readWeightsFile() refuses /dev/zero, a FIFO and a folder at once, in one line naming the path", async () => {
  await refused(
    () => readWeightsFile("/dev/zero"),
    /cannot read \/dev\/zero: weights file is a device; expected a regular file/,
    { path: "/dev/zero" },
  );
  await refused(() => readWeightsFile(dir), /is a folder/, { path: dir });
  const fifo = join(dir, "fifo.pth");
  const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  if (mk.success) {
    await refused(() => readWeightsFile(fifo), /is a FIFO \(named pipe\); expected a regular file/, { path: fifo });
  }
});

Deno.test("expectedParams() gives AdaDfNet's parameter names and shapes without building it", () => {
  for (const backbone of ["resnet18", "resnet50"] as const) {
    for (const variant of ["adadf", "plain"] as const) {
      const config: ModelConfig = { backbone, width: 2, numClasses: 7, attentionOn: "logits", variant };
      const net = new AdaDfNet(config);
      const got = [...expectedParams(config)].map(([k, v]) => `${k}:${v.shape}`).sort();
      const want = [...net.params].map(([k, v]) => `${k}:${v.shape}`).sort();
      net.dispose();
      assert.deepEqual(got, want, `${backbone} ${variant}`);
    }
  }
});

Deno.test("deno task predict --weights with a hostile checkpoint: one error: line naming the file, exit 2", async () => {
  const pkl = cat(
    [0x80, 0x02, 0x8b],
    new Uint8Array(new Uint32Array([1e7]).buffer),
    new Uint8Array(1e7).fill(0x7f),
    ".",
  );
  const weights = write("cli_long4.pth", zipSync({ "archive/data.pkl": [pkl, { level: 6 }] }));
  const npy = write("x.npy", encodeNpy(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]));
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../tasks/predict.ts", import.meta.url).pathname,
      "--weights",
      weights,
      "--npy",
      npy,
    ],
    env: { XDG_RUNTIME_DIR: dir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr).trim().split("\n").filter((l) =>
    l.trim() !== "" && !/XDG_RUNTIME_DIR/.test(l)
  );
  assert.equal(out.code, 2, err.join("\n"));
  assert.equal(err.length, 1, err.join("\n"));
  assert.match(err[0], /^error: .*cli_long4\.pth/);
});

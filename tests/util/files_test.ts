import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeNpy, encodeNpy, writeFileAtomic } from "../../lib/util/files.ts";
import { decodeSafetensors, encodeSafetensors } from "../../lib/model/safetensors.ts";
import { Prng } from "../../lib/util/prng.ts";

Deno.test("encodeNpy()/decodeNpy() round-trip, also from a Node Buffer read off disk", async () => {
  const data = Float32Array.from({ length: 3 * 5 }, (_, i) => i * 0.5 - 2);
  const dir = await Deno.makeTempDir();
  writeFileAtomic(`${dir}/a.npy`, encodeNpy(data, [3, 5]));
  const back = decodeNpy(readFileSync(`${dir}/a.npy`)); // a Buffer: its slice() is a view into a pool
  assert.deepEqual(back.shape, [3, 5]);
  assert.deepEqual(back.data, data);
  // the header is NumPy's: magic, version 1.0, 64-byte aligned
  const bytes = encodeNpy(data, [15]);
  assert.equal(String.fromCharCode(...bytes.subarray(1, 6)), "NUMPY");
  assert.equal((10 + new DataView(bytes.buffer).getUint16(8, true)) % 64, 0);
  assert.throws(() => decodeNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])), /not a .npy file/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("encodeSafetensors()/decodeSafetensors() round-trip with metadata; truncation is detected", async () => {
  const prng = new Prng(1);
  const t = {
    "b.weight": { shape: [2, 3], data: Float32Array.from({ length: 6 }, () => prng.normal()) },
    "a.bias": { shape: [3], data: Float32Array.from([1, 2, 3]) },
  };
  const dir = await Deno.makeTempDir();
  writeFileAtomic(`${dir}/w.safetensors`, encodeSafetensors(t, { epoch: "3" }));
  const { tensors, metadata } = decodeSafetensors(readFileSync(`${dir}/w.safetensors`));
  assert.equal(metadata.epoch, "3");
  assert.deepEqual(tensors["b.weight"], t["b.weight"]);
  assert.deepEqual(tensors["a.bias"], t["a.bias"]);
  const bytes = encodeSafetensors(t);
  assert.equal(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 0, "header padded to 8 bytes");
  assert.throws(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4)), /truncated/);
  assert.throws(() => encodeSafetensors({ x: { shape: [2, 2], data: new Float32Array(3) } }), /needs 4/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic() leaves no temp file and replaces the old content whole", async () => {
  const dir = await Deno.makeTempDir();
  writeFileAtomic(`${dir}/f.json`, "old");
  writeFileAtomic(`${dir}/f.json`, "new");
  assert.equal(await Deno.readTextFile(`${dir}/f.json`), "new");
  assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["f.json"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic() that cannot write throws a clear error, keeps the old file and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  writeFileAtomic(`${dir}/keep.json`, "old");
  // a path whose parent is a file: the write fails before anything is renamed
  assert.throws(
    () => writeFileAtomic(`${dir}/keep.json/child`, "x"),
    /cannot write .*keep.json\/child|ENOTDIR|not a directory/,
  );
  assert.equal(await Deno.readTextFile(`${dir}/keep.json`), "old");
  assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["keep.json"]);
  await Deno.remove(dir, { recursive: true });
});

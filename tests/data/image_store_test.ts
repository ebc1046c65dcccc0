import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ImageDecodeError } from "../../lib/data/images.ts";
import { buildImageStore, DiskImageStore, MemoryImageStore } from "../../lib/data/image_store.ts";
import type { ImageSource } from "../../lib/data/readers/types.ts";

const S = 4;
const B = S * S * 3;

/** Sources whose "decoding" fills a face with its index; a path containing "bad" fails. */
function fakeSources(n: number, bad: number[] = []): ImageSource[] {
  return Array.from({ length: n }, (_, i) => ({ kind: "file", path: bad.includes(i) ? `bad${i}` : `ok${i}` }));
}

function countingDecoder() {
  const calls = { n: 0 };
  const decode = async (src: ImageSource, size: number) => {
    calls.n++;
    await new Promise((r) => setTimeout(r, (src.kind === "file" ? src.path.length : 0) % 3)); // out-of-order finishes
    if (src.kind === "file" && src.path.startsWith("bad")) throw new ImageDecodeError(src.path, "corrupt");
    const i = Number((src as { path: string }).path.replace(/\D/g, ""));
    return new Uint8Array(size * size * 3).fill(i);
  };
  return { calls, decode };
}

Deno.test("MemoryImageStore.get() returns [S, S, 3] views and checks the index", () => {
  const px = new Uint8Array(3 * B).map((_, i) => Math.floor(i / B));
  const store = new MemoryImageStore(px, S);
  assert.equal(store.count, 3);
  assert.ok(store.get(2).every((v) => v === 2));
  assert.equal(store.get(1).buffer, px.buffer);
  assert.throws(() => store.get(3), RangeError);
  assert.throws(() => new MemoryImageStore(new Uint8Array(B + 1), S), /not a whole number/);
});

Deno.test("buildImageStore() keeps order, skips ImageDecodeErrors, and propagates other errors", async () => {
  const { calls, decode } = countingDecoder();
  const r = await buildImageStore(fakeSources(9, [2, 5]), { size: S, decode, concurrency: 4 });
  assert.equal(calls.n, 9);
  assert.deepEqual([...r.kept], [0, 1, 3, 4, 6, 7, 8]);
  assert.deepEqual(r.failed.map((f) => f.index), [2, 5]);
  assert.match(r.failed[0].reason, /bad2: corrupt/);
  assert.equal(r.store.count, 7);
  for (let k = 0; k < 7; k++) assert.ok(r.store.get(k).every((v) => v === r.kept[k]));
  await assert.rejects(
    buildImageStore(fakeSources(3), { size: S, decode: () => Promise.reject(new TypeError("bug")) }),
    /bug/,
  );
});

Deno.test("buildImageStore() disk: writes once, reuses the cache without decoding, rebuilds a damaged one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { calls, decode } = countingDecoder();
    const opts = { size: S, kind: "disk" as const, cacheDir: dir, key: "k1", label: "t", decode };
    // a temporary folder left by a killed run is removed (pid 4194305 is above Linux's largest pid, 2^22)
    await Deno.mkdir(join(dir, "t-k1.tmp-4194305-abcd1234"));
    const first = await buildImageStore(fakeSources(70, [3]), opts);
    assert.equal(first.reused, false);
    assert.equal(calls.n, 70);
    assert.ok(first.store instanceof DiskImageStore);
    assert.equal(first.store.count, 69);
    assert.ok(first.store.get(3).every((v) => v === 4));
    first.store.close();
    assert.deepEqual(await readdir(dir), ["t-k1"]); // no temp folder left

    const second = await buildImageStore(fakeSources(70, [3]), opts);
    assert.equal(second.reused, true);
    assert.equal(second.decoded, 0);
    assert.equal(calls.n, 70, "nothing decoded the second time");
    assert.deepEqual([...second.kept], [...first.kept]);
    assert.deepEqual(second.failed, first.failed);
    assert.ok(second.store.get(68).every((v) => v === 69));
    second.store.close();

    // damage one sampled face: detected by the sample hash, rebuilt
    const file = join(dir, "t-k1", "images.u8");
    const bytes = await readFile(file);
    bytes[0] ^= 0xff;
    await writeFile(file, bytes);
    const third = await buildImageStore(fakeSources(70, [3]), opts);
    assert.equal(third.reused, false);
    assert.equal(calls.n, 140);
    assert.ok(third.store.get(0).every((v) => v === 0));
    third.store.close();

    // truncate: detected by the size, rebuilt
    await writeFile(file, bytes.subarray(0, 10 * B));
    const fourth = await buildImageStore(fakeSources(70, [3]), opts);
    assert.equal(fourth.reused, false);
    assert.equal(fourth.store.count, 69);
    fourth.store.close();

    // a different key is a different cache
    const other = await buildImageStore(fakeSources(5), { ...opts, key: "k2" });
    assert.equal(other.reused, false);
    other.store.close();
    assert.deepEqual((await readdir(dir)).sort(), ["t-k1", "t-k2"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DiskImageStore.get() returns fresh arrays and refuses reads after close()", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const px = new Uint8Array(2 * B).map((_, i) => (i < B ? 7 : 9));
    await writeFile(join(dir, "x.u8"), px);
    const store = new DiskImageStore(join(dir, "x.u8"), S);
    const a = store.get(0), b = store.get(1);
    assert.ok(a.every((v) => v === 7) && b.every((v) => v === 9));
    store.close();
    assert.throws(() => store.get(0), /closed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

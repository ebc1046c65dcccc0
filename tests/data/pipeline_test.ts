import assert from "node:assert/strict";
import { BatchPipeline } from "../../lib/data/pipeline.ts";
import { epochBatches, type HostBatch, makeBatch } from "../../lib/data/batches.ts";
import { Prng } from "../../lib/util/prng.ts";

const S = 12;
const N = 10;
const images = new Uint8Array(N * S * S * 3).map((_, i) => (i * 7 + (i >> 5)) % 256);
const labels = Int32Array.from({ length: N }, (_, i) => i % 7);
const augment = { randAugment: true, flip: true, erasing: true };

/** A Prng's state with the words as unsigned (getState() may give a word signed; setState() takes either). */
const stateOf = (p: Prng) => p.getState().map((v, i) => (i < 4 ? v >>> 0 : v));

async function collect(pipe: BatchPipeline, batches: Int32Array[], take = Infinity): Promise<HostBatch[]> {
  const out: HostBatch[] = [];
  for await (const b of pipe.epoch(batches)) {
    out.push(b);
    if (out.length >= take) break;
  }
  return out;
}

Deno.test("BatchPipeline gives the same batches and Prng state with a worker as synchronously, over two epochs", async () => {
  const batches = epochBatches(N, 4, { prng: new Prng(9), dropLast: false });
  const syncPrng = new Prng(21);
  const workerPrng = new Prng(21);
  const sync = new BatchPipeline({ images, labels }, { imageSize: S, augment, prng: syncPrng, workers: 0 });
  const pipe = new BatchPipeline({ images, labels }, { imageSize: S, augment, prng: workerPrng, workers: 1 });
  try {
    assert.ok(pipe.usesWorker);
    for (let epoch = 0; epoch < 2; epoch++) {
      const a = await collect(sync, batches);
      const b = await collect(pipe, batches);
      assert.equal(b.length, 3);
      assert.deepEqual(b, a);
      assert.deepEqual(stateOf(workerPrng), stateOf(syncPrng));
    }
    // and the same as makeBatch() one batch after another
    const p = new Prng(21);
    const first = makeBatch({ images, labels }, batches[0], { imageSize: S, augment, prng: p });
    const again = await collect(
      new BatchPipeline({ images, labels }, { imageSize: S, augment, prng: new Prng(21), workers: 0 }),
      batches,
      1,
    );
    assert.deepEqual(again[0], first);
  } finally {
    sync.close();
    pipe.close();
  }
});

Deno.test("BatchPipeline leaves the Prng as after the consumed batches when an epoch is left early", async () => {
  const batches = epochBatches(N, 2, { dropLast: true }); // 5 batches; prefetch 2 runs ahead
  const syncPrng = new Prng(4);
  const workerPrng = new Prng(4);
  const sync = new BatchPipeline({ images, labels }, { imageSize: S, augment, prng: syncPrng, workers: 0 });
  const pipe = new BatchPipeline({ images, labels }, {
    imageSize: S,
    augment,
    prng: workerPrng,
    workers: 1,
    prefetch: 3,
  });
  try {
    const a = await collect(sync, batches, 2);
    const b = await collect(pipe, batches, 2);
    assert.deepEqual(b, a);
    assert.deepEqual(stateOf(workerPrng), stateOf(syncPrng));
    // the next epoch continues from there in both
    assert.deepEqual(await collect(pipe, batches), await collect(sync, batches));
  } finally {
    sync.close();
    pipe.close();
  }
});

Deno.test("BatchPipeline with TenCrop and an image store matches the synchronous path", async () => {
  const store = { count: N, size: S, get: (i: number) => images.subarray(i * S * S * 3, (i + 1) * S * S * 3) };
  const batches = [Int32Array.from([3, 5])];
  const opts = { imageSize: S, augment, tenCrop: 10 };
  const sync = new BatchPipeline({ images: store, labels }, { ...opts, prng: new Prng(1), workers: 0 });
  const pipe = new BatchPipeline({ images: store, labels }, { ...opts, prng: new Prng(1), workers: 1 });
  try {
    const [a] = await collect(sync, batches);
    const [b] = await collect(pipe, batches);
    assert.equal(b.crops, 10);
    assert.equal(b.labels.length, 20);
    assert.deepEqual(b, a);
  } finally {
    sync.close();
    pipe.close();
  }
});

Deno.test("BatchPipeline reports bad indices, refuses use after close(), and close() is idempotent", async () => {
  const pipe = new BatchPipeline({ images, labels }, { imageSize: S, workers: 1 });
  try {
    await assert.rejects(() => collect(pipe, [Int32Array.from([0, N])]), /image index 10 is outside the 10 images/);
    const ok = await collect(pipe, [Int32Array.from([0, 1])]); // still usable; no augmentation without a Prng
    assert.deepEqual(ok[0], makeBatch({ images, labels }, [0, 1], { imageSize: S }));
  } finally {
    pipe.close();
    pipe.close();
  }
  await assert.rejects(() => collect(pipe, [Int32Array.from([0])]), /after close\(\)/);
  assert.throws(
    () => new BatchPipeline({ images, labels }, { imageSize: S, workers: 2 as 1 }),
    /workers must be 0 or 1/,
  );
  assert.throws(() => new BatchPipeline({ images, labels }, { imageSize: S, tenCrop: S + 1 }), /tenCrop must be/);
});

Deno.test("BatchPipeline passes an error thrown in the worker on to the epoch's consumer", async () => {
  const bad = { ...augment, randAugmentOptions: { ops: ["Nope"] } };
  const pipe = new BatchPipeline({ images, labels }, { imageSize: S, augment: bad, prng: new Prng(1), workers: 1 });
  try {
    const batch = [Int32Array.from([0, 1])];
    await assert.rejects(() => collect(pipe, batch), /batch pipeline worker: unknown RandAugment op "Nope"/);
  } finally {
    pipe.close();
  }
});

Deno.test("a process that used a BatchPipeline with a worker exits by itself after close()", async () => {
  const url = new URL("../../lib/data/pipeline.ts", import.meta.url).href;
  const code = `
    import { BatchPipeline } from "${url}";
    const images = new Uint8Array(2 * 4 * 4 * 3);
    const pipe = new BatchPipeline({ images, labels: [0, 1] }, { imageSize: 4, workers: 1 });
    for await (const b of pipe.epoch([[0, 1]])) console.log(b.labels.length);
    pipe.close();
  `;
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "piped", stderr: "piped" }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const out = await child.output();
  clearTimeout(timer);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "2");
});

Deno.test("benchmarkPipeline() measures cold (JPEG decode + augment) and cached images/s and cleans up", async () => {
  const { benchmarkPipeline } = await import("../../lib/data/pipeline_bench.ts");
  const before = new Set([...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")].map((e) => e.name));
  const cold = await benchmarkPipeline({ imageSize: 16, batchSize: 8, images: 16, sourceSize: 20, cold: true });
  assert.equal(cold.kind, "pipeline-cold");
  assert.equal(cold.images, 32); // at least 4 batches
  assert.ok(cold.imagesPerSecond > 0 && cold.decodeSeconds! > 0 && cold.decodeSeconds! <= cold.seconds);
  const cached = await benchmarkPipeline({ imageSize: 16, batchSize: 8, images: 16, cold: false, workers: 1 });
  assert.equal(cached.kind, "pipeline-cached");
  assert.ok(cached.imagesPerSecond > 0);
  const left = [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")].filter((e) =>
    e.name.startsWith("adadf-pipeline-bench-") && !before.has(e.name)
  );
  assert.deepEqual(left, []);
  await assert.rejects(() => benchmarkPipeline({ imageSize: 16, batchSize: 99, images: 16, cold: false }), /batchSize/);
});

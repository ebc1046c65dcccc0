import assert from "node:assert/strict";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CLASSES } from "../../lib/data/classes.ts";
import { DatasetError, type DatasetName, indexDataset, loadFerDataset } from "../../lib/data/dataset.ts";
import { decodeFace } from "../../lib/data/images.ts";
import { applyNoiseFile, parseNoiseFile } from "../../lib/data/label_noise.ts";
import type { ImageSource } from "../../lib/data/readers/types.ts";
import {
  CLASS_COLOURS,
  classGrey,
  FER_TO_CLASS,
  makeAffectNetCsv,
  makeAffectNetNpy,
  makeClassFolders,
  makeFer2013,
  makeFerPlus,
  makeRafDb,
  makeSfew,
  nearestClass,
  put,
  SFEW_NAMES,
} from "./readers/_make.ts";

const S = 16;

async function withTemp(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "adadf-ds-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A decoder that counts its calls. */
function counting() {
  const calls = { n: 0 };
  return { calls, decode: (src: ImageSource, size: number) => (calls.n++, decodeFace(src, size)) };
}

/** Every decoded face of a split has its label's colour (grey for grey sources). */
function assertColoursMatch(
  split: { images: { get(i: number): Uint8Array; count: number }; labels: Int32Array },
  greyOf?: (label: number) => boolean,
) {
  for (let i = 0; i < split.images.count; i++) {
    const face = split.images.get(i);
    const label = split.labels[i];
    if (greyOf?.(label)) {
      const g = classGrey(label);
      assert.ok(
        Math.abs(face[0] - g) <= 4 && face[0] === face[1] && face[1] === face[2],
        `face ${i}: grey ${face[0]}, want ${g}`,
      );
    } else {assert.equal(
        nearestClass(face, S),
        label,
        `face ${i} has the colour of class ${nearestClass(face, S)}, label ${label}`,
      );}
  }
}

Deno.test("loadFerDataset() reads RAF-DB: counts, labels, splits, grey JPEGs to RGB", async () => {
  await withTemp(async (dir) => {
    await makeRafDb(dir, 2);
    const ds = await loadFerDataset({ dataset: "raf-db", dataPath: dir, imageSize: S, cache: "memory" });
    assert.equal(ds.train.images.count, 14);
    assert.equal(ds.test.images.count, 7);
    assert.equal(ds.train.images.size, S);
    assert.deepEqual([...ds.test.labels], [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(ds.test.ids, [
      "test_0001.jpg",
      "test_0002.jpg",
      "test_0003.jpg",
      "test_0004.jpg",
      "test_0005.jpg",
      "test_0006.jpg",
      "test_0007.jpg",
    ]);
    assert.equal(ds.skipped.length, 0);
    assert.equal(ds.cache.kind, "memory");
    assert.equal(ds.decodedImages, 21);
    assert.equal(ds.train.crowd, undefined);
    assertColoursMatch(ds.train, (c) => c === 3); // class 3's training faces are grey JPEGs
    assertColoursMatch(ds.test);
  });
});

Deno.test("loadFerDataset() with splits ['test'] decodes only the test images (what deno task eval needs)", async () => {
  await withTemp(async (dir) => {
    await makeRafDb(dir, 2);
    const { calls, decode } = counting();
    const ds = await loadFerDataset({
      dataset: "raf-db",
      dataPath: dir,
      imageSize: S,
      cache: "memory",
      splits: ["test"],
      decode,
    });
    assert.equal(calls.n, 7);
    assert.equal(ds.decodedImages, 7);
    assert.equal(ds.train.images.count, 0);
    assert.equal(ds.train.labels.length, 0);
    assert.deepEqual([...ds.test.labels], [0, 1, 2, 3, 4, 5, 6]);
    assertColoursMatch(ds.test);
  });
});

Deno.test("loadFerDataset() reads AffectNet in both layouts and maps its ids onto CLASSES", async () => {
  await withTemp(async (dir) => {
    await makeAffectNetNpy(join(dir, "npy"));
    await makeAffectNetCsv(join(dir, "csv"));
    for (const sub of ["npy", "csv"]) {
      const ds = await loadFerDataset({
        dataset: "affectnet",
        dataPath: join(dir, sub),
        imageSize: S,
        cache: "memory",
      });
      assert.equal(ds.train.images.count, 14, sub);
      assert.equal(ds.test.images.count, 7, sub);
      assertColoursMatch(ds.train); // the CSV faces are the cropped boxes, coloured by class
      assertColoursMatch(ds.test);
    }
    const eight = await loadFerDataset({
      dataset: "affectnet",
      dataPath: join(dir, "npy"),
      imageSize: S,
      cache: "memory",
      affectnetClasses: 8,
    });
    assert.equal(eight.classes.length, 8);
    assert.equal(eight.train.images.count, 16);
    assertColoursMatch(eight.train);
  });
});

Deno.test("loadFerDataset() reads SFEW, FER2013 and ImageFolder trees", async () => {
  await withTemp(async (dir) => {
    await makeSfew(join(dir, "sfew"));
    const sfew = await loadFerDataset({ dataset: "sfew", dataPath: join(dir, "sfew"), imageSize: S, cache: "memory" });
    assert.deepEqual([sfew.train.images.count, sfew.test.images.count], [14, 7]);
    assertColoursMatch(sfew.train);
    assertColoursMatch(sfew.test);

    await makeFer2013(join(dir, "fer"));
    const fer = await loadFerDataset({ dataset: "fer2013", dataPath: join(dir, "fer"), imageSize: S, cache: "memory" });
    assert.deepEqual([fer.train.images.count, fer.test.images.count], [14, 7]);
    assert.deepEqual([...fer.test.labels], FER_TO_CLASS);
    assertColoursMatch(fer.train, () => true);

    await makeClassFolders(join(dir, "folder", "Train"), SFEW_NAMES, 1);
    await makeClassFolders(join(dir, "folder", "Test"), ["happy", "SAD"], 1);
    const folder = await loadFerDataset({
      dataset: "folder",
      dataPath: join(dir, "folder"),
      imageSize: S,
      cache: "memory",
    });
    assert.deepEqual([folder.train.images.count, folder.test.images.count], [7, 2]);
    // folders in byte order, as Python sorted(): "SAD" before "happy"
    assert.deepEqual([...folder.test.labels].map((c) => CLASSES[c]), ["sadness", "happiness"]);
    assertColoursMatch(folder.train);
  });
});

Deno.test("loadFerDataset() keeps FERPlus's crowd distributions aligned with the kept faces", async () => {
  await withTemp(async (dir) => {
    const rows = await makeFer2013(dir);
    const colOf = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"];
    await makeFerPlus(dir, rows, (i) => {
      const votes = new Array(10).fill(0);
      votes[colOf.indexOf(CLASSES[FER_TO_CLASS[rows[i].emotion]])] = 7;
      votes[i % 2 === 0 ? 8 : 9] = 3; // unknown / NF votes: not in the distribution
      return { votes };
    });
    const ds = await loadFerDataset({ dataset: "ferplus", dataPath: dir, imageSize: S, cache: "memory" });
    assert.equal(ds.train.images.count, 14);
    assert.ok(ds.train.crowd !== undefined && ds.test.crowd !== undefined);
    const crowd: Float32Array = ds.test.crowd;
    assert.equal(crowd.length, 7 * 7);
    for (let i = 0; i < ds.test.images.count; i++) {
      const d = crowd.subarray(i * 7, i * 7 + 7);
      assert.equal(d[ds.test.labels[i]], 1);
    }
  });
});

Deno.test("loadFerDataset() disk cache: the second load decodes nothing and gives the same faces", async () => {
  await withTemp(async (dir) => {
    await makeRafDb(join(dir, "raf"), 2);
    const cacheDir = join(dir, "cache");
    const { calls, decode } = counting();
    const opts = {
      dataset: "raf-db" as const,
      dataPath: join(dir, "raf"),
      imageSize: S,
      cache: "disk" as const,
      cacheDir,
      decode,
    };
    const a = await loadFerDataset(opts);
    assert.equal(calls.n, 21);
    assert.equal(a.cache.kind, "disk");
    assert.equal(a.cache.reused, false);
    assert.equal(a.cache.paths.length, 2);
    const b = await loadFerDataset(opts);
    assert.equal(calls.n, 21, "second load decodes nothing");
    assert.equal(b.decodedImages, 0);
    assert.equal(b.cache.reused, true);
    for (let i = 0; i < a.train.images.count; i++) assert.deepEqual(b.train.images.get(i), a.train.images.get(i));
    assert.deepEqual(b.train.labels, a.train.labels);
    // a changed image file changes the key: that split is decoded again
    await put(
      join(dir, "raf", "Image", "aligned", "test_0001_aligned.jpg"),
      await readFile(join(dir, "raf", "Image", "aligned", "test_0002_aligned.jpg")),
    );
    const c = await loadFerDataset(opts);
    assert.equal(calls.n, 21 + 7);
    assert.equal(c.cache.reused, false);
    for (const d of [a, b, c]) {
      d.train.images.close();
      d.test.images.close();
    }
    assert.equal((await readdir(cacheDir)).filter((n) => n.includes(".tmp-")).length, 0);
  });
});

Deno.test("loadFerDataset() cache auto: memory below the limit, disk above it", async () => {
  await withTemp(async (dir) => {
    await makeRafDb(join(dir, "raf"), 1);
    const opts = { dataset: "raf-db" as const, dataPath: join(dir, "raf"), imageSize: S, cacheDir: join(dir, "cache") };
    const small = await loadFerDataset({ ...opts, cache: "auto" });
    assert.equal(small.cache.kind, "memory");
    const big = await loadFerDataset({ ...opts, cache: "auto", autoMemoryLimitBytes: 14 * S * S * 3 - 1 });
    assert.equal(big.cache.kind, "disk");
    assert.deepEqual(big.train.images.get(3), small.train.images.get(3));
    big.train.images.close();
    big.test.images.close();
  });
});

Deno.test("loadFerDataset() skips listed-but-absent, corrupt and truncated images and lists them", async () => {
  await withTemp(async (dir) => {
    await makeRafDb(dir, 2);
    const img = (name: string) => join(dir, "Image", "aligned", name);
    await rm(img("train_00002_aligned.jpg"));
    await writeFile(img("train_00005_aligned.jpg"), new TextEncoder().encode("garbage"));
    const jpeg = await readFile(img("test_0003_aligned.jpg"));
    await writeFile(img("test_0003_aligned.jpg"), jpeg.subarray(0, jpeg.length - 40));
    const ds = await loadFerDataset({ dataset: "raf-db", dataPath: dir, imageSize: S, cache: "memory" });
    assert.equal(ds.train.images.count, 12);
    assert.equal(ds.test.images.count, 6);
    assert.deepEqual(ds.skipped.map((s) => [s.split, s.id]), [
      ["train", "train_00002.jpg"],
      ["train", "train_00005.jpg"],
      ["test", "test_0003.jpg"],
    ]);
    assert.match(ds.skipped[0].reason, /listed but missing/);
    assert.match(ds.skipped[1].reason, /corrupt, truncated or not an image/);
    assert.match(ds.skipped[2].reason, /corrupt, truncated/);
    assert.equal(ds.skipped[0].path, img("train_00002_aligned.jpg"));
    assert.ok(!ds.train.ids.includes("train_00002.jpg"));
    assert.equal(ds.train.labels.length, ds.train.images.count);
    assertColoursMatch(ds.train, (c) => c === 3);
  });
});

/** Asserts that loading rejects with one DatasetError line matching `re`. */
async function assertDatasetError(dataset: DatasetName, dataPath: string, re: RegExp) {
  await assert.rejects(
    loadFerDataset({ dataset, dataPath, imageSize: S, cache: "memory" }),
    (e: Error) => {
      assert.ok(e instanceof DatasetError, `${e.name}: ${e.message}`);
      assert.ok(e instanceof RangeError, "a RangeError, so the CLI exits 2");
      assert.ok(!e.message.includes("\n"), "one line");
      assert.match(e.message, re);
      return true;
    },
  );
}

Deno.test("loadFerDataset() errors before decoding: missing path, missing label file, unknown id, empty split, all missing, all corrupt", async () => {
  await withTemp(async (dir) => {
    await assertDatasetError("raf-db", join(dir, "nope"), /data path .*nope does not exist; expected the RAF-DB root/);
    await writeFile(join(dir, "file"), "x");
    await assertDatasetError("sfew", join(dir, "file"), /data path .*file is not a folder/);

    const raf = join(dir, "raf");
    await makeRafDb(raf, 1);
    const labels = join(raf, "EmoLabel", "list_patition_label.txt");
    const text = await Deno.readTextFile(labels);
    await rm(labels);
    await assertDatasetError("raf-db", raf, /RAF-DB label file .*list_patition_label\.txt is missing/);

    await writeFile(labels, text.replace("test_0002.jpg 2", "test_0002.jpg 9"));
    await assertDatasetError("raf-db", raf, /list_patition_label\.txt:4: unknown label id '9'/);

    await writeFile(labels, text.split("\n").filter((l) => !l.startsWith("test")).join("\n"));
    await assertDatasetError("raf-db", raf, /the test split is empty/);

    await writeFile(labels, text);
    await Deno.rename(join(raf, "Image"), join(raf, "Image.moved"));
    await assertDatasetError(
      "raf-db",
      raf,
      /none of the 7 train images listed under .* exists \(the first should be .*train_00001_aligned\.jpg\)/,
    );
    await Deno.rename(join(raf, "Image.moved"), join(raf, "Image"));

    for (const e of await readdir(join(raf, "Image", "aligned"))) {
      if (e.startsWith("test")) await writeFile(join(raf, "Image", "aligned", e), new Uint8Array([0xff, 0xd8, 0xff]));
    }
    await assertDatasetError(
      "raf-db",
      raf,
      /every one of the 7 test images .* failed to decode \(first: .*test_0001_aligned\.jpg/,
    );

    const fer = join(dir, "fer");
    await Deno.mkdir(fer);
    await assertDatasetError("fer2013", fer, /fer2013\.csv is missing/);
    await writeFile(
      join(fer, "fer2013.csv"),
      `emotion,pixels,Usage\n9,${new Array(2304).fill(1).join(" ")},Training\n`,
    );
    await assertDatasetError("fer2013", fer, /fer2013\.csv:2: unknown emotion id '9'/);

    const folder = join(dir, "folder");
    await makeClassFolders(join(folder, "train"), ["happy"], 1);
    await Deno.mkdir(join(folder, "test", "contempt"), { recursive: true });
    await assertDatasetError("folder", folder, /folder\(s\) 'contempt' name no class/);

    const empty = join(dir, "empty");
    await Deno.mkdir(join(empty, "Train", "Happy"), { recursive: true });
    await Deno.mkdir(join(empty, "Val", "Sad"), { recursive: true });
    await assertDatasetError(
      "sfew",
      empty,
      /the train split is empty; expected images in the class folders of Train\/ and Val\//,
    );

    const aff = join(dir, "aff");
    await makeAffectNetNpy(aff);
    await put(join(aff, "val_set", "annotations", "99_exp.npy"), new TextEncoder().encode("not npy"));
    await assertDatasetError("affectnet", aff, /99_exp\.npy: not a \.npy file/);
  });
});

Deno.test("a noise file in EAC's format (EmoLabel/noise01.txt) relabels the loaded training split", async () => {
  await withTemp(async (dir) => {
    const lines = await makeRafDb(dir, 2);
    await rm(join(dir, "Image", "aligned", "train_00003_aligned.jpg")); // skipped at load, still listed in the noise file
    const ds = await loadFerDataset({ dataset: "raf-db", dataPath: dir, imageSize: S, cache: "memory" });
    // the train lines, with train_00001 (surprise) -> anger (6) and train_00014 (neutral) -> fear (2)
    const noisy = lines.filter((l) => l.startsWith("train")).map((l) =>
      l.startsWith("train_00001") ? "train_00001.jpg 6" : l.startsWith("train_00014") ? "train_00014.jpg 2" : l
    );
    const path = join(dir, "EmoLabel", "noise01.txt");
    await writeFile(path, noisy.join("\n") + "\n");
    const entries = parseNoiseFile(await Deno.readTextFile(path), path);
    const skipped = ds.skipped.filter((s) => s.split === "train").map((s) => s.id);
    const { labels, flipped } = applyNoiseFile(ds.train, entries, { skipped });
    assert.deepEqual([...flipped].map((i) => ds.train.ids[i]), ["train_00001.jpg", "train_00014.jpg"]);
    assert.equal(CLASSES[labels[flipped[0]]], "anger");
    assert.equal(CLASSES[labels[flipped[1]]], "fear");
  });
});

Deno.test("indexDataset() rejects an unknown data set name with the list of names", async () => {
  await assert.rejects(
    indexDataset("mnist" as DatasetName, "."),
    /unknown data set 'mnist'; expected one of raf-db, affectnet/,
  );
});

Deno.test("loadFerDataset() reports progress through index, check and decode", async () => {
  await withTemp(async (dir) => {
    await makeRafDb(dir, 1);
    const phases = new Map<string, [number, number]>();
    await loadFerDataset({
      dataset: "raf-db",
      dataPath: dir,
      imageSize: S,
      cache: "memory",
      onProgress: (d, t, p) => phases.set(p, [d, t]),
    });
    assert.deepEqual(Object.fromEntries(phases), { index: [1, 1], check: [14, 14], decode: [14, 14] });
  });
});

Deno.test("CLASS_COLOURS are far apart after JPEG (sanity of the fixtures)", () => {
  assert.equal(new Set(CLASS_COLOURS.map((c) => c.join())).size, CLASS_COLOURS.length);
});

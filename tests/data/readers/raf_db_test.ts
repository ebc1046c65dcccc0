import assert from "node:assert/strict";
import { join } from "node:path";
import { indexRafDb, parseRafLabels, rafAlignedPath } from "../../../lib/data/readers/raf_db.ts";
import { DatasetError } from "../../../lib/data/readers/types.ts";
import { makeRafDb } from "./_make.ts";

Deno.test("parseRafLabels() maps ids 1..7 to CLASSES and splits by name prefix", () => {
  const rows = parseRafLabels("train_00001.jpg 1\r\ntrain_00002.jpg\t7\n\ntest_0001.jpg 4\n", "labels.txt");
  assert.deepEqual(rows, [
    { name: "train_00001.jpg", split: "train", label: 0, line: 1 },
    { name: "train_00002.jpg", split: "train", label: 6, line: 2 },
    { name: "test_0001.jpg", split: "test", label: 3, line: 4 },
  ]);
});

Deno.test("parseRafLabels() names file:line for an unknown id, a bad line, a bad prefix, a duplicate", () => {
  const cases: [string, RegExp][] = [
    ["train_00001.jpg 1\ntrain_00002.jpg 8\n", /labels\.txt:2: unknown label id '8'.*expected 1\.\.7/],
    ["train_00001.jpg 0\n", /labels\.txt:1: unknown label id '0'/],
    ["train_00001.jpg x\n", /labels\.txt:1: unknown label id 'x'/],
    ["train_00001.jpg\n", /labels\.txt:1: expected '<image name> <label 1-7>'/],
    ["val_00001.jpg 3\n", /labels\.txt:1: .*neither 'train' nor 'test'/],
    ["train_1.jpg 3\ntrain_1.jpg 4\n", /labels\.txt:2: train_1\.jpg is listed twice/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseRafLabels(text, "labels.txt"),
      (e: Error) => e instanceof DatasetError && re.test(e.message),
    );
  }
});

Deno.test("rafAlignedPath() appends _aligned to the stem, as the official code does", () => {
  assert.equal(rafAlignedPath("/r", "train_00001.jpg"), join("/r", "Image", "aligned", "train_00001_aligned.jpg"));
});

Deno.test("indexRafDb() lists both splits of a tiny RAF-DB copy", async () => {
  const root = await Deno.makeTempDir();
  try {
    await makeRafDb(root, 2);
    const index = await indexRafDb(root);
    assert.equal(index.train.length, 14);
    assert.equal(index.test.length, 7);
    assert.deepEqual(index.test.map((r) => r.label), [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(index.train[0].id, "train_00001.jpg");
    assert.deepEqual(index.train[0].source, {
      kind: "file",
      path: join(root, "Image/aligned/train_00001_aligned.jpg"),
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

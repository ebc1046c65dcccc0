import assert from "node:assert/strict";
import { join } from "node:path";
import { CLASSES } from "../../../lib/data/classes.ts";
import { classOfFolderName, indexFolder, isHeldOut, resolveClassFolders } from "../../../lib/data/readers/folder.ts";
import { indexSfew } from "../../../lib/data/readers/sfew.ts";
import { DatasetError } from "../../../lib/data/readers/types.ts";
import { makeClassFolders, makeSfew, put, SFEW_NAMES, solidImage } from "./_make.ts";

Deno.test("classOfFolderName() matches class names and aliases in any case", () => {
  const cases: [string, string][] = [
    ["Angry", "anger"],
    ["anger", "anger"],
    ["HAPPY", "happiness"],
    ["Sad", "sadness"],
    ["surprised", "surprise"],
    ["Fearful", "fear"],
    ["disgusted", "disgust"],
    ["Neutral", "neutral"],
    ["3_happy", "happiness"],
  ];
  for (const [name, cls] of cases) assert.equal(CLASSES[classOfFolderName(name)!], cls, name);
  assert.equal(classOfFolderName("contempt"), undefined);
});

Deno.test("resolveClassFolders() lists the expected names for an unknown folder and refuses two of a class", () => {
  assert.throws(
    () => resolveClassFolders(["Happy", "Contempt"], "/d/Train"),
    (e: Error) =>
      e instanceof DatasetError &&
      /\/d\/Train: folder\(s\) 'Contempt' name no class; expected .*happiness\|happy/.test(e.message),
  );
  assert.throws(
    () => resolveClassFolders(["Happy", "happiness"], "/d"),
    /'Happy' and 'happiness' both stand for happiness/,
  );
});

Deno.test("indexSfew() reads Train/ and Val/ and maps SFEW's folders onto CLASSES", async () => {
  const root = await Deno.makeTempDir();
  try {
    await makeSfew(root);
    const index = await indexSfew(root);
    assert.equal(index.train.length, 14);
    assert.equal(index.test.length, 7);
    const angry = index.train.find((r) => r.id === "Train/Angry/angry_0.png")!;
    assert.equal(CLASSES[angry.label], "anger");
    assert.deepEqual(new Set(index.test.map((r) => CLASSES[r.label])), new Set(CLASSES));
    // the release's aligned-face folder names, and a class folder that is a symbolic link
    await Deno.rename(join(root, "Train"), join(root, "Train_Aligned_Faces"));
    await Deno.rename(join(root, "Val", "Happy"), join(root, "happy-elsewhere"));
    await Deno.symlink(join(root, "happy-elsewhere"), join(root, "Val", "Happy"));
    const aligned = await indexSfew(root);
    assert.equal(aligned.train.length, 14);
    assert.equal(aligned.test.length, 7);
    assert.ok(aligned.test.some((r) => r.id === "Val/Happy/happy_0.png" && CLASSES[r.label] === "happiness"));
    await Deno.remove(join(root, "Val"), { recursive: true });
    await assert.rejects(
      indexSfew(root),
      (e: Error) => e instanceof DatasetError && /Val is missing; expected/.test(e.message),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("indexFolder() uses train/ and test/ folders, or holds out ~20 % by file name hash", async () => {
  const root = await Deno.makeTempDir();
  try {
    await makeClassFolders(join(root, "split", "train"), ["happy", "sad", "Neutral"], 2);
    await makeClassFolders(join(root, "split", "val"), ["happy", "sad", "Neutral"], 1);
    await put(join(root, "split", "train", "happy", "nested", "x.jpg"), await solidImage([1, 2, 3]));
    await put(join(root, "split", "train", "happy", "notes.txt"), "not an image");
    const split = await indexFolder(join(root, "split"));
    assert.equal(split.train.length, 7);
    assert.equal(split.test.length, 3);
    assert.ok(split.train.some((r) => r.id === "train/happy/nested/x.jpg" && CLASSES[r.label] === "happiness"));

    await makeClassFolders(join(root, "flat"), SFEW_NAMES, 6);
    const flat = await indexFolder(join(root, "flat"));
    assert.equal(flat.train.length + flat.test.length, 42);
    assert.deepEqual(flat.test.map((r) => r.id), flat.test.map((r) => r.id).filter(isHeldOut));
    assert.ok(flat.test.length > 0 && flat.train.length > 0);
    assert.deepEqual((await indexFolder(join(root, "flat"))).test, flat.test, "the hold-out is deterministic");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

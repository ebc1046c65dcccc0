import assert from "node:assert/strict";
import { join } from "node:path";
import {
  AFFECTNET8_CLASSES,
  indexAffectNet,
  mapAffectNetLabel,
  parseAffectNetCsv,
  readNpyScalar,
} from "../../../lib/data/readers/affectnet.ts";
import { CLASSES } from "../../../lib/data/classes.ts";
import { DatasetError } from "../../../lib/data/readers/types.ts";
import { encodeNpy } from "../../../lib/util/files.ts";
import { makeAffectNetCsv, makeAffectNetNpy, npyBytes, npyInt64Scalar, npyUnicodeScalar } from "./_make.ts";

Deno.test("readNpyScalar() reads '<U1', '<U2', '|S1', integer and float scalars", () => {
  assert.equal(readNpyScalar(npyUnicodeScalar("3"), "a"), 3);
  assert.equal(readNpyScalar(npyUnicodeScalar("10"), "a"), 10);
  assert.equal(readNpyScalar(npyBytes("|S1", "()", new Uint8Array([0x37])), "a"), 7);
  assert.equal(readNpyScalar(npyInt64Scalar(6), "a"), 6);
  assert.equal(readNpyScalar(npyBytes("<i4", "(1,)", new Uint8Array([5, 0, 0, 0])), "a"), 5);
  assert.equal(readNpyScalar(npyBytes("|u1", "()", new Uint8Array([2])), "a"), 2);
  assert.equal(readNpyScalar(encodeNpy(Float32Array.from([4]), [1]), "a"), 4);
  // numpy pads a short string in a wider dtype with NULs
  assert.equal(readNpyScalar(npyBytes("<U2", "()", new Uint8Array([0x31, 0, 0, 0, 0, 0, 0, 0])), "a"), 1);
});

Deno.test("readNpyScalar() rejects non-npy bytes, arrays, text that is not a number, truncation", () => {
  const bad: [Uint8Array, RegExp][] = [
    [new Uint8Array([1, 2, 3]), /x.npy: not a \.npy file/],
    [encodeNpy(Float32Array.from([1, 2]), [2]), /x.npy: expected one value/],
    [npyUnicodeScalar("a"), /x.npy: the \.npy holds 'a', not an integer label/],
    [npyBytes("<i8", "()", new Uint8Array(3)), /x.npy: \.npy data is truncated/],
    [npyBytes("|O", "()", new Uint8Array(8)), /x.npy: \.npy dtype '\|O' is not supported/],
  ];
  for (const [bytes, re] of bad) {
    assert.throws(() => readNpyScalar(bytes, "x.npy"), (e: Error) => e instanceof DatasetError && re.test(e.message));
  }
});

Deno.test("mapAffectNetLabel() maps ids 0-6 onto CLASSES, drops 8-10 and contempt in 7-class mode", () => {
  const names = ["neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger"];
  for (let id = 0; id < 7; id++) assert.equal(CLASSES[mapAffectNetLabel(id, { classes: 7, at: "x" })!], names[id]);
  assert.equal(mapAffectNetLabel(7, { classes: 7, at: "x" }), null);
  assert.equal(AFFECTNET8_CLASSES[mapAffectNetLabel(7, { classes: 8, at: "x" })!], "contempt");
  for (const id of [8, 9, 10]) assert.equal(mapAffectNetLabel(id, { classes: 8, at: "x" }), null);
  assert.throws(() => mapAffectNetLabel(11, { classes: 7, at: "a.npy" }), /a\.npy: unknown AffectNet expression id 11/);
});

Deno.test("parseAffectNetCsv() reads the face box and expression, with or without a header", () => {
  const row = "689/abc.jpg,134,134,899,899,181.64;530.91;188.32,1,0.785714,-0.055556";
  const withHeader = parseAffectNetCsv(
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal\n" + row,
    "training.csv",
  );
  const without = parseAffectNetCsv(row + "\n", "validation.csv");
  assert.deepEqual(withHeader, [{
    path: "689/abc.jpg",
    crop: { x: 134, y: 134, w: 899, h: 899 },
    expression: 1,
    line: 2,
  }]);
  assert.deepEqual(without, [{ ...withHeader[0], line: 1 }]);
  assert.throws(
    () => parseAffectNetCsv(row.replace(",1,", ",12,"), "v.csv"),
    /v\.csv:1: unknown AffectNet expression id '12'/,
  );
  assert.throws(() => parseAffectNetCsv("a.jpg,1,2,0,5,x,1,0,0", "v.csv"), /v\.csv:1: the face box/);
  assert.throws(() => parseAffectNetCsv("a.jpg,1,2", "v.csv"), /v\.csv:1: expected 9 columns/);
});

Deno.test("indexAffectNet() reads the official npy layout: unicode and int annotations, drops contempt and 9", async () => {
  const root = await Deno.makeTempDir();
  try {
    await makeAffectNetNpy(root);
    const seven = await indexAffectNet(root);
    assert.equal(seven.train.length, 14); // 8 ids x 2, minus 2 contempt, minus the uncertain one (not counted)
    assert.equal(seven.test.length, 7);
    assert.deepEqual([...new Set(seven.train.map((r) => r.label))].sort(), [0, 1, 2, 3, 4, 5, 6]);
    assert.ok(
      seven.notes.some((n) => /train: dropped .*2 contempt \(7\).*1 uncertain \(9\)|1 uncertain.*2 contempt/.test(n)),
    );
    const ref = seven.train.find((r) => r.id === "0")!;
    assert.deepEqual(ref.source, { kind: "file", path: join(root, "train_set", "images", "0.jpg") });
    const eight = await indexAffectNet(root, { classes: 8 });
    assert.equal(eight.train.length, 16);
    assert.equal(eight.classes.length, 8);
    assert.equal(eight.test.filter((r) => r.label === 7).length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("indexAffectNet() reads the release's CSVs with face boxes", async () => {
  const root = await Deno.makeTempDir();
  try {
    await makeAffectNetCsv(root);
    const index = await indexAffectNet(root);
    assert.equal(index.train.length, 14);
    assert.equal(index.test.length, 7);
    const src = index.train[0].source;
    assert.equal(src.kind, "file");
    assert.ok(src.kind === "file" && src.path.startsWith(join(root, "Manually_Annotated_Images")));
    assert.deepEqual(src.kind === "file" && src.crop, { x: 8, y: 4, w: 20, h: 16 });
    assert.ok(index.notes.some((n) => /none \(8\).*non-face \(10\)|non-face.*none/.test(n)));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("indexAffectNet() says what it expected when neither layout is there", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assert.rejects(
      indexAffectNet(root),
      (e: Error) => e instanceof DatasetError && /no AffectNet labels; expected/.test(e.message),
    );
    await Deno.mkdir(join(root, "Manually_Annotated_file_lists"));
    await Deno.writeTextFile(join(root, "Manually_Annotated_file_lists", "training.csv"), "");
    await assert.rejects(indexAffectNet(root), /validation\.csv is missing/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

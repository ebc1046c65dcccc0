import assert from "node:assert/strict";
import { join } from "node:path";
import { CLASSES } from "../../../lib/data/classes.ts";
import {
  FER2013_TO_CLASSES,
  fer2013Split,
  ferImageName,
  indexFer2013,
  parseFer2013Csv,
} from "../../../lib/data/readers/fer2013.ts";
import { ferPlusLabel, indexFerPlus, parseFerPlusCsv } from "../../../lib/data/readers/ferplus.ts";
import { DatasetError } from "../../../lib/data/readers/types.ts";
import { classGrey, FER_TO_CLASS, makeFer2013, makeFerPlus, put } from "./_make.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const px = (v: number) => new Array(48 * 48).fill(v).join(" ");

Deno.test("FER2013_TO_CLASSES maps angry, disgust, fear, happy, sad, surprise, neutral onto CLASSES", () => {
  assert.deepEqual(
    FER2013_TO_CLASSES.map((c) => CLASSES[c]),
    ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"],
  );
});

Deno.test("parseFer2013Csv() reads rows in any column order, CRLF and quotes", () => {
  const text = `Usage,emotion,pixels\r\nTraining,3,"${px(9)}"\r\nPrivateTest,6,${px(255)}\r\n`;
  const rows = parseFer2013Csv(enc(text), "f.csv");
  assert.equal(rows.length, 2);
  assert.deepEqual([rows[0].row, rows[0].line, rows[0].usage, rows[0].emotion], [0, 2, "Training", 3]);
  assert.equal(rows[0].pixels.length, 2304);
  assert.ok(rows[0].pixels.every((v) => v === 9));
  assert.ok(rows[1].pixels.every((v) => v === 255));
});

Deno.test("parseFer2013Csv() names file:line for an unknown id, short or bad pixels, a bad header", () => {
  const cases: [string, RegExp][] = [
    [`emotion,pixels,Usage\n7,${px(1)},Training\n`, /f\.csv:2: unknown emotion id '7'/],
    [`emotion,pixels,Usage\n1,1 2 3,Training\n`, /f\.csv:2: the pixels are not 2304/],
    [`emotion,pixels,Usage\n1,${px(256)},Training\n`, /f\.csv:2: the pixels are not 2304/],
    [`emotion,pixels,Usage\n1,${px(1)} 4,Training\n`, /f\.csv:2: the pixels are not 2304/],
    [`label,pixels,Usage\n`, /f\.csv:1: expected the header emotion,pixels,Usage/],
    [``, /f\.csv is empty/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseFer2013Csv(enc(text), "f.csv"),
      (e: Error) => e instanceof DatasetError && re.test(e.message),
    );
  }
});

Deno.test("fer2013Split() and ferImageName() follow FER2013 and FERPlus conventions", () => {
  assert.equal(fer2013Split("Training"), "train");
  assert.equal(fer2013Split("PrivateTest"), "test");
  assert.equal(fer2013Split("PublicTest"), "validation");
  assert.equal(fer2013Split("Other"), null);
  assert.equal(ferImageName(0), "fer0000000.png");
  assert.equal(ferImageName(35886), "fer0035886.png");
});

Deno.test("indexFer2013() keeps Training and PrivateTest, maps ids, holds 48x48 grey pixels", async () => {
  const root = await Deno.makeTempDir();
  try {
    const rows = await makeFer2013(root);
    const index = await indexFer2013(root);
    assert.equal(index.train.length, 14);
    assert.equal(index.test.length, 7);
    assert.deepEqual(index.test.map((r) => r.label), FER_TO_CLASS);
    const first = index.test[0];
    assert.equal(first.id, ferImageName(rows.findIndex((r) => r.usage === "PrivateTest")));
    assert.ok(first.source.kind === "pixels" && first.source.channels === 1 && first.source.width === 48);
    assert.ok(first.source.kind === "pixels" && first.source.pixels[0] === classGrey(FER_TO_CLASS[0]));
    assert.ok(index.notes.some((n) => /7 PublicTest rows/.test(n)));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ferPlusLabel() takes the most-voted expression and the 7 expression votes as the distribution", () => {
  // columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
  const r = ferPlusLabel([4, 0, 0, 1, 3, 2, 0, 0, 0, 0]);
  assert.ok(r.label !== null);
  assert.equal(CLASSES[r.label], "neutral");
  const expected = new Float32Array(7);
  expected[CLASSES.indexOf("neutral")] = 0.4;
  expected[CLASSES.indexOf("sadness")] = 0.1;
  expected[CLASSES.indexOf("anger")] = 0.3;
  expected[CLASSES.indexOf("disgust")] = 0.2;
  assert.deepEqual([...r.crowd], [...expected]);
  // contempt/unknown votes are left out of the distribution
  const c = ferPlusLabel([0, 6, 2, 0, 0, 0, 0, 1, 1, 0]);
  assert.ok(c.label !== null && CLASSES[c.label] === "happiness");
  assert.ok(Math.abs(c.crowd[CLASSES.indexOf("happiness")] - 0.75) < 1e-6);
});

Deno.test("ferPlusLabel() skips faces with no expression votes, a contempt/unknown/NF majority, or a tie", () => {
  assert.deepEqual(ferPlusLabel([0, 0, 0, 0, 0, 0, 0, 0, 0, 10]), { label: null, reason: "no expression votes" });
  assert.deepEqual(ferPlusLabel([1, 2, 0, 0, 0, 0, 0, 0, 7, 0]), {
    label: null,
    reason: "contempt/unknown/NF majority",
  });
  assert.deepEqual(ferPlusLabel([0, 0, 4, 0, 0, 0, 4, 2, 0, 0]), { label: null, reason: "tied expressions" });
  // a tie between the top expression and contempt keeps the expression
  assert.ok(ferPlusLabel([5, 0, 0, 0, 0, 0, 0, 5, 0, 0]).label === CLASSES.indexOf("neutral"));
});

Deno.test("parseFerPlusCsv() reads the votes and names file:line for a bad vote", () => {
  const head = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n";
  const rows = parseFerPlusCsv(
    head + "Training,fer0000000.png,4,0,0,1,3,2,0,0,0,0\nTraining,,0,0,0,0,0,0,0,0,0,10\n",
    "n.csv",
  );
  assert.equal(rows.length, 2);
  assert.equal(rows[1].name, "");
  assert.deepEqual(rows[1].votes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 10]);
  assert.throws(
    () => parseFerPlusCsv(head + "Training,a.png,x,0,0,0,0,0,0,0,0,0\n", "n.csv"),
    /n\.csv:2: the neutral vote 'x'/,
  );
  assert.throws(
    () => parseFerPlusCsv("Usage,Image name,neutral\n", "n.csv"),
    /n\.csv:1: the header lacks column\(s\) happiness/,
  );
});

Deno.test("indexFerPlus() labels fer2013.csv's faces with the crowd's votes and keeps the distributions", async () => {
  const root = await Deno.makeTempDir();
  try {
    const rows = await makeFer2013(root);
    // FERPlus column of each FER2013 id's class: votes 8 for it and 2 for neutral (or happiness for neutral)
    const colOf = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"];
    await makeFerPlus(root, rows, (i) => {
      const votes = new Array(10).fill(0);
      const name = CLASSES[FER_TO_CLASS[rows[i].emotion]];
      votes[colOf.indexOf(name)] = 8;
      votes[name === "neutral" ? 1 : 0] = 2;
      if (i === 0) return { name: "", votes }; // removed by FERPlus
      if (i === 1) return { votes: [0, 0, 0, 0, 0, 0, 0, 0, 2, 8] }; // not a face
      return { votes };
    });
    const index = await indexFerPlus(root);
    assert.equal(index.train.length, 12);
    assert.equal(index.test.length, 7);
    for (const ref of [...index.train, ...index.test]) {
      const row = Number(ref.id.slice(3, 10));
      assert.equal(ref.label, FER_TO_CLASS[rows[row].emotion]);
      assert.ok(ref.crowd && Math.abs(ref.crowd[ref.label] - 0.8) < 1e-6);
      assert.ok(Math.abs(ref.crowd.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    }
    assert.ok(index.notes.some((n) => /1 no image name, 1 no expression votes/.test(n)));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("indexFerPlus() is an error when fer2013new.csv is missing or its rows do not match", async () => {
  const root = await Deno.makeTempDir();
  try {
    const rows = await makeFer2013(root);
    await assert.rejects(
      indexFerPlus(root),
      (e: Error) => e instanceof DatasetError && /fer2013new\.csv is missing/.test(e.message),
    );
    await makeFerPlus(root, rows.slice(1), () => ({ votes: [10, 0, 0, 0, 0, 0, 0, 0, 0, 0] }));
    await assert.rejects(indexFerPlus(root), /has 27 rows but .*fer2013\.csv has 28/);
    await put(join(root, "fer2013.csv"), "");
    await Deno.remove(join(root, "fer2013.csv"));
    await assert.rejects(indexFerPlus(root), /fer2013\.csv is missing/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

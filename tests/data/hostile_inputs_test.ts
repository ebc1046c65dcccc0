/**
 * Hostile and clumsy data set files (issue 13, item 3), made here: images that are FIFOs or
 * links to /dev/zero are skipped and listed like corrupt ones, an image whose header claims
 * 16000x16000 is skipped before decoding, and an endless label line is an error naming
 * `file:line`.
 */
import assert from "node:assert/strict";
import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { decodeFace, ImageDecodeError } from "../../lib/data/images.ts";
import { buildImageStore } from "../../lib/data/image_store.ts";
import { readLabelFile } from "../../lib/data/readers/_io.ts";
import { parseRafLabels } from "../../lib/data/readers/raf_db.ts";
import { parseFer2013Csv } from "../../lib/data/readers/fer2013.ts";
import { parseAffectNetCsv } from "../../lib/data/readers/affectnet.ts";
import { DatasetError } from "../../lib/data/readers/types.ts";

const dir = Deno.makeTempDirSync({ prefix: "hostile-data-" });
const fifo = join(dir, "fifo.jpg");
const hasFifo = (await new Deno.Command("mkfifo", { args: [fifo] }).output()).success;
const zero = join(dir, "zero.jpg");
symlinkSync("/dev/zero", zero);
const good = join(dir, "good.png");
writeFileSync(
  good,
  await sharp({ create: { width: 8, height: 8, channels: 3, background: "#808080" } }).png().toBuffer(),
);

/** CRC-32 (PNG's) of bytes. */
function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A PNG whose header says `w` x `h` (8-bit grey), with a token IDAT: enough for its header to be read. */
function pngHeaderOnly(w: number, h: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, w);
  new DataView(ihdr.buffer).setUint32(4, h);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const parts = [
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk("IHDR", ihdr),
    chunk("IDAT", Uint8Array.of(0x78, 0x9c, 0x03, 0, 0, 0, 0, 1)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
}

Deno.test("decodeFace() skips a link to /dev/zero and a FIFO at once, as ImageDecodeErrors naming the file", async () => {
  const t0 = performance.now();
  await assert.rejects(() => decodeFace({ kind: "file", path: zero }, 8), (e: Error) => {
    assert.ok(e instanceof ImageDecodeError);
    assert.match(e.message, /zero\.jpg: image is a device; expected a regular file/);
    return true;
  });
  if (hasFifo) {
    await assert.rejects(
      () => decodeFace({ kind: "file", path: fifo }, 8),
      /fifo\.jpg: image is a FIFO \(named pipe\)/,
    );
  }
  await assert.rejects(
    () => decodeFace({ kind: "file", path: join(dir, "none.jpg") }, 8),
    /none\.jpg: listed but missing/,
  );
  assert.ok(performance.now() - t0 < 2000);
});

Deno.test("decodeFace() skips an image whose header claims 16000x16000 pixels before decoding it", async () => {
  const p = join(dir, "huge.png");
  writeFileSync(p, pngHeaderOnly(16000, 16000));
  const t0 = performance.now();
  await assert.rejects(
    () => decodeFace({ kind: "file", path: p }, 8),
    /huge\.png: 16000x16000 pixels, above the limit of 50000000 \(raise it with ADADF_MAX_IMAGE_PIXELS\)/,
  );
  assert.ok(performance.now() - t0 < 2000);
  Deno.env.set("ADADF_MAX_IMAGE_PIXELS", "32");
  try {
    await assert.rejects(() => decodeFace({ kind: "file", path: good }, 8), /8x8 pixels, above the limit of 32/);
  } finally {
    Deno.env.delete("ADADF_MAX_IMAGE_PIXELS");
  }
  assert.equal((await decodeFace({ kind: "file", path: good }, 8)).length, 8 * 8 * 3);
});

Deno.test("buildImageStore() keeps the good image and lists the FIFO, the /dev/zero link and the huge header as skipped", async () => {
  const huge = join(dir, "huge2.png");
  writeFileSync(huge, pngHeaderOnly(16000, 16000));
  const sources = [good, zero, huge, ...(hasFifo ? [fifo] : []), good].map((path) => ({ kind: "file" as const, path }));
  const built = await buildImageStore(sources, { size: 8 });
  assert.deepEqual([...built.kept], [0, sources.length - 1]);
  assert.deepEqual(built.failed.map((f) => f.index), [1, 2, ...(hasFifo ? [3] : [])]);
  assert.match(built.failed[0].reason, /is a device/);
  assert.match(built.failed[1].reason, /16000x16000 pixels/);
  if (hasFifo) assert.match(built.failed[2].reason, /is a FIFO/);
  built.store.close();
});

Deno.test("readLabelFile() refuses a FIFO, /dev/zero and a file above the cap as one DatasetError line", async () => {
  if (hasFifo) {
    await assert.rejects(() => readLabelFile(fifo, "RAF-DB label file"), (e: Error) => {
      assert.ok(e instanceof DatasetError);
      assert.match(e.message, /^RAF-DB label file .*fifo\.jpg is a FIFO \(named pipe\); expected a regular file$/);
      return true;
    });
  }
  await assert.rejects(
    () => readLabelFile("/dev/zero", "FER2013 CSV"),
    /^DatasetError: FER2013 CSV \/dev\/zero is a device/,
  );
  await assert.rejects(() => readLabelFile(join(dir, "none.txt"), "RAF-DB label file"), /none\.txt is missing/);
  Deno.env.set("ADADF_MAX_LABEL_FILE_BYTES", "10");
  try {
    await assert.rejects(
      () => readLabelFile(good, "FERPlus labels"),
      /above the limit of 10 bytes \(raise it with ADADF_MAX_LABEL_FILE_BYTES\)/,
    );
  } finally {
    Deno.env.delete("ADADF_MAX_LABEL_FILE_BYTES");
  }
});

Deno.test("the label parsers refuse a line above ADADF_MAX_LINE_CHARS, naming file:line", () => {
  const long = "x".repeat(70_000);
  assert.throws(
    () => parseRafLabels(`train_00001.jpg 5\n${long} 1\n`, "list_patition_label.txt"),
    /^DatasetError: list_patition_label\.txt:2: a line of 70002 characters, above the limit of 65536 \(raise it with ADADF_MAX_LINE_CHARS\)$/,
  );
  assert.throws(
    () =>
      parseAffectNetCsv(
        `subDirectory_filePath,face_x,face_y,face_width,face_height,expression\n${long}\n`,
        "training.csv",
      ),
    /training\.csv:2: a line of 70000 characters/,
  );
  const csv = new TextEncoder().encode(`emotion,pixels,Usage\n0,${"1 ".repeat(40_000)},Training\n`);
  assert.throws(() => parseFer2013Csv(csv, "fer2013.csv"), /fer2013\.csv:2: a line of 80011 characters/);
});

/** readRegularFileSync/readRegularFile/readJsonFileSync/readNpyFile and decodeNpy on hostile and clumsy files (issue 13, items 2, 3, 8). */
import assert from "node:assert/strict";
import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  decodeNpy,
  encodeNpy,
  InputFileError,
  readJsonFileSync,
  readNpyFile,
  readRegularFile,
  readRegularFileSync,
} from "../../lib/util/files.ts";

const dir = Deno.makeTempDirSync({ prefix: "input-files-" });
const fifo = join(dir, "fifo");
const hasFifo = (await new Deno.Command("mkfifo", { args: [fifo] }).output()).success;

function oneLine(re: RegExp, path: string) {
  return (e: unknown) => {
    assert.ok(e instanceof InputFileError, String(e));
    assert.ok(!e.message.includes("\n"));
    assert.ok(e.message.startsWith(`${path}: `), e.message);
    assert.match(e.message, re);
    return true;
  };
}

Deno.test("readRegularFileSync() refuses a device, a link to /dev/zero, a FIFO, a folder and a file above the cap, at once", async () => {
  const t0 = performance.now();
  assert.throws(
    () => readRegularFileSync("/dev/zero", { what: "--weights" }),
    oneLine(/--weights is a device; expected a regular file/, "/dev/zero"),
  );
  const link = join(dir, "zero.jpg");
  symlinkSync("/dev/zero", link);
  assert.throws(() => readRegularFileSync(link), oneLine(/is a device/, link));
  await assert.rejects(() => readRegularFile(link), oneLine(/is a device/, link));
  if (hasFifo) {
    assert.throws(() => readRegularFileSync(fifo, { what: "--npy" }), oneLine(/--npy is a FIFO \(named pipe\)/, fifo));
    await assert.rejects(() => readRegularFile(fifo), oneLine(/is a FIFO/, fifo));
  }
  assert.throws(() => readRegularFileSync(dir), oneLine(/is a folder/, dir));
  assert.throws(() => readRegularFileSync(join(dir, "nope")), oneLine(/does not exist/, join(dir, "nope")));
  const big = join(dir, "big.bin");
  writeFileSync(big, new Uint8Array(4096));
  assert.throws(
    () => readRegularFileSync(big, { maxBytes: 1000 }),
    oneLine(/is 4\.0 KiB, above the limit of 1000 bytes/, big),
  );
  assert.equal(readRegularFileSync(big).length, 4096);
  assert.equal((await readRegularFile(big)).length, 4096);
  assert.ok(performance.now() - t0 < 2000);
});

Deno.test("readRegularFileSync() names the environment variable that raises a named limit", () => {
  const big = join(dir, "env.bin");
  writeFileSync(big, new Uint8Array(100));
  Deno.env.set("ADADF_MAX_JSON_BYTES", "50");
  try {
    assert.throws(
      () => readRegularFileSync(big, { maxBytes: "ADADF_MAX_JSON_BYTES" }),
      /above the limit of 50 bytes \(raise it with ADADF_MAX_JSON_BYTES\)/,
    );
  } finally {
    Deno.env.delete("ADADF_MAX_JSON_BYTES");
  }
  assert.equal(readRegularFileSync(big, { maxBytes: "ADADF_MAX_JSON_BYTES" }).length, 100);
});

Deno.test("readJsonFileSync() reads a config, refuses /dev/zero and names bad JSON with the path", () => {
  const p = join(dir, "c.json");
  writeFileSync(p, '{"epochs": 2}');
  assert.deepEqual(readJsonFileSync(p), { epochs: 2 });
  assert.throws(
    () => readJsonFileSync("/dev/zero", { what: "--config" }),
    oneLine(/--config is a device/, "/dev/zero"),
  );
  writeFileSync(p, "{epochs");
  assert.throws(() => readJsonFileSync(p, { what: "--config" }), oneLine(/--config is not valid JSON/, p));
});

/** An .npy with a hand-written header (padded as numpy pads it) and `data` bytes. */
function npy(header: string, data = new Uint8Array(0)): Uint8Array {
  let h = header;
  while ((10 + h.length + 1) % 64 !== 0) h += " ";
  h += "\n";
  const out = new Uint8Array(10 + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(new TextEncoder().encode(h), 10);
  out.set(data, 10 + h.length);
  return out;
}

Deno.test("decodeNpy() parses the header as numpy's dict literal and refuses negative, fractional and oversized shapes", () => {
  const f32 = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  const ok = decodeNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32));
  assert.deepEqual(ok.shape, [2, 3]);
  assert.deepEqual([...ok.data], [1, 2, 3, 4, 5, 6]);
  // the keys in another order and double quotes are still numpy's header
  assert.deepEqual(decodeNpy(npy('{"shape": (6,), "fortran_order": False, "descr": "<f4"}', f32)).shape, [6]);
  const cases: [string, RegExp][] = [
    [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, -3), }",
      /shape \[-2,-3\] is not a tuple of integers >= 0/,
    ],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2.5, 2), }", /not a Python literal/],
    [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000), }",
      /needs 4000000000000000 bytes of <f4 data, the file holds 24/,
    ],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }", /needs 48 bytes of <f4 data, the file holds 24/],
    // a regex would have read the shape inside the string
    [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': \"'shape': (1,)\"}",
      /keys descr, fortran_order, shape, x; expected/,
    ],
    ["{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", /dtype "<i8" is not supported/],
    ["{'descr': '<f4', 'fortran_order': True, 'shape': (6,), }", /Fortran order/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': __import__('os'), }", /not a Python literal/],
    ["[1, 2]", /header is not a dict/],
  ];
  for (const [h, re] of cases) assert.throws(() => decodeNpy(npy(h, f32)), re, h);
  assert.throws(() => decodeNpy(new Uint8Array(5)), /not a \.npy file/);
  const cut = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", f32);
  new DataView(cut.buffer).setUint16(8, 60000, true);
  assert.throws(() => decodeNpy(cut), /header of 60000 bytes runs past the end/);
});

Deno.test("readNpyFile() names the path for a bad file, a FIFO and /dev/zero", () => {
  const p = join(dir, "x.npy");
  writeFileSync(p, encodeNpy(new Float32Array(12), [1, 3, 2, 2]));
  assert.deepEqual(readNpyFile(p).shape, [1, 3, 2, 2]);
  writeFileSync(p, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }"));
  assert.throws(() => readNpyFile(p), oneLine(/shape \[-1,3\]/, p));
  assert.throws(() => readNpyFile("/dev/zero"), oneLine(/\.npy file is a device/, "/dev/zero"));
  if (hasFifo) assert.throws(() => readNpyFile(fifo), oneLine(/is a FIFO/, fifo));
});

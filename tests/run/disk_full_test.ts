/**
 * Disk full during a run: a small tmpfs (needs root and mount; skipped loudly otherwise) fills
 * up at some epoch's writes; the run stops with one error: line and the newest checkpoint
 * on disk still verifies, with no temp file left behind.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { readCheckpoint } from "../../lib/run/checkpoint.ts";

const TRAIN = new URL("../../tasks/train.ts", import.meta.url).pathname;
const mnt = await Deno.makeTempDir({ prefix: "adadf-tmpfs-" });
const mounted =
  (await new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=12m", "tmpfs", mnt], stderr: "null" })
    .output().catch(() => ({ success: false }))).success;
if (!mounted && Deno.env.get("CI") === "true") {
  throw new Error("CI=true but a tmpfs cannot be mounted: the disk-full test needs root, as CI runs");
}
if (!mounted) {
  console.warn("\n!!! SKIPPED: the disk-full test, because a tmpfs cannot be mounted here (needs root) !!!\n");
}

Deno.test({
  name: "a full disk stops the run at the write with one error: line; the previous checkpoint stays intact",
  ignore: !mounted,
  fn: async () => {
    const out = `${mnt}/run`;
    try {
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--v8-flags=--expose-gc",
          TRAIN,
          "--epochs",
          "8",
          "--synth-train",
          "112",
          "--synth-test",
          "35",
          "--image-size",
          "32",
          "--width",
          "8",
          "--batch-size",
          "16",
          "--quiet",
          "--out",
          out,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 1, stderr);
      assert.match(stderr.trim().split("\n").at(-1)!, /^error: cannot write .*(ENOSPC|No space left)/);
      const files = readdirSync(out).concat(existsSync(`${out}/checkpoints`) ? readdirSync(`${out}/checkpoints`) : []);
      assert.deepEqual(files.filter((f) => f.includes(".tmp-")), [], "temp files left behind");
      const cks = existsSync(`${out}/checkpoints`) ? readdirSync(`${out}/checkpoints`).sort() : [];
      assert.ok(cks.length >= 1, `no checkpoint was written before the disk filled up: ${files}`);
      readCheckpoint(`${out}/checkpoints/${cks.at(-1)}`); // verifies the checksum
    } finally {
      await new Deno.Command("umount", { args: [mnt] }).output();
      await Deno.remove(mnt, { recursive: true });
    }
  },
});

if (!mounted) await Deno.remove(mnt, { recursive: true });

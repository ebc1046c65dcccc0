import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { benchFaces } from "../../lib/faces/bench.ts";

Deno.test("benchFaces() times detection + alignment of the 1920x1280 sample photo", async () => {
  await initBackend("wasm");
  const r = await benchFaces({ repeats: 1 });
  assert.deepEqual([r.width, r.height, r.faces], [1920, 1280, 3]);
  assert.ok(r.photosPerSecond > 0 && Math.abs(r.photosPerSecond * r.secondsPerPhoto - 1) < 1e-9);
  assert.ok(r.detectSeconds > 0 && r.detectSeconds < r.secondsPerPhoto);
});

/**
 * The house plan (README "What is here"): imports run one way, from the shells down to the
 * ground floor. Reads every import of lib/ and checks each against the floors.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
/** Floors: a module may import from its own floor or a lower one. */
const FLOOR: Record<string, number> = {
  util: 0,
  method: 0,
  config: 1,
  data: 1,
  model: 1,
  kernels: 1,
  analysis: 1,
  backend: 2,
  viz: 2,
  train: 3,
  run: 3,
  infer: 3,
  experiment: 3,
  bench: 3,
  faces: 3,
};
/** The one upward arrow, type-only: viz draws the run folder's records. */
const TYPE_ONLY_UP = new Set(["viz->run"]);

function* files(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* files(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

/** [from layer, to layer, type-only, file] for every import between layers of lib/. */
function edges(): [string, string, boolean, string][] {
  const out: [string, string, boolean, string][] = [];
  const lib = join(ROOT, "lib");
  for (const f of files(lib)) {
    const layer = (p: string) => relative(lib, p).split("/")[0].replace(/\.ts$/, "");
    const src = Deno.readTextFileSync(f);
    for (const m of src.matchAll(/^(import|export)(\s+type)?\s[^;]*?from\s+"(\.[^"]+)"/gms)) {
      const target = normalize(join(dirname(f), m[3]));
      if (!target.startsWith(lib)) continue;
      const [a, b] = [layer(f), layer(target)];
      if (a !== b) out.push([a, b, m[2] !== undefined, relative(ROOT, f)]);
    }
  }
  return out;
}

Deno.test("lib/ imports run downwards: each layer only from its own floor or below (one type-only exception)", () => {
  const all = edges();
  assert.ok(all.length > 50, `found only ${all.length} imports between layers`);
  for (const [a, b, typeOnly, file] of all) {
    assert.ok(a in FLOOR && b in FLOOR, `${file}: layer ${a} or ${b} has no floor in the house plan`);
    if (FLOOR[b] <= FLOOR[a]) continue;
    assert.ok(
      typeOnly && TYPE_ONLY_UP.has(`${a}->${b}`),
      `${file}: ${a} (floor ${FLOOR[a]}) imports ${b} (floor ${FLOOR[b]})`,
    );
  }
});

Deno.test("model/ imports neither backend/ nor kernels/; kernels/ knows nothing of the rest of the toolkit", () => {
  for (const [a, b, , file] of edges()) {
    if (a === "model") assert.ok(b !== "backend" && b !== "kernels", `${file} imports ${b}`);
    if (a === "kernels") assert.ok(b === "util", `${file}: the kernels package imports ${b}`);
  }
});

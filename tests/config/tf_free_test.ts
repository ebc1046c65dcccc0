/**
 * Parsing flags and `--help` load no TF.js: the modules a task imports statically (what runs
 * before its lazy `await import(...)` of the implementation) reach no npm package, in
 * particular no @tensorflow one, and not lib/backend/backend.ts (TF.js, wasm, OpenBLAS).
 * Checked on the module graph `deno info --json` reports, following static imports only.
 */
import assert from "node:assert/strict";

interface InfoModule {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
}

async function staticClosure(entry: string): Promise<string[]> {
  const path = new URL(entry, import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", path], stdout: "piped" }).output();
  assert.ok(out.success, `deno info ${entry} failed`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  while (stack.length > 0) {
    let s = stack.pop()!;
    s = info.redirects[s] ?? s;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of bySpecifier.get(s)?.dependencies ?? []) {
      // type-only imports have no `code`; lazy imports are `isDynamic`
      if (d.code !== undefined && !d.isDynamic) stack.push(d.code.specifier);
    }
  }
  return [...seen];
}

const ENTRIES = [
  "../../lib/config.ts",
  "../../lib/config/flags.ts",
  "../../lib/config/presets.ts",
  "../../tasks/train.ts",
  "../../tasks/eval.ts",
  "../../tasks/predict.ts",
  "../../tasks/compare.ts",
  "../../tasks/bench.ts",
];

for (const entry of ENTRIES) {
  const name = entry.replace("../../", "");
  Deno.test(`${name} imports no TF.js (nor any npm package) before its lazy imports`, async () => {
    const reached = await staticClosure(entry);
    assert.ok(reached.length > 0);
    const heavy = reached.filter((s) =>
      s.startsWith("npm:") || s.includes("@tensorflow") || /lib\/backend\/backend\.ts$/.test(s)
    );
    assert.deepEqual(heavy, [], `${name} loads ${heavy.join(", ")}`);
  });
}

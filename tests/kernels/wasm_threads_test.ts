import assert from "node:assert/strict";
import { installWasmThreads } from "../../lib/kernels/wasm_threads.ts";

const PROBE = new URL("../../tools/bench/wasm_threads_probe.ts", import.meta.url).pathname;

/** Runs the probe in its own process (the backend is process-wide) and parses its JSON line. */
async function probe(threads: number, ...flags: string[]): Promise<{ threads: number; sums: number[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PROBE, "--threads", String(threads), ...flags],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000), // a process kept alive by its pthreads is killed here, and fails
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.equal(out.code, 0, `probe failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  return JSON.parse(text.split("\n").at(-1)!);
}

Deno.test("installWasmThreads(2) starts a 2-thread wasm pool whose conv, conv gradients and sums equal 1 thread's", async () => {
  const [one, two] = [await probe(1), await probe(2)];
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2);
  for (const [i, s] of one.sums.entries()) {
    assert.ok(Math.abs(two.sums[i] - s) <= 1e-5 * Math.abs(s), `sum ${i}: ${two.sums[i]} vs ${s}`);
  }
});

Deno.test("installWasmThreads() rejects a thread count that is not a positive integer", () => {
  assert.throws(() => installWasmThreads(0), RangeError);
  assert.throws(() => installWasmThreads(1.5), RangeError);
});

Deno.test("a script on the threaded wasm backend ends after its last line without stopWasmThreads()", async () => {
  const t0 = performance.now();
  const out = await probe(2, "--keep-threads");
  assert.equal(out.threads, 2);
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(seconds < 60, `the process took ${seconds.toFixed(0)} s to end`);
});

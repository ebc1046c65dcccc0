/** Test helpers for tests/method: closeness asserts and a tensor-leak check. */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";

/** Asserts |actual[i] - expected[i]| <= tol for every i (NaN matches NaN and null). */
export function assertClose(
  actual: ArrayLike<number> | number,
  expected: ArrayLike<number | null> | number | null,
  tol = 1e-6,
  what = "value",
): void {
  const a = typeof actual === "number" ? [actual] : Array.from(actual);
  const e = typeof expected === "number" || expected === null ? [expected] : Array.from(expected);
  assert.equal(a.length, e.length, `${what}: length ${a.length}, expected ${e.length}`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const ei = e[i];
    if (ei === null || Number.isNaN(ei)) {
      assert.ok(Number.isNaN(a[i]), `${what}[${i}] = ${a[i]}, expected NaN`);
      continue;
    }
    const d = Math.abs(a[i] - ei);
    if (!(d <= worst)) [worst, at] = [d, i];
  }
  assert.ok(worst <= tol, `${what}: max abs difference ${worst} at [${at}] (${a[at]} vs ${e[at]}) exceeds ${tol}`);
}

/** Reads a tensor's values as a plain array. */
export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Runs `f`, then asserts no tensor was left allocated. */
export function assertNoLeak(f: () => void, what = "the call"): void {
  const before = tf.memory().numTensors;
  f();
  const after = tf.memory().numTensors;
  assert.equal(after, before, `${what} leaked ${after - before} tensor(s)`);
}

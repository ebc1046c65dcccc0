/** Shared by the backend kernel tests: how far a kernel's output is from the reference backend's. */
import assert from "node:assert/strict";

/** max |a - b| / max |b|: the worst error relative to the reference's largest value. */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    err = Math.max(err, Math.abs(a[i] - b[i]));
  }
  return err / Math.max(scale, 1e-12);
}

/** Shared by the backend kernel tests: how far a kernel's output is from the reference backend's. */
import assert from "node:assert/strict";
import { loadDnnl } from "../../lib/kernels/dnnl.ts";

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

/**
 * Keeps oneDNN out of this test module's isolate (`loadDnnl` keeps its first answer per isolate;
 * the process's environment is put back): for the tests of the kernels oneDNN would otherwise
 * take over (the JavaScript BatchNorm, the OpenBLAS and XNNPACK convolutions). oneDNN's own
 * kernels are tested in dnnl_kernels_test.ts.
 */
export function withoutDnnl(): void {
  const setting = Deno.env.get("ADADF_DNNL");
  Deno.env.set("ADADF_DNNL", "off");
  loadDnnl();
  if (setting === undefined) Deno.env.delete("ADADF_DNNL");
  else Deno.env.set("ADADF_DNNL", setting);
}

/** Shared by the backend kernel tests: how far a kernel's output is from the reference backend's. */
import assert from "node:assert/strict";
import { type DnnlResult, loadDnnl } from "../../lib/kernels/dnnl.ts";

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
 * Opens oneDNN for this test module's isolate with `ADADF_DNNL` set to `setting` for the call
 * (`loadDnnl` keeps its first answer per isolate), then puts the process's environment back, so
 * that the other test modules keep theirs.
 */
export function loadDnnlAs(setting: "on" | "off", options: { threads?: number } = {}): DnnlResult {
  const before = Deno.env.get("ADADF_DNNL");
  Deno.env.set("ADADF_DNNL", setting);
  try {
    return loadDnnl(options);
  } finally {
    if (before === undefined) Deno.env.delete("ADADF_DNNL");
    else Deno.env.set("ADADF_DNNL", before);
  }
}

/**
 * Keeps oneDNN out of this test module's isolate: for the tests of the kernels oneDNN would
 * otherwise take over (the JavaScript BatchNorm, the OpenBLAS and XNNPACK convolutions). oneDNN's
 * own kernels are tested in dnnl_kernels_test.ts.
 */
export function withoutDnnl(): void {
  loadDnnlAs("off");
}

/**
 * [..., M, K] . [..., K, N] by loops, batch dimensions broadcast as numpy does (the reference:
 * TF.js 4.22's cpu and wasm kernels return wrong values when batches broadcast partly or on both sides).
 */
export function matMulByLoops(
  av: Float32Array,
  as: number[],
  bv: Float32Array,
  bs: number[],
  ta: boolean,
  tb: boolean,
) {
  const [ar, ac] = as.slice(-2);
  const [br, bc] = bs.slice(-2);
  const [m, k, n] = [ta ? ac : ar, ta ? ar : ac, tb ? br : bc];
  const aOuter = as.slice(0, -2);
  const bOuter = bs.slice(0, -2);
  const rank = Math.max(aOuter.length, bOuter.length);
  const pad = (d: number[]) => [...Array(rank - d.length).fill(1), ...d];
  const [pa, pb] = [pad(aOuter), pad(bOuter)];
  const outer = pa.map((d, i) => Math.max(d, pb[i]));
  const batch = outer.reduce((p, d) => p * d, 1);
  const flat = (dims: number[], idx: number[]) => idx.reduce((f, v, i) => f * dims[i] + (dims[i] === 1 ? 0 : v), 0);
  const out = new Float32Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) {
    const idx: number[] = [];
    for (let d = outer.length - 1, r = bi; d >= 0; d--) {
      idx.unshift(r % outer[d]);
      r = Math.floor(r / outer[d]);
    }
    const a0 = flat(pa, idx) * ar * ac;
    const b0 = flat(pb, idx) * br * bc;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let q = 0; q < k; q++) {
          sum += av[a0 + (ta ? q * ac + i : i * ac + q)] * bv[b0 + (tb ? j * bc + q : q * bc + j)];
        }
        out[(bi * m + i) * n + j] = sum;
      }
    }
  }
  return { shape: [...outer, m, n], data: out };
}

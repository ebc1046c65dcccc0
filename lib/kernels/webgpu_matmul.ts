/**
 * `BatchMatMul` for the `webgpu` backend on the same tiled GEMM as the convolutions
 * (_wgsl.ts): a [Ba, M, K] (or transposed [Ba, K, M]) times b [Bb, K, N] (or [Bb, N, K]) ->
 * [B, M, N], one dispatch z per batch, where a batch of 1 broadcasts against the other. A single
 * product (batch 1) with few output tiles splits its K over workgroups (split-K) like the
 * filter gradient. Batch shapes that broadcast otherwise are left to TF.js's kernel (register.ts).
 * Checked against the `cpu` backend in tests/kernels/webgpu_gemm_test.ts.
 */
import type * as tf from "@tensorflow/tfjs";
import { i32, runGemm, type WebgpuBackendLike } from "./_wgsl.ts";

/** The batch shapes of a and b and the output's, or undefined where this kernel does not take them. */
export function matmulBatches(
  aShape: number[],
  bShape: number[],
): { ba: number; bb: number; outer: number[] } | undefined {
  const aOuter = aShape.slice(0, -2);
  const bOuter = bShape.slice(0, -2);
  const ba = aOuter.reduce((p, q) => p * q, 1);
  const bb = bOuter.reduce((p, q) => p * q, 1);
  if (ba === 1) return { ba, bb, outer: bOuter.length >= aOuter.length ? bOuter : aOuter.map(() => 1) };
  if (bb === 1) return { ba, bb, outer: aOuter.length >= bOuter.length ? aOuter : bOuter.map(() => 1) };
  if (aOuter.length === bOuter.length && aOuter.every((d, i) => d === bOuter[i])) return { ba, bb, outer: aOuter };
  return undefined;
}

/** a . b with optional transposes; shapes as TF.js's `BatchMatMul` (rank >= 2, float32). */
export function batchMatMulWebgpu(
  backend: WebgpuBackendLike,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  splits?: number,
): tf.TensorInfo {
  const batches = matmulBatches(a.shape, b.shape);
  if (batches === undefined) throw new RangeError(`batch shapes ${a.shape} and ${b.shape} do not broadcast simply`);
  const ar = a.shape.length;
  const br = b.shape.length;
  const m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  const n = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  if (k !== kb) throw new RangeError(`inner dimensions differ: a ${a.shape} (transposed ${transposeA}), b ${b.shape}`);
  const batch = Math.max(batches.ba, batches.bb);
  // A(z, row, k): a's element, transposed or not; a batch of 1 broadcasts (stride 0)
  const readA = transposeA
    ? "A[za * uniforms.M * uniforms.K + k * uniforms.M + row]"
    : "A[za * uniforms.M * uniforms.K + row * uniforms.K + k]";
  const readB = transposeB
    ? "B[zb * uniforms.K * uniforms.N + col * uniforms.K + k]"
    : "B[zb * uniforms.K * uniforms.N + k * uniforms.N + col]";
  const out = runGemm(backend, {
    name: `matmul_${transposeA}_${transposeB}`,
    kernel: "matmul",
    inputs: [a, b],
    names: ["A", "B"],
    batch,
    m,
    n,
    k,
    uniforms: "batchA : i32, batchB : i32,",
    values: [i32(batches.ba), i32(batches.bb)],
    // along k in memory when a is not transposed
    aKFast: !transposeA,
    splits,
    body: `
      fn mm_readA(z : i32, row : i32, k : i32) -> f32 {
        let za = select(z, 0, uniforms.batchA == 1);
        return ${readA};
      }
      fn mm_readB(z : i32, k : i32, col : i32) -> f32 {
        let zb = select(z, 0, uniforms.batchB == 1);
        return ${readB};
      }`,
  });
  return { ...out, shape: [...batches.outer, m, n] };
}

/** `BatchMatMul` for the `wasm` backend on OpenBLAS: one `sgemm` per batch entry, on the heap. */
import * as tf from "@tensorflow/tfjs";
import type { OpenBlas } from "./openblas.ts";
import { heapPointer, offsetOf, type WasmBackendLike } from "./_wasm_heap.ts";

type TensorInfo = tf.TensorInfo;

/**
 * Maps a flat index over the broadcast batch shape `outer` to the flat index of the operand's
 * own batch shape `dims` (right-aligned; dimensions of 1 repeat).
 */
function broadcastIndex(dims: number[], outer: number[]): (i: number) => number {
  const shift = outer.length - dims.length;
  return (i) => {
    let index = 0;
    let stride = 1;
    let rest = i;
    for (let d = outer.length - 1; d >= 0; d--) {
      const pos = rest % outer[d];
      rest = Math.floor(rest / outer[d]);
      const own = d - shift;
      if (own >= 0) {
        if (dims[own] !== 1) index += pos * stride;
        stride *= dims[own];
      }
    }
    return index;
  };
}

/** [..., M, K] . [..., K, N] with the batch dimensions broadcast as numpy does. */
export function batchMatMul(
  blas: OpenBlas,
  backend: WasmBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): TensorInfo {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const ka = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (ka !== kb) {
    throw new Error(`matMul: inner shapes ${ka} and ${kb} of [${a.shape}] and [${b.shape}] must match`);
  }
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = outer.reduce((p, d) => p * d, 1);
  const out = backend.makeOutput([...outer, m, n], "float32");
  if (m * n === 0) return out;
  const aAt = offsetOf(backend, a);
  const bAt = offsetOf(backend, b);
  const cAt = offsetOf(backend, out);
  const lda = transposeA ? m : ka;
  const ldb = transposeB ? ka : n;
  const aIndex = broadcastIndex(a.shape.slice(0, -2), outer);
  const bIndex = broadcastIndex(b.shape.slice(0, -2), outer);
  for (let i = 0; i < batch; i++) {
    const ap = heapPointer(backend, aAt + aIndex(i) * m * ka * 4);
    const bp = heapPointer(backend, bAt + bIndex(i) * ka * n * 4);
    blas.sgemm(transposeA, transposeB, m, n, ka, ap, lda, bp, ldb, 0, heapPointer(backend, cAt + i * m * n * 4), n);
  }
  return out;
}

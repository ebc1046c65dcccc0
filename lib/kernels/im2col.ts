/**
 * im2col and its adjoint for NHWC convolutions on the `wasm` heap (conv2d_blas.ts multiplies
 * the blocks they build with OpenBLAS).
 */
import type * as tf from "@tensorflow/tfjs";

/** im2col blocks hold at most this many floats (64 MiB), or one image's rows where those are more. */
export const BLOCK_FLOATS = 16 * 1024 * 1024;
/** The limit in force (`setBlockFloats` changes it). */
export let blockFloats = BLOCK_FLOATS;

/** Sets the im2col block limit (tests use a small one to exercise several blocks); returns the previous limit. */
export function setBlockFloats(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`block size must be a positive integer, got ${n}`);
  const prev = blockFloats;
  blockFloats = n;
  return prev;
}

type ConvInfo = tf.backend_util.Conv2DInfo;

/**
 * Rows [n0*OH*OW, n1*OH*OW) of the im2col matrix of x (float index `xAt` in `heap`) into
 * `col`: col[r, (kh*KW + kw)*Cin + c] = x[n, oh*sh - top + kh*dh, ow*sw - left + kw*dw, c],
 * 0 outside the image.
 */
export function im2col(
  heap: Float32Array,
  xAt: number,
  info: ConvInfo,
  n0: number,
  n1: number,
  col: Float32Array,
): void {
  const {
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: oh,
    outWidth: ow,
    strideHeight: sh,
    strideWidth: sw,
    dilationHeight: dh,
    dilationWidth: dw,
    filterHeight: kh,
    filterWidth: kw,
    padInfo,
  } = info;
  const rowLen = kw * c; // one filter row of a window
  const k = kh * rowLen;
  let dst = 0;
  for (let n = n0; n < n1; n++) {
    const img = xAt + n * h * w * c;
    for (let y = 0; y < oh; y++) {
      const iy0 = y * sh - padInfo.top;
      for (let x = 0; x < ow; x++, dst += k) {
        const ix0 = x * sw - padInfo.left;
        // taps kx in [lo, hi) fall inside the image
        const lo = dw === 1 ? Math.max(0, -ix0) : 0;
        const hi = dw === 1 ? Math.min(kw, w - ix0) : kw;
        for (let ky = 0; ky < kh; ky++) {
          const iy = iy0 + ky * dh;
          const d = dst + ky * rowLen;
          if (iy < 0 || iy >= h) {
            col.fill(0, d, d + rowLen);
            continue;
          }
          const rowAt = img + iy * w * c;
          if (dw === 1) {
            if (lo > 0) col.fill(0, d, d + lo * c);
            if (hi > lo) {
              const s = rowAt + (ix0 + lo) * c;
              const len = (hi - lo) * c;
              const o = d + lo * c;
              if (len < 48) { for (let i = 0; i < len; i++) col[o + i] = heap[s + i]; }
              else col.set(heap.subarray(s, s + len), o);
            }
            if (hi < kw) col.fill(0, d + Math.max(hi, lo) * c, d + rowLen);
          } else {
            for (let kx = 0; kx < kw; kx++) {
              const ix = ix0 + kx * dw;
              const o = d + kx * c;
              if (ix < 0 || ix >= w) col.fill(0, o, o + c);
              else col.set(heap.subarray(rowAt + ix * c, rowAt + ix * c + c), o);
            }
          }
        }
      }
    }
  }
}

/**
 * The adjoint of `im2col`: adds rows [n0*OH*OW, n1*OH*OW) of `col` back into x (float index
 * `xAt` in `heap`) at the pixels they were read from; taps outside the image are dropped.
 */
export function col2imAdd(
  col: Float32Array,
  info: ConvInfo,
  n0: number,
  n1: number,
  heap: Float32Array,
  xAt: number,
): void {
  const {
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: oh,
    outWidth: ow,
    strideHeight: sh,
    strideWidth: sw,
    dilationHeight: dh,
    dilationWidth: dw,
    filterHeight: kh,
    filterWidth: kw,
    padInfo,
  } = info;
  const rowLen = kw * c;
  const k = kh * rowLen;
  let src = 0;
  for (let n = n0; n < n1; n++) {
    const img = xAt + n * h * w * c;
    for (let y = 0; y < oh; y++) {
      const iy0 = y * sh - padInfo.top;
      for (let x = 0; x < ow; x++, src += k) {
        const ix0 = x * sw - padInfo.left;
        const lo = dw === 1 ? Math.max(0, -ix0) : 0;
        const hi = dw === 1 ? Math.min(kw, w - ix0) : kw;
        for (let ky = 0; ky < kh; ky++) {
          const iy = iy0 + ky * dh;
          if (iy < 0 || iy >= h) continue;
          const s = src + ky * rowLen;
          const rowAt = img + iy * w * c;
          if (dw === 1) {
            if (hi <= lo) continue;
            const o = rowAt + (ix0 + lo) * c;
            const from = s + lo * c;
            const len = (hi - lo) * c;
            for (let i = 0; i < len; i++) heap[o + i] += col[from + i];
          } else {
            for (let kx = 0; kx < kw; kx++) {
              const ix = ix0 + kx * dw;
              if (ix < 0 || ix >= w) continue;
              const o = rowAt + ix * c;
              const from = s + kx * c;
              for (let i = 0; i < c; i++) heap[o + i] += col[from + i];
            }
          }
        }
      }
    }
  }
}

/**
 * 3x3 stride-1 "same" convolutions (forward and filter gradient) on OpenBLAS as nine products
 * of shifted views of one padded copy, without im2col (conv2d_blas.ts picks them where they pay).
 */
import type * as tf from "@tensorflow/tfjs";
import type { OpenBlas } from "./openblas.ts";
import { heapPointer, offsetOf, tensorView, type WasmBackendLike } from "./_wasm_heap.ts";
import { blockFloats } from "./im2col.ts";

type TensorInfo = tf.TensorInfo;
type ConvInfo = tf.backend_util.Conv2DInfo;

/** Below this many pixels per image im2col is faster than `shiftedConv3x3` (measured at 7x7 and 4x4). */
export const SHIFTED_MIN_PIXELS = 100;

let padded = new Float32Array(0);
let paddedOut = new Float32Array(0);

/**
 * Copies t [N, H, W, ch] (float index `at` in `heap`) into `dst` in the shifted layout: from
 * float `base` on, rows of W + 1 pixels, each image after one shared zero row; everything else zero.
 */
function padInto(dst: Float32Array, base: number, heap: Float32Array, at: number, info: ConvInfo, ch: number): void {
  const { batchSize: n, inHeight: h, inWidth: w } = info;
  const wp = w + 1;
  const hp = h + 1;
  dst.fill(0, 0, base + (n * hp + 2) * wp * ch);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const from = at + (b * h + y) * w * ch;
      dst.set(heap.subarray(from, from + w * ch), base + ((b * hp + y + 1) * wp) * ch);
    }
  }
}

/** A 3x3, stride-1, pad-1 convolution that `shiftedConv3x3` can run. */
export function isShiftable(info: ConvInfo): boolean {
  const p = info.padInfo;
  return info.filterHeight === 3 && info.filterWidth === 3 && info.strideHeight === 1 && info.strideWidth === 1 &&
    info.dilationHeight === 1 && info.dilationWidth === 1 && p.top === 1 && p.bottom === 1 && p.left === 1 &&
    p.right === 1 && info.inHeight * info.inWidth >= SHIFTED_MIN_PIXELS &&
    (info.batchSize * (info.inHeight + 1) + 2) * (info.inWidth + 1) * Math.max(info.inChannels, info.outChannels) <=
      blockFloats;
}

/**
 * A 3x3 stride-1 "same" convolution as nine products of shifted views, without im2col: x is
 * copied once into a layout where images share their zero rows and each row ends with one
 * zero column (rows of width W + 1; row 0 of each image and one guard pixel are zeros), so
 * that output row q reads input row q + (kh - 1)(W + 1) + (kw - 1) for tap (kh, kw) whatever
 * the image. y_padded[q] += x_padded[q + shift] . W[kh, kw] over all rows at once (the rows
 * that fall on padding compute values nobody reads), then the valid rows are copied out. At
 * 13x13 and 25x25 this is 1.3-2.2x faster than im2col + one product; the rows on padding make
 * it slower below about 10x10.
 */
export function shiftedConv3x3(
  blas: OpenBlas,
  backend: WasmBackendLike,
  x: TensorInfo,
  filter: Deno.PointerValue,
  info: ConvInfo,
  out: TensorInfo,
): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outChannels: cout } = info;
  const wp = w + 1;
  const hp = h + 1;
  const size = c + (n * hp + 2) * wp * c; // guard pixel + rows
  if (padded.length < size) padded = new Float32Array(size);
  if (paddedOut.length < (n * hp + 2) * wp * cout) paddedOut = new Float32Array((n * hp + 2) * wp * cout);
  padInto(padded, c, tensorView(backend, x), 0, info, c);
  const q0 = wp; // image 0, row 1, column 0
  const rows = ((n - 1) * hp + h) * wp + w - q0; // through the last image's last pixel
  const yPtr = Deno.UnsafePointer.offset(Deno.UnsafePointer.of(paddedOut)!, q0 * cout * 4);
  for (let t = 0; t < 9; t++) {
    const shift = (Math.floor(t / 3) - 1) * wp + (t % 3) - 1;
    const xPtr = Deno.UnsafePointer.offset(Deno.UnsafePointer.of(padded)!, (c + (q0 + shift) * c) * 4);
    const wPtr = Deno.UnsafePointer.offset(filter!, t * c * cout * 4);
    blas.sgemm(false, false, rows, cout, c, xPtr, c, wPtr, cout, t === 0 ? 0 : 1, yPtr, cout);
  }
  const yView = tensorView(backend, out);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const from = ((b * hp + y + 1) * wp) * cout;
      yView.set(paddedOut.subarray(from, from + w * cout), (b * h + y) * w * cout);
    }
  }
}

/** From this many pixels per image on, the filter gradient is faster from shifted views (25x25: 29 against 38 ms). */
export const SHIFTED_FILTER_MIN_PIXELS = 400;

/**
 * dW[kh, kw] = x_padded[rows + shift]^T . dy_padded[rows] for the nine taps of a 3x3 stride-1
 * "same" convolution, in the layout of `shiftedConv3x3` (dy is zero on the padding rows).
 */
export function shiftedFilterGrad3x3(
  blas: OpenBlas,
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  info: ConvInfo,
  out: TensorInfo,
) {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outChannels: cout } = info;
  const wp = w + 1;
  const hp = h + 1;
  const size = c + (n * hp + 2) * wp * c;
  if (padded.length < size) padded = new Float32Array(size);
  if (paddedOut.length < (n * hp + 2) * wp * cout) paddedOut = new Float32Array((n * hp + 2) * wp * cout);
  padInto(padded, c, tensorView(backend, x), 0, info, c);
  padInto(paddedOut, 0, tensorView(backend, dy), 0, info, cout);
  const q0 = wp;
  const rows = ((n - 1) * hp + h) * wp + w - q0;
  const dyPtr = Deno.UnsafePointer.offset(Deno.UnsafePointer.of(paddedOut)!, q0 * cout * 4);
  const dwAt = offsetOf(backend, out);
  for (let t = 0; t < 9; t++) {
    const shift = (Math.floor(t / 3) - 1) * wp + (t % 3) - 1;
    const xPtr = Deno.UnsafePointer.offset(Deno.UnsafePointer.of(padded)!, (c + (q0 + shift) * c) * 4);
    // dW[t] [Cin, Cout] = x_shift^T [Cin, rows] . dy [rows, Cout]
    blas.sgemm(
      true,
      false,
      c,
      cout,
      rows,
      xPtr,
      c,
      dyPtr,
      cout,
      0,
      heapPointer(backend, dwAt + t * c * cout * 4),
      cout,
    );
  }
}

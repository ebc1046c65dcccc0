/**
 * The `wasm` backend's convolutions and matrix products on OpenBLAS (openblas.ts).
 *
 * Tensors stay where the wasm backend keeps them, in the WebAssembly heap; OpenBLAS reads
 * and writes them there through raw pointers, so nothing is copied in or out.
 * - `Conv2D`: im2col of a block of images into a JavaScript buffer (NHWC: each filter row
 *   of a window is one contiguous run of KW*Cin values), then one `sgemm`
 *   [rows, KH*KW*Cin] . [KH*KW*Cin, Cout] straight into the output. A 1x1 stride-1
 *   convolution is one `sgemm` on the input itself.
 * - `Conv2DBackpropFilter`: the same im2col, then dW [KH*KW*Cin, Cout] += col^T . dy,
 *   accumulated over the blocks.
 * - `Conv2DBackpropInput`: for stride 1 with many rows, the convolution of dy with the
 *   flipped, in/out-swapped filter (im2col copies again); otherwise col(dx) = dy . W^T in one
 *   `sgemm`, folded back into dx by `col2imAdd` (JavaScript adds, slower per value than
 *   copies, but no filter flip and no zero rows for strided convolutions).
 * - `BatchMatMul`: one `sgemm` per batch entry.
 * Anything else (another dtype, NCHW) goes to the kernel that was
 * registered before. Checked against the `cpu` backend in tests/backend/native_kernels_test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import type { OpenBlas } from "./openblas.ts";
import { heapPointer, offsetOf, tensorView, type WasmBackendLike } from "./_wasm_heap.ts";
import { conv2dInfo, type ConvAttrs, registerWasmKernels } from "./wasm_kernels.ts";

type TensorInfo = tf.TensorInfo;

/** im2col blocks hold at most this many floats (64 MiB), or one image's rows where those are more. */
export const BLOCK_FLOATS = 16 * 1024 * 1024;
let blockFloats = BLOCK_FLOATS;

/** Sets the im2col block limit (tests use a small one to exercise several blocks); returns the previous limit. */
export function setBlockFloats(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`block size must be a positive integer, got ${n}`);
  const prev = blockFloats;
  blockFloats = n;
  return prev;
}

let scratch = new Float32Array(0);
function scratchOf(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(size);
  return scratch;
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

/** True when the convolution reads every pixel once in place (1x1, stride 1, no padding). */
function isPointwise(info: ConvInfo): boolean {
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    info.padInfo.top === 0 && info.padInfo.left === 0 && info.outHeight === info.inHeight &&
    info.outWidth === info.inWidth;
}

/** Images per im2col block. */
function blockImages(info: ConvInfo): number {
  const perImage = info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels;
  return Math.max(1, Math.min(info.batchSize, Math.floor(blockFloats / Math.max(1, perImage))));
}

/** Rows (output pixels) per image, im2col width K = KH*KW*Cin, and Cout. */
function dims(info: ConvInfo) {
  return {
    rowsPerImage: info.outHeight * info.outWidth,
    k: info.filterHeight * info.filterWidth * info.inChannels,
    cout: info.outChannels,
  };
}

/**
 * Calls `fn` for each block of images [n0, n1) with its number of rows and the im2col buffer
 * (JavaScript memory, sized for the largest block) and its address.
 */
function forBlocks(
  info: ConvInfo,
  fn: (n0: number, n1: number, rows: number, col: Float32Array, colPtr: Deno.PointerValue) => void,
): void {
  const { rowsPerImage, k } = dims(info);
  const per = blockImages(info);
  const col = scratchOf(per * rowsPerImage * k);
  const colPtr = Deno.UnsafePointer.of(col);
  for (let n0 = 0; n0 < info.batchSize; n0 += per) {
    const n1 = Math.min(info.batchSize, n0 + per);
    fn(n0, n1, (n1 - n0) * rowsPerImage, col, colPtr);
  }
}

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
function isShiftable(info: ConvInfo): boolean {
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
function shiftedConv3x3(
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

/** y [N, OH, OW, Cout] = conv(x [N, H, W, Cin], W [KH, KW, Cin, Cout]); the filter is a tensor or JavaScript memory. */
function convolve(
  blas: OpenBlas,
  backend: WasmBackendLike,
  x: TensorInfo,
  filterOf: TensorInfo | Float32Array,
  info: ConvInfo,
) {
  const out = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.outChannels], "float32");
  const { rowsPerImage, k, cout } = dims(info);
  const xAt = offsetOf(backend, x);
  const yAt = offsetOf(backend, out);
  // addresses only after every allocation and lookup (either can grow the heap)
  const filter = filterOf instanceof Float32Array
    ? Deno.UnsafePointer.of(filterOf)
    : heapPointer(backend, offsetOf(backend, filterOf));
  if (isPointwise(info)) {
    const m = info.batchSize * rowsPerImage; // y [M, Cout] = x [M, Cin] . W [Cin, Cout]
    blas.sgemm(
      false,
      false,
      m,
      cout,
      k,
      heapPointer(backend, xAt),
      k,
      filter,
      cout,
      0,
      heapPointer(backend, yAt),
      cout,
    );
    return out;
  }
  if (isShiftable(info)) {
    shiftedConv3x3(blas, backend, x, filter, info, out);
    return out;
  }
  const xView = tensorView(backend, x);
  forBlocks(info, (n0, n1, rows, col, colPtr) => {
    im2col(xView, 0, info, n0, n1, col);
    const yBlock = heapPointer(backend, yAt + n0 * rowsPerImage * cout * 4);
    blas.sgemm(false, false, rows, cout, k, colPtr, k, filter, cout, 0, yBlock, cout); // [rows, K] . [K, Cout]
  });
  return out;
}

/** From this many pixels per image on, the filter gradient is faster from shifted views (25x25: 29 against 38 ms). */
export const SHIFTED_FILTER_MIN_PIXELS = 400;

/**
 * dW[kh, kw] = x_padded[rows + shift]^T . dy_padded[rows] for the nine taps of a 3x3 stride-1
 * "same" convolution, in the layout of `shiftedConv3x3` (dy is zero on the padding rows).
 */
function shiftedFilterGrad3x3(
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

/** dW [KH, KW, Cin, Cout] = sum over rows of col(x)^T . dy. */
function conv2dFilterGrad(blas: OpenBlas, backend: WasmBackendLike, x: TensorInfo, dy: TensorInfo, info: ConvInfo) {
  const out = backend.makeOutput([info.filterHeight, info.filterWidth, info.inChannels, info.outChannels], "float32");
  const { rowsPerImage, k, cout } = dims(info);
  const xAt = offsetOf(backend, x);
  const dyAt = offsetOf(backend, dy);
  const dwAt = offsetOf(backend, out);
  if (isPointwise(info)) {
    const m = info.batchSize * rowsPerImage; // dW [Cin, Cout] = x^T [Cin, M] . dy [M, Cout]
    const [xp, dyp, dwp] = [xAt, dyAt, dwAt].map((at) => heapPointer(backend, at));
    blas.sgemm(true, false, k, cout, m, xp, k, dyp, cout, 0, dwp, cout);
    return out;
  }
  if (isShiftable(info) && info.inHeight * info.inWidth >= SHIFTED_FILTER_MIN_PIXELS) {
    shiftedFilterGrad3x3(blas, backend, x, dy, info, out);
    return out;
  }
  const xView = tensorView(backend, x);
  forBlocks(info, (n0, n1, rows, col, colPtr) => {
    im2col(xView, 0, info, n0, n1, col);
    const dyBlock = heapPointer(backend, dyAt + n0 * rowsPerImage * cout * 4);
    // dW [K, Cout] (+)= col^T [K, rows] . dy [rows, Cout], accumulated after the first block
    blas.sgemm(
      true,
      false,
      k,
      cout,
      rows,
      colPtr,
      k,
      dyBlock,
      cout,
      n0 === 0 ? 0 : 1,
      heapPointer(backend, dwAt),
      cout,
    );
  });
  return out;
}

let flipped = new Float32Array(0);

/**
 * dx [N, H, W, Cin] of a stride-1 convolution: the convolution of dy with the flipped filter,
 * in and out channels swapped (Wf[ky, kx, co, ci] = W[KH-1-ky, KW-1-kx, ci, co]), padded so
 * that it comes out H x W; undefined where that padding would be negative.
 */
function inputGradAsConv(blas: OpenBlas, backend: WasmBackendLike, dy: TensorInfo, filter: TensorInfo, info: ConvInfo) {
  const {
    filterHeight: kh,
    filterWidth: kw,
    dilationHeight: dh,
    dilationWidth: dw,
    inChannels: cin,
    outChannels: cout,
  } = info;
  const top = dh * (kh - 1) - info.padInfo.top;
  const left = dw * (kw - 1) - info.padInfo.left;
  const bottom = info.inHeight + dh * (kh - 1) - info.outHeight - top;
  const right = info.inWidth + dw * (kw - 1) - info.outWidth - left;
  if (Math.min(top, left, bottom, right) < 0) return undefined;
  const back = tf.backend_util.computeConv2DInfo(
    [info.batchSize, info.outHeight, info.outWidth, cout],
    [kh, kw, cout, cin],
    1,
    [dh, dw],
    [[0, 0], [top, bottom], [left, right], [0, 0]] as unknown as "same",
    undefined,
    false,
  );
  const taps = kh * kw;
  if (flipped.length < taps * cin * cout) flipped = new Float32Array(taps * cin * cout);
  const heap = tensorView(backend, filter);
  for (let t = 0; t < taps; t++) {
    const from = (taps - 1 - t) * cin * cout; // [ci, co]
    const to = t * cout * cin; // [co, ci]
    for (let ci = 0; ci < cin; ci++) {
      const row = from + ci * cout;
      for (let co = 0; co < cout; co++) flipped[to + co * cin + ci] = heap[row + co];
    }
  }
  return convolve(blas, backend, dy, flipped, back);
}

/** dx [N, H, W, Cin]: col(dx) = dy . W^T ([rows, Cout] . [Cout, KH*KW*Cin]), folded back by `col2imAdd`. */
function conv2dInputGrad(blas: OpenBlas, backend: WasmBackendLike, dy: TensorInfo, filter: TensorInfo, info: ConvInfo) {
  const { rowsPerImage, k, cout } = dims(info);
  const rows = info.batchSize * rowsPerImage;
  // stride 1: the flipped-filter convolution (im2col copies) beats col2im's JavaScript adds
  // unless the filter is large against the rows (layer4 at small sizes)
  if (!isPointwise(info) && info.strideHeight === 1 && info.strideWidth === 1 && rows > 8 * cout) {
    const dx = inputGradAsConv(blas, backend, dy, filter, info);
    if (dx !== undefined) return dx;
  }
  const out = backend.makeOutput([info.batchSize, info.inHeight, info.inWidth, info.inChannels], "float32");
  const dyAt = offsetOf(backend, dy);
  const dxAt = offsetOf(backend, out);
  const fp = heapPointer(backend, offsetOf(backend, filter));
  if (isPointwise(info)) {
    // dx [M, Cin] = dy [M, Cout] . W^T [Cout, Cin]
    blas.sgemm(
      false,
      true,
      rows,
      k,
      cout,
      heapPointer(backend, dyAt),
      cout,
      fp,
      cout,
      0,
      heapPointer(backend, dxAt),
      k,
    );
    return out;
  }
  const dxView = tensorView(backend, out);
  dxView.fill(0);
  forBlocks(info, (n0, n1, m, col, colPtr) => {
    const dyBlock = heapPointer(backend, dyAt + n0 * rowsPerImage * cout * 4);
    blas.sgemm(false, true, m, k, cout, dyBlock, cout, fp, cout, 0, colPtr, k);
    col2imAdd(col, info, n0, n1, dxView, 0);
  });
  return out;
}

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
function batchMatMul(
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

/**
 * A forward convolution that XNNPACK runs faster: few input channels (im2col copies runs shorter
 * than 48 values, one by one) and few outputs to spread that copying over. The width-16 stem,
 * 64x48x48x3 by 7x7x3x16: 7.7 ms on XNNPACK against 15.4 ms here (with 64 outputs: 22 against 19).
 */
function xnnpackForward(info: ConvInfo): boolean {
  // (not with unequal strides or dilations, which TF.js 4.22's wasm Conv2D gets wrong)
  const plain = info.strideHeight === info.strideWidth && info.dilationHeight === 1 && info.dilationWidth === 1;
  return plain && info.inChannels * info.filterWidth < 48 && info.outChannels <= 16;
}

type KernelFunc = tf.KernelConfig["kernelFunc"];
const previous = new Map<string, KernelFunc>();

function swap(kernelName: string, kernelFunc: KernelFunc): void {
  const current = tf.getKernel(kernelName, "wasm");
  if (current !== undefined) {
    if (!previous.has(kernelName)) previous.set(kernelName, current.kernelFunc);
    tf.unregisterKernel(kernelName, "wasm");
  }
  tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
}

function fallback(kernelName: string, args: Parameters<KernelFunc>[0]) {
  const f = previous.get(kernelName);
  if (f === undefined) throw new Error(`no wasm kernel ${kernelName} to fall back to`);
  return f(args);
}

let active: OpenBlas | undefined;

/** The OpenBLAS in use by the `wasm` backend's kernels, if any. */
export function nativeKernelsBlas(): OpenBlas | undefined {
  return active;
}

/**
 * Routes the `wasm` backend's `Conv2D`, `Conv2DBackpropFilter` and `BatchMatMul` through
 * `blas` (undefined: back to the kernels registered before). Call after wasm_kernels.ts's
 * `registerWasmKernels`.
 */
export function useNativeKernels(blas: OpenBlas | undefined): void {
  if (blas === undefined) {
    for (const [kernelName, kernelFunc] of previous) {
      tf.unregisterKernel(kernelName, "wasm");
      tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
    }
    previous.clear();
    active = undefined;
    return;
  }
  // the project's own wasm kernels first, so that they are what the fallbacks and `off` restore
  registerWasmKernels();
  active = blas;
  swap("Conv2D", (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as ConvAttrs;
    if (x.dtype !== "float32" || filter.dtype !== "float32" || (a.dataFormat ?? "NHWC") !== "NHWC") {
      return fallback("Conv2D", args);
    }
    const info = conv2dInfo(x.shape, filter.shape, a);
    if (xnnpackForward(info)) return fallback("Conv2D", args);
    const backend = args.backend as unknown as WasmBackendLike;
    return convolve(active!, backend, x, filter, info);
  });
  swap("Conv2DBackpropFilter", (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const a = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
    if (x.dtype !== "float32" || dy.dtype !== "float32" || (a.dataFormat ?? "NHWC") !== "NHWC") {
      return fallback("Conv2DBackpropFilter", args);
    }
    return conv2dFilterGrad(
      active!,
      args.backend as unknown as WasmBackendLike,
      x,
      dy,
      conv2dInfo(x.shape, a.filterShape, a),
    );
  });
  swap("Conv2DBackpropInput", (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
    if (dy.dtype !== "float32" || filter.dtype !== "float32" || (a.dataFormat ?? "NHWC") !== "NHWC") {
      return fallback("Conv2DBackpropInput", args);
    }
    return conv2dInputGrad(
      active!,
      args.backend as unknown as WasmBackendLike,
      dy,
      filter,
      conv2dInfo(a.inputShape, filter.shape, a),
    );
  });
  swap("BatchMatMul", (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== "float32" || b.dtype !== "float32") return fallback("BatchMatMul", args);
    return batchMatMul(active!, args.backend as unknown as WasmBackendLike, a, b, transposeA, transposeB);
  });
}

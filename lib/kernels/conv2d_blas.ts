/**
 * The `wasm` backend's convolutions on OpenBLAS (openblas.ts).
 *
 * Tensors stay where the wasm backend keeps them, in the WebAssembly heap; OpenBLAS reads
 * and writes them there through raw pointers, so nothing is copied in or out.
 * - `Conv2D`: im2col of a block of images into a JavaScript buffer (im2col.ts; NHWC: each
 *   filter row of a window is one contiguous run of KW*Cin values), then one `sgemm`
 *   [rows, KH*KW*Cin] . [KH*KW*Cin, Cout] straight into the output. A 1x1 stride-1
 *   convolution is one `sgemm` on the input itself; a 3x3 stride-1 one on large enough
 *   images runs as nine shifted products (shifted3x3.ts).
 * - `Conv2DBackpropFilter`: the same im2col, then dW [KH*KW*Cin, Cout] += col^T . dy,
 *   accumulated over the blocks.
 * - `Conv2DBackpropInput`: for stride 1 with many rows, the convolution of dy with the
 *   flipped, in/out-swapped filter (im2col copies again); otherwise col(dx) = dy . W^T in one
 *   `sgemm`, folded back into dx by `col2imAdd` (JavaScript adds, slower per value than
 *   copies, but no filter flip and no zero rows for strided convolutions).
 * register.ts routes the kernels here (`useNativeKernels`); anything else (another dtype, NCHW)
 * goes to the kernel that was registered before. Checked against the `cpu` backend in
 * tests/kernels/openblas_kernels_test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import type { OpenBlas } from "./openblas.ts";
import { heapPointer, offsetOf, tensorView, type WasmBackendLike } from "./_wasm_heap.ts";
import { blockFloats, col2imAdd, im2col } from "./im2col.ts";
import { isShiftable, SHIFTED_FILTER_MIN_PIXELS, shiftedConv3x3, shiftedFilterGrad3x3 } from "./shifted3x3.ts";

type TensorInfo = tf.TensorInfo;

let scratch = new Float32Array(0);
function scratchOf(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(size);
  return scratch;
}

type ConvInfo = tf.backend_util.Conv2DInfo;

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

/** y [N, OH, OW, Cout] = conv(x [N, H, W, Cin], W [KH, KW, Cin, Cout]); the filter is a tensor or JavaScript memory. */
export function convolve(
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

/** dW [KH, KW, Cin, Cout] = sum over rows of col(x)^T . dy. */
export function conv2dFilterGrad(
  blas: OpenBlas,
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  info: ConvInfo,
) {
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
export function conv2dInputGrad(
  blas: OpenBlas,
  backend: WasmBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  info: ConvInfo,
) {
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
 * A forward convolution that XNNPACK runs faster: few input channels (im2col copies runs shorter
 * than 48 values, one by one) and few outputs to spread that copying over. The width-16 stem,
 * 64x48x48x3 by 7x7x3x16: 7.7 ms on XNNPACK against 15.4 ms here (with 64 outputs: 22 against 19).
 */
export function xnnpackForward(info: ConvInfo): boolean {
  // (not with unequal strides or dilations, which TF.js 4.22's wasm Conv2D gets wrong)
  const plain = info.strideHeight === info.strideWidth && info.dilationHeight === 1 && info.dilationWidth === 1;
  return plain && info.inChannels * info.filterWidth < 48 && info.outChannels <= 16;
}

/**
 * Kernels for the `webgpu` backend where TF.js 4.22's own are slow on a real GPU.
 *
 * - `Conv2DBackpropFilter`: TF.js runs a naive shader in which each filter tap loops over
 *   the whole batch and every output pixel (one thread per tap: 9,408 threads for the 7x7
 *   stem, each summing 160,000 products). Here the gradient is an im2col matrix product,
 *   dW = cols(x)^T . dy, with cols built from the K*K strided windows of the padded input:
 *   [N*OH*OW, KH*KW*Cin]^T x [N*OH*OW, Cout] -> [KH*KW*Cin, Cout], which the backend's tiled
 *   (split-K) matrix multiply runs at full width.
 * - `Conv2DBackpropInput` stays TF.js's: its naive shader measured 401 GFLOP/s on an H200
 *   (ENVIRONMENT.md), and its matrix-multiply form (`WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE`
 *   false) was 2x slower for stride 2 on llvmpipe.
 * No longer registered: `useFastWebgpuKernels` (register.ts) now runs webgpu_conv.ts's implicit
 * GEMM, which needs no im2col copy. Kept as a TF.js-ops reference; checked against the `cpu`
 * backend in tests/kernels/webgpu_kernels_test.ts.
 */
import * as tf from "@tensorflow/tfjs";

/** The attributes of TF.js's `Conv2DBackpropFilter` (as `tf.conv2d` takes them, plus the filter's shape). */
export interface FilterGradAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  filterShape: [number, number, number, number];
}

/**
 * The filter gradient of a 2-D convolution as one matrix product over im2col windows.
 * x [N,H,W,Cin], dy [N,OH,OW,Cout] -> [KH,KW,Cin,Cout] (TF's filter layout).
 */
export function conv2dFilterGradientIm2col(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: FilterGradAttrs): tf.Tensor4D {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== "NHWC") {
    throw new TypeError(`the webgpu filter gradient supports NHWC only, got ${attrs.dataFormat}`);
  }
  const [kh, kw, cin, cout] = attrs.filterShape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, padInfo } = info;
  const n = x.shape[0];
  const m = n * oh * ow;
  return tf.tidy(() => {
    const needH = (oh - 1) * sh + kh;
    const needW = (ow - 1) * sw + kw;
    const bottom = Math.max(0, needH - x.shape[1] - padInfo.top);
    const right = Math.max(0, needW - x.shape[2] - padInfo.left);
    const xp = (padInfo.top || padInfo.left || bottom || right)
      ? tf.pad(x, [[0, 0], [padInfo.top, bottom], [padInfo.left, right], [0, 0]])
      : x;
    const windows: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const win = sh === 1 && sw === 1 && oh === xp.shape[1] && ow === xp.shape[2]
          ? xp
          : tf.stridedSlice(xp, [0, i, j, 0], [n, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, cin], [1, sh, sw, 1]);
        windows.push(tf.reshape(win, [m, 1, cin]));
      }
    }
    const cols = windows.length === 1 ? tf.reshape(windows[0], [m, cin]) : tf.reshape(tf.concat(windows, 1), [
      m,
      kh * kw * cin,
    ]); // [M, KH*KW*Cin], tap-major as the filter layout
    const dw = tf.matMul(cols, tf.reshape(dy, [m, cout]), true, false); // [KH*KW*Cin, Cout]
    return tf.reshape(dw, attrs.filterShape);
  });
}

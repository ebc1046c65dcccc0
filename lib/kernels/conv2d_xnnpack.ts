/**
 * Convolution gradients for the `wasm` backend as convolutions XNNPACK runs fast.
 *
 * TF.js 4.22's wasm backend ships no `Conv2DBackpropFilter` (so no convnet can train on
 * it) and a slow `Conv2DBackpropInput`. Both are rewritten here in terms of the
 * kernels the backend runs fast (XNNPACK convolution, matrix multiply):
 * - filter gradient: a convolution of the input with dy, batch and channels swapped
 *   (the forward stride becomes a dilation);
 * - input gradient: a stride-1 convolution of dy with the flipped, in/out-transposed
 *   filter; for stride > 1, one such convolution per output parity (sub-pixel,
 *   conv2d_input_subpixel.ts), so no multiply-adds are spent on the zeros of a dilated dy.
 * register.ts registers them (`registerWasmKernels`); with OpenBLAS, conv2d_blas.ts takes over
 * and these are its fallback. Both are checked against the `cpu` backend in tests/kernels/conv2d_test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { conv2dInfo, type ConvAttrs } from "./_conv_info.ts";
import { inputGradientSubpixel, takeRows } from "./conv2d_input_subpixel.ts";

/** The geometry the gradient kernels below assume: NHWC, no dilation (TF.js has no dilated gradients). */
function convInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs) {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== "NHWC") {
    throw new TypeError(`wasm convolution gradients support NHWC only, got ${attrs.dataFormat}`);
  }
  return conv2dInfo(xShape, filterShape, { ...attrs, dilations: 1 });
}

/**
 * dW as a convolution with batch and channels swapped: x -> [Cin, Hp, Wp, N] is the
 * "image", dy -> [OH, OW, N, Cout] the "filter", the forward stride becomes the
 * dilation; the valid output [Cin, >=KH, >=KW, Cout] is cropped and transposed.
 * XNNPACK runs it at forward-convolution speed (an im2col built from slices and a
 * transposed-operand matmul was 10-40x slower on the wasm backend).
 * x [N,H,W,Cin], dy [N,OH,OW,Cout] -> [KH,KW,Cin,Cout].
 */
export function conv2dFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  attrs: ConvAttrs,
): tf.Tensor4D {
  const info = convInfo(x.shape, filterShape, attrs);
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, padInfo } = info;
  const [kh, kw, cin, cout] = filterShape;
  const [n, h, w] = x.shape;
  return tf.tidy(() => {
    if (
      kh === 1 && kw === 1 && sh === 1 && sw === 1 && padInfo.top === 0 && padInfo.left === 0 && h === oh && w === ow
    ) {
      // 1x1 stride 1: dW^T = dy^T . x, with the small operand transposed explicitly
      // (the wasm matmul is slow with transposeA)
      const dyT = tf.transpose(tf.reshape(dy, [n * oh * ow, cout])); // [Cout, M]
      const dwT = tf.matMul(dyT, tf.reshape(x, [n * oh * ow, cin])); // [Cout, Cin]
      return tf.reshape(tf.transpose(dwT), filterShape);
    }
    // rows/cols the windows cover: (o - 1) * s + k, starting at -pad
    const needH = (oh - 1) * sh + kh;
    const needW = (ow - 1) * sw + kw;
    const bottom = needH - h - padInfo.top;
    const right = needW - w - padInfo.left;
    let xp: tf.Tensor4D = tf.pad(x, [[0, 0], [padInfo.top, Math.max(0, bottom)], [padInfo.left, Math.max(0, right)], [
      0,
      0,
    ]]);
    if (bottom < 0 || right < 0) xp = tf.slice(xp, [0, 0, 0, 0], [n, needH, needW, cin]);
    const xT = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D; // [Cin, Hp, Wp, N]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [OH, OW, N, Cout]
    const r = tf.conv2d(xT, dyT, 1, "valid", "NHWC", [sh, sw]); // [Cin, KH, KW, Cout]
    return tf.transpose(r, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * dx [N,H,W,Cin]: for stride 1 a convolution of dy with the flipped filter; for stride > 1
 * the sub-pixel decomposition of conv2d_input_subpixel.ts.
 */
export function conv2dInputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  attrs: ConvAttrs,
): tf.Tensor4D {
  const info = convInfo(inputShape, filter.shape, attrs);
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, padInfo } = info;
  const [kh, kw, cin, cout] = filter.shape;
  const [n, h, w] = inputShape;
  return tf.tidy(() => {
    if (
      kh === 1 && kw === 1 && sh === 1 && sw === 1 && padInfo.top === 0 && padInfo.left === 0 && oh === h && ow === w
    ) {
      const dx = tf.matMul(tf.reshape(dy, [n * oh * ow, cout]), tf.reshape(filter, [cin, cout]), false, true);
      return tf.reshape(dx, inputShape);
    }
    if (sh > 1 || sw > 1) {
      // sub-pixel decomposition: s*s stride-1 convolutions, no zero-dilated dy
      return inputGradientSubpixel(dy, filter, inputShape, { sh, sw, top: padInfo.top, left: padInfo.left });
    }
    let d: tf.Tensor4D = dy;
    const lh = (oh - 1) * sh + 1;
    const lw = (ow - 1) * sw + 1;
    const top = kh - 1 - padInfo.top;
    const left = kw - 1 - padInfo.left;
    const bottom = h + kh - 1 - top - lh;
    const right = w + kw - 1 - left - lw;
    // negative pads (only possible with unusual explicit paddings) become crops
    if (top < 0 || left < 0 || bottom < 0 || right < 0) {
      d = tf.slice(d, [0, Math.max(0, -top), Math.max(0, -left), 0], [
        n,
        lh - Math.max(0, -top) - Math.max(0, -bottom),
        lw - Math.max(0, -left) - Math.max(0, -right),
        cout,
      ]);
    }
    // flip the taps with slices + concat (the wasm Gather and Reverse kernels are slower), swap in/out channels
    const taps = Array.from({ length: kh * kw }, (_, i) => kh * kw - 1 - i);
    const rev = tf.reshape(takeRows(tf.reshape(filter, [kh * kw, cin, cout]), taps), [kh, kw, cin, cout]);
    const flipped = tf.transpose(rev, [0, 1, 3, 2]); // [KH,KW,Cout,Cin]
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ];
    return tf.conv2d(d, flipped as tf.Tensor4D, 1, pad);
  });
}

/**
 * Convolution gradient kernels for the `wasm` backend.
 *
 * TF.js 4.22's wasm backend ships no `Conv2DBackpropFilter` (so no convnet can train on
 * it) and a slow `Conv2DBackpropInput`. Both are rewritten here in terms of the
 * kernels the backend runs fast (XNNPACK convolution, matrix multiply):
 * - filter gradient: a convolution of the input with dy, batch and channels swapped
 *   (the forward stride becomes a dilation);
 * - input gradient: a stride-1 convolution of dy with the flipped, in/out-transposed
 *   filter; for stride > 1, one such convolution per output parity (sub-pixel), so no
 *   multiply-adds are spent on the zeros of a dilated dy.
 * Both are checked against the `cpu` backend in tests/backend/wasm_kernels_test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { tensorViews, type WasmBackendLike } from "./_wasm_heap.ts";
import { registerWasmBatchNorm } from "./wasm_batchnorm.ts";
import { inputGradientSubpixel, takeRows } from "./wasm_conv_input_grad.ts";

type Pad = "valid" | "same" | number | [[number, number], [number, number], [number, number], [number, number]];

/** The attributes of TF.js's Conv2D and its two gradient kernels. */
export interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  dilations?: number | [number, number];
}

/** TF.js's geometry of a 2-D convolution (output size, padding) from its shapes and attributes. */
export function conv2dInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
  );
}

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
 * the sub-pixel decomposition of wasm_conv_input_grad.ts.
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

/**
 * MaxPoolGrad on the heap: each output's dy goes to the first maximum of its window in
 * row-major order, as PyTorch's max_pool2d backward does (after a ReLU, windows of equal
 * zeros are common, so the tie rule matters): the first pixel of each window that equals
 * the pooled output. The wasm backend's own kernel took 376 ms for the stem's pool at
 * 64x50x50x64.
 */
function maxPoolGrad(args: Parameters<tf.KernelConfig["kernelFunc"]>[0]): tf.TensorInfo {
  const { dy, input, output } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo; output: tf.TensorInfo };
  const a = args.attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: "valid" | "same" | number;
    dimRoundingMode?: "floor" | "round" | "ceil";
  };
  const backend = args.backend as unknown as WasmBackendLike;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: kh, effectiveFilterWidth: kw } = info;
  const dx = backend.makeOutput(input.shape, "float32");
  const [xv, yv, dyv, dxv] = tensorViews(backend, [input, output, dy, dx]);
  dxv.fill(0);
  const taps = new Int32Array(kh * kw); // the window's pixels inside the image, row-major
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      const y0 = y * sh - info.padInfo.top;
      for (let x = 0; x < ow; x++) {
        const x0 = x * sw - info.padInfo.left;
        let nt = 0;
        for (let ky = Math.max(0, -y0); ky < kh && y0 + ky < h; ky++) {
          for (let kx = Math.max(0, -x0); kx < kw && x0 + kx < w; kx++) {
            taps[nt++] = ((b * h + y0 + ky) * w + x0 + kx) * c;
          }
        }
        const o = ((b * oh + y) * ow + x) * c;
        for (let ch = 0; ch < c; ch++) {
          // the first pixel equal to the pooled maximum (the first NaN when the maximum is NaN)
          const m = yv[o + ch];
          const isNaN = m !== m;
          for (let t = 0; t < nt; t++) {
            const v = xv[taps[t] + ch];
            if (v === m || (isNaN && v !== v)) {
              dxv[taps[t] + ch] += dyv[o + ch];
              break;
            }
          }
        }
      }
    }
  }
  return dx;
}

/**
 * Identity without a copy: the output shares the input's buffer, its reference count raised,
 * as on the `cpu` backend. TF.js clones every tensor it saves for the backward pass through
 * this kernel, and the wasm backend's own copied each one (333 copies, about 120 ms of a
 * 100x100 training step). Sharing is safe because wasm kernels never write into their inputs.
 */
function identity(args: Parameters<tf.KernelConfig["kernelFunc"]>[0]): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const backend = args.backend as unknown as { incRef(dataId: unknown): void };
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** The fused Adam update's kernel name (lib/train/adam.ts); registered for `wasm` only. */
export const ADAM_UPDATE_KERNEL = "AdadfAdamUpdate";

/**
 * One variable's Adam step in one pass over the heap, where TF.js's optimizer runs 14 ops
 * (each a pass, most with a scalar tensor made from a number):
 * m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2, p' = p - lr (m' / bc1) / (sqrt(v' / bc2) + eps).
 * Inputs value, m, v, gradient; outputs new value, m', v' (fresh buffers, so tensors that
 * share the old ones are untouched).
 */
function adamUpdate(args: Parameters<tf.KernelConfig["kernelFunc"]>[0]): tf.TensorInfo[] {
  const { value, m, v, gradient } = args.inputs as Record<string, tf.TensorInfo>;
  const a = args.attrs as unknown as {
    lr: number;
    beta1: number;
    beta2: number;
    epsilon: number;
    bc1: number;
    bc2: number;
  };
  const backend = args.backend as unknown as WasmBackendLike;
  const outs = [value, m, v].map((t) => backend.makeOutput(t.shape, "float32"));
  const n = value.shape.reduce((x, y) => x * y, 1);
  // one view per tensor (a loop over the whole heap's view is 2x slower past 2 GiB)
  const [p0, m0, v0, g0, p1, m1, v1] = tensorViews(backend, [value, m, v, gradient, ...outs]);
  const { beta1, beta2, epsilon } = a;
  const step = a.lr / a.bc1; // lr (m' / bc1) / (sqrt(v') / sqrt(bc2) + eps), one division per value
  const scale = 1 / Math.sqrt(a.bc2);
  for (let i = 0; i < n; i++) {
    const g = g0[i];
    const mi = beta1 * m0[i] + (1 - beta1) * g;
    const vi = beta2 * v0[i] + (1 - beta2) * g * g;
    m1[i] = mi;
    v1[i] = vi;
    p1[i] = p0[i] - step * mi / (Math.sqrt(vi) * scale + epsilon);
  }
  return outs;
}

let registered = false;

/** Registers the project's `Conv2DBackpropFilter`, `Conv2DBackpropInput`, `MaxPoolGrad` and `Identity` for `wasm`. Idempotent. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  for (const name of ["Conv2DBackpropFilter", "Conv2DBackpropInput", "MaxPoolGrad", "Identity"]) {
    if (tf.getKernel(name, "wasm") !== undefined) tf.unregisterKernel(name, "wasm");
  }
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs }) => {
      const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
      const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
      return conv2dFilterGradient(x, dy, a.filterShape, a) as unknown as tf.TensorInfo;
    },
  });
  tf.registerKernel({ kernelName: "MaxPoolGrad", backendName: "wasm", kernelFunc: maxPoolGrad });
  tf.registerKernel({ kernelName: "Identity", backendName: "wasm", kernelFunc: identity });
  tf.registerKernel({ kernelName: ADAM_UPDATE_KERNEL, backendName: "wasm", kernelFunc: adamUpdate });
  registerWasmBatchNorm();
  tf.registerKernel({
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs }) => {
      const { dy, filter } = inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
      const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
      return conv2dInputGradient(dy, filter, a.inputShape, a) as unknown as tf.TensorInfo;
    },
  });
}

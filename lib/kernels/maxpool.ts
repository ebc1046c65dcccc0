/** `MaxPoolGrad` for the `wasm` backend, on the heap (register.ts registers it). */
import * as tf from "@tensorflow/tfjs";
import { tensorViews, type WasmBackendLike } from "./_wasm_heap.ts";

/** TF.js's geometry of a MaxPoolGrad from its input's shape and attributes (shared with the oneDNN route). */
export function maxPoolGradInfo(inputShape: number[], attrs: unknown): tf.backend_util.Conv2DInfo {
  const a = attrs as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: "valid" | "same" | number;
    dimRoundingMode?: "floor" | "round" | "ceil";
  };
  return tf.backend_util.computePool2DInfo(
    inputShape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
}

/**
 * MaxPoolGrad on the heap: each output's dy goes to the first maximum of its window in
 * row-major order, as PyTorch's max_pool2d backward does (after a ReLU, windows of equal
 * zeros are common, so the tie rule matters): the first pixel of each window that equals
 * the pooled output. The wasm backend's own kernel took 376 ms for the stem's pool at
 * 64x50x50x64.
 */
export function maxPoolGrad(args: Parameters<tf.KernelConfig["kernelFunc"]>[0]): tf.TensorInfo {
  const { dy, input, output } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo; output: tf.TensorInfo };
  const backend = args.backend as unknown as WasmBackendLike;
  const info = maxPoolGradInfo(input.shape, args.attrs);
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

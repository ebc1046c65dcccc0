/**
 * A 2-D convolution (NHWC) and its two gradients for the `webgpu` backend as implicit GEMMs
 * (_wgsl.ts `GemmProgram`): the operand that would be im2col's matrix is read from the
 * tensor inside the shader, window by window, so nothing the size of im2col is ever stored.
 *
 * - forward `Conv2D`: y[M, Cout] = A[M, K] . W[K, Cout], M = N*OH*OW, K = KH*KW*Cin,
 *   A[(b, oy, ox), (ky, kx, ci)] = x[b, oy*sh - pt + ky, ox*sw - pl + kx, ci] (0 in the padding).
 * - input gradient `Conv2DBackpropInput`: dx[M, Cin] = A[M, K] . B[K, Cin], M = N*H*W,
 *   K = KH*KW*Cout, A[(b, iy, ix), (ky, kx, co)] = dy[b, (iy + pt - ky)/sh, (ix + pl - kx)/sw, co]
 *   where both divisions are exact and in range (else 0), B[(ky, kx, co), ci] = W[ky, kx, ci, co].
 * - filter gradient `Conv2DBackpropFilter`: dW[K, Cout] = A[K, P] . dy[P, Cout], P = N*OH*OW,
 *   K = KH*KW*Cin, A[(ky, kx, ci), (b, oy, ox)] = x[b, oy*sh - pt + ky, ox*sw - pl + kx, ci]; the long
 *   P is split over workgroups (split-K) and the partial products summed after.
 * Dilations other than 1, NCHW and non-float32 tensors are left to TF.js's kernels (register.ts).
 * Checked against the `cpu` backend in tests/kernels/webgpu_gemm_test.ts.
 */
import type * as tf from "@tensorflow/tfjs";
import { conv2dInfo, type ConvAttrs } from "./_conv_info.ts";
import { i32, runGemm, type Uniform, type WebgpuBackendLike } from "./_wgsl.ts";

const GEOMETRY = `H : i32, W : i32, Cin : i32, OH : i32, OW : i32, KW : i32, sh : i32, sw : i32, pt : i32, pl : i32,`;

function geometry(info: tf.backend_util.Conv2DInfo): Uniform[] {
  return [
    i32(info.inHeight),
    i32(info.inWidth),
    i32(info.inChannels),
    i32(info.outHeight),
    i32(info.outWidth),
    i32(info.filterWidth),
    i32(info.strideHeight),
    i32(info.strideWidth),
    i32(info.padInfo.top),
    i32(info.padInfo.left),
  ];
}

/** Whether the project's kernels take this convolution (else TF.js's own run it). */
export function webgpuConvSupported(attrs: ConvAttrs, dtypes: tf.DataType[]): boolean {
  const d = attrs.dilations ?? 1;
  const dilated = Array.isArray(d) ? d[0] !== 1 || d[1] !== 1 : d !== 1;
  return !dilated && (attrs.dataFormat ?? "NHWC") === "NHWC" && dtypes.every((t) => t === "float32");
}

/** The input pixel of tap (ky, kx, ci) for output position (b, oy, ox), or 0 in the padding. */
const READ_WINDOW = `
  fn readWindow(pos : i32, tap : i32) -> f32 {
    let ci = tap % uniforms.Cin;
    let t = tap / uniforms.Cin;
    let kx = t % uniforms.KW;
    let ky = t / uniforms.KW;
    let ox = pos % uniforms.OW;
    let t2 = pos / uniforms.OW;
    let oy = t2 % uniforms.OH;
    let b = t2 / uniforms.OH;
    let iy = oy * uniforms.sh - uniforms.pt + ky;
    let ix = ox * uniforms.sw - uniforms.pl + kx;
    if (iy < 0 || iy >= uniforms.H || ix < 0 || ix >= uniforms.W) { return 0.0; }
    return X[((b * uniforms.H + iy) * uniforms.W + ix) * uniforms.Cin + ci];
  }`;

/** y = conv2d(x, filter): x [N, H, W, Cin], filter [KH, KW, Cin, Cout] -> [N, OH, OW, Cout]. */
export function conv2dWebgpu(
  backend: WebgpuBackendLike,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: ConvAttrs,
): tf.TensorInfo {
  const info = conv2dInfo(x.shape, filter.shape, attrs);
  const m = info.batchSize * info.outHeight * info.outWidth;
  const n = info.outChannels;
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const out = runGemm(backend, {
    name: "conv2d",
    kernel: "conv2d",
    inputs: [x, filter],
    names: ["X", "F"],
    batch: 1,
    m,
    n,
    k,
    uniforms: GEOMETRY,
    values: geometry(info),
    aKFast: true,
    splits: 1,
    body: `${READ_WINDOW}
      fn mm_readA(z : i32, row : i32, k : i32) -> f32 { return readWindow(row, k); }
      fn mm_readB(z : i32, k : i32, col : i32) -> f32 { return F[k * uniforms.N + col]; }`,
  });
  return { ...out, shape: [info.batchSize, info.outHeight, info.outWidth, n] };
}

/** dx of y = conv2d(x, filter): dy [N, OH, OW, Cout], filter [KH, KW, Cin, Cout] -> inputShape. */
export function conv2dInputGradWebgpu(
  backend: WebgpuBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  inputShape: number[],
  attrs: ConvAttrs,
): tf.TensorInfo {
  const info = conv2dInfo(inputShape, filter.shape, attrs);
  const m = info.batchSize * info.inHeight * info.inWidth;
  const n = info.inChannels;
  const cout = info.outChannels;
  const k = info.filterHeight * info.filterWidth * cout;
  const out = runGemm(backend, {
    name: "conv2dInput",
    kernel: "conv2dInput",
    inputs: [dy, filter],
    names: ["DY", "F"],
    batch: 1,
    m,
    n,
    k,
    uniforms: `${GEOMETRY} Cout : i32,`,
    values: [...geometry(info), i32(cout)],
    aKFast: true,
    splits: 1,
    body: `
      fn mm_readA(z : i32, row : i32, k : i32) -> f32 {
        let co = k % uniforms.Cout;
        let t = k / uniforms.Cout;
        let kx = t % uniforms.KW;
        let ky = t / uniforms.KW;
        let ix = row % uniforms.W;
        let t2 = row / uniforms.W;
        let iy = t2 % uniforms.H;
        let b = t2 / uniforms.H;
        let ty = iy + uniforms.pt - ky;
        let tx = ix + uniforms.pl - kx;
        if (ty < 0 || tx < 0) { return 0.0; }
        let oy = ty / uniforms.sh;
        let ox = tx / uniforms.sw;
        if (oy * uniforms.sh != ty || ox * uniforms.sw != tx || oy >= uniforms.OH || ox >= uniforms.OW) { return 0.0; }
        return DY[((b * uniforms.OH + oy) * uniforms.OW + ox) * uniforms.Cout + co];
      }
      fn mm_readB(z : i32, k : i32, col : i32) -> f32 {
        let co = k % uniforms.Cout;
        let tap = k / uniforms.Cout;
        return F[(tap * uniforms.Cin + col) * uniforms.Cout + co];
      }`,
  });
  return { ...out, shape: inputShape };
}

/**
 * dW of y = conv2d(x, filter): x [N, H, W, Cin], dy [N, OH, OW, Cout] -> filterShape, split-K over
 * N*OH*OW (`splits` forces a count, for tests).
 */
export function conv2dFilterGradWebgpu(
  backend: WebgpuBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: number[],
  attrs: ConvAttrs,
  splits?: number,
): tf.TensorInfo {
  const info = conv2dInfo(x.shape, filterShape, attrs);
  const m = info.filterHeight * info.filterWidth * info.inChannels;
  const n = info.outChannels;
  const k = info.batchSize * info.outHeight * info.outWidth;
  const out = runGemm(backend, {
    name: "conv2dFilter",
    kernel: "conv2dFilter",
    inputs: [x, dy],
    names: ["X", "DY"],
    batch: 1,
    m,
    n,
    k,
    uniforms: GEOMETRY,
    values: geometry(info),
    aKFast: false,
    splits,
    body: `${READ_WINDOW}
      fn mm_readA(z : i32, row : i32, k : i32) -> f32 { return readWindow(k, row); }
      fn mm_readB(z : i32, k : i32, col : i32) -> f32 { return DY[k * uniforms.N + col]; }`,
  });
  return { ...out, shape: filterShape };
}

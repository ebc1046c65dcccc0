/**
 * Training-mode BatchNorm (+ ReLU) as two fused kernels for the `webgpu` backend, and
 * `webgpuFusedBatchNorm`, the differentiable op over them (a `LayerKernels.fusedBatchNorm`
 * form: the model calls it where it would run BatchNorm's ops). TF.js runs BatchNorm's batch
 * statistics as reductions whose gradients took seconds per op on an H200 (ENVIRONMENT.md);
 * here each direction is three dispatches.
 *
 * Forward (`BN_TRAIN_WEBGPU_KERNEL`: x, gamma, beta -> y, stats [3, C] = mean, biased variance,
 * r = 1 / sqrt(var + eps)), per channel over M = N*H*W rows of x viewed [M, C]:
 *   1. partial moments: workgroup (channel tile, chunk g of rows) -> chunk mean and sum of
 *      squared deviations [G, 2, C] (two passes over the chunk, in workgroup memory);
 *   2. combine (Chan et al.): mean = sum n_g mean_g / M, M2 = sum M2_g + n_g (mean_g - mean)^2;
 *   3. y = ((x - mean) r) gamma + beta, then max(y, 0) with `relu`.
 * Backward (`BN_GRAD_WEBGPU_KERNEL`: dy, x, stats, gamma, beta -> dx, sums [2, C] = dbeta, dgamma),
 * with g = dy where y > 0 (y recomputed from x by the same expression; dy without `relu`) and
 * xhat = (x - mean) r: 1. partial sums of g and g xhat per chunk; 2. their totals;
 *   3. dx = gamma r / M (M g - dbeta - xhat dgamma).
 * x is saved for the gradient instead of xhat (the forward writes only y).
 * Checked against the op-by-op form on the `cpu` backend in tests/kernels/webgpu_batchnorm_test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { ElementwiseProgram, f32, i32, type Uniform, type WebgpuBackendLike, type WebgpuProgram } from "./_wgsl.ts";

/** The forward kernel's name: x, gamma, beta -> y, stats [3, C] (mean, variance, r); attrs epsilon, relu. */
export const BN_TRAIN_WEBGPU_KERNEL = "AdadfWebgpuBatchNormTrain";
/** The backward kernel's name: dy, x, stats, gamma, beta -> dx, sums [2, C] (dbeta, dgamma); attr relu. */
export const BN_GRAD_WEBGPU_KERNEL = "AdadfWebgpuBatchNormGrad";

/** Workgroups the partial reductions aim for (each covers a channel tile and a chunk of rows). */
const TARGET_WORKGROUPS = 256;

type KernelArgs = Parameters<tf.KernelConfig["kernelFunc"]>[0];

/** How the rows are split: channel tile CT (a power of two up to 64), RT = 256 / CT row lanes, G chunks. */
function layout(m: number, c: number): { ct: number; rt: number; channelTiles: number; g: number; rows: number } {
  let ct = 1;
  while (ct < c && ct < 64) ct *= 2;
  const rt = 256 / ct;
  const channelTiles = Math.ceil(c / ct);
  const g = Math.max(1, Math.min(Math.ceil(m / (rt * 8)), Math.ceil(TARGET_WORKGROUPS / channelTiles), 65535));
  const rows = Math.ceil(m / g);
  return { ct, rt, channelTiles, g: Math.ceil(m / rows), rows };
}

/** y's value before the ReLU, written once so that forward and backward compute the same float. */
const BN_VALUE = `
  fn bnValue(xv : f32, mean : f32, r : f32, gamma : f32, beta : f32) -> f32 {
    return ((xv - mean) * r) * gamma + beta;
  }`;

/**
 * Partial sums per (chunk, channel) -> [G, 2, C]. `moments`: chunk mean and sum of squared
 * deviations of X; `grads`: sums of g and g xhat.
 */
class PartialProgram implements WebgpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [256, 1, 1];
  uniforms = "M : i32, C : i32, rows : i32,";
  private mode: "moments" | "grads";
  private relu: boolean;
  private ct: number;
  private rt: number;

  constructor(mode: "moments" | "grads", relu: boolean, m: number, c: number) {
    const l = layout(m, c);
    this.mode = mode;
    this.relu = relu;
    this.ct = l.ct;
    this.rt = l.rt;
    // every input is read by the shader: an unused binding is dropped from the pipeline's
    // automatic layout, and the bind group then fails validation (and its command buffer with it)
    this.variableNames = mode === "moments" ? ["X"] : relu ? ["DY", "X", "S", "Gm", "Bt"] : ["DY", "X", "S"];
    this.outputShape = [l.g, 2, c];
    this.dispatch = [l.channelTiles, l.g, 1];
    this.shaderKey = `adadf_bn_partial_${mode}_${relu}_${l.ct}`;
  }

  getUserCode(): string {
    const { ct: CT, rt: RT } = this;
    // a tree reduction of red (and red2) over the RT row lanes; every thread reaches each barrier
    const reduce = (arrays: string[]) => `
      workgroupBarrier();
      for (var stride = ${RT / 2}; stride > 0; stride = stride / 2) {
        if (rl < stride) { ${arrays.map((a) => `${a}[li] = ${a}[li] + ${a}[li + stride * ${CT}];`).join(" ")} }
        workgroupBarrier();
      }`;
    const head = `
      let li = i32(localIndex);
      let lane = li % ${CT};
      let rl = li / ${CT};
      let c = i32(workgroupId.x) * ${CT} + lane;
      let g = i32(workgroupId.y);
      let r0 = g * uniforms.rows;
      let r1 = min(uniforms.M, r0 + uniforms.rows);
      let C = uniforms.C;`;
    if (this.mode === "moments") {
      return `
        var<workgroup> red : array<f32, 256>;
        fn main() {
          ${head}
          var s = 0.0;
          if (c < C) { for (var r = r0 + rl; r < r1; r += ${RT}) { s += X[r * C + c]; } }
          red[li] = s;
          ${reduce(["red"])}
          let mean = red[lane] / f32(r1 - r0);
          workgroupBarrier();
          var s2 = 0.0;
          if (c < C) { for (var r = r0 + rl; r < r1; r += ${RT}) { let d = X[r * C + c] - mean; s2 += d * d; } }
          red[li] = s2;
          ${reduce(["red"])}
          if (rl == 0 && c < C) {
            result[(g * 2) * C + c] = mean;
            result[(g * 2 + 1) * C + c] = red[lane];
          }
        }`;
    }
    return `
      ${BN_VALUE}
      var<workgroup> red : array<f32, 256>;
      var<workgroup> red2 : array<f32, 256>;
      fn main() {
        ${head}
        var sg = 0.0;
        var sgh = 0.0;
        if (c < C) {
          let mean = S[c];
          let rr = S[2 * C + c];
          ${this.relu ? "let gamma = Gm[c]; let beta = Bt[c];" : ""}
          for (var r = r0 + rl; r < r1; r += ${RT}) {
            let xv = X[r * C + c];
            var gv = DY[r * C + c];
            ${this.relu ? "if (!(bnValue(xv, mean, rr, gamma, beta) > 0.0)) { gv = 0.0; }" : ""}
            sg += gv;
            sgh += gv * ((xv - mean) * rr);
          }
        }
        red[li] = sg;
        red2[li] = sgh;
        ${reduce(["red", "red2"])}
        if (rl == 0 && c < C) {
          result[(g * 2) * C + c] = red[lane];
          result[(g * 2 + 1) * C + c] = red2[lane];
        }
      }`;
  }
}

function run(backend: WebgpuBackendLike, p: WebgpuProgram, inputs: tf.TensorInfo[], u: Uniform[]): tf.TensorInfo {
  return backend.runWebGPUProgram(p, inputs, "float32", u);
}

/** x, gamma, beta -> y, stats [3, C]. */
function batchNormTrain(args: KernelArgs): tf.TensorInfo[] {
  const { x, gamma, beta } = args.inputs as Record<string, tf.TensorInfo>;
  const { epsilon, relu } = args.attrs as unknown as { epsilon: number; relu: boolean };
  const backend = args.backend as unknown as WebgpuBackendLike;
  const c = x.shape[x.shape.length - 1];
  const m = x.shape.reduce((a, b) => a * b, 1) / c;
  const l = layout(m, c);
  const shape = [i32(m), i32(c), i32(l.rows)];
  const partial = run(backend, new PartialProgram("moments", false, m, c), [x], shape);
  const combine = new ElementwiseProgram({
    name: "bn_combine_moments",
    inputs: ["P"],
    outputShape: [3, c],
    uniforms: "M : i32, C : i32, rows : i32, G : i32, eps : f32,",
    body: `
      let C = uniforms.C;
      let c = index % C;
      let q = index / C;
      var sum = 0.0;
      for (var g = 0; g < uniforms.G; g++) {
        let n = f32(min(uniforms.rows, uniforms.M - g * uniforms.rows));
        sum += n * P[(g * 2) * C + c];
      }
      let mean = sum / f32(uniforms.M);
      var m2 = 0.0;
      for (var g = 0; g < uniforms.G; g++) {
        let n = f32(min(uniforms.rows, uniforms.M - g * uniforms.rows));
        let d = P[(g * 2) * C + c] - mean;
        m2 += P[(g * 2 + 1) * C + c] + n * d * d;
      }
      let variance = m2 / f32(uniforms.M);
      let r = 1.0 / sqrt(variance + uniforms.eps);
      result[index] = select(select(r, variance, q == 1), mean, q == 0);`,
  });
  const stats = run(backend, combine, [partial], [...shape, i32(l.g), f32(epsilon)]);
  backend.disposeData(partial.dataId);
  const apply = new ElementwiseProgram({
    name: `bn_apply_${relu}`,
    inputs: ["X", "S", "Gm", "Bt"],
    outputShape: x.shape,
    uniforms: "C : i32,",
    prelude: BN_VALUE,
    body: `
      let C = uniforms.C;
      let c = index % C;
      let y = bnValue(X[index], S[c], S[2 * C + c], Gm[c], Bt[c]);
      result[index] = ${relu ? "max(y, 0.0)" : "y"};`,
  });
  const y = run(backend, apply, [x, stats, gamma, beta], [i32(c)]);
  return [y, stats];
}

/** dy, x, stats, gamma, beta -> dx, sums [2, C] (dbeta, dgamma). */
function batchNormGrad(args: KernelArgs): tf.TensorInfo[] {
  const { dy, x, stats, gamma, beta } = args.inputs as Record<string, tf.TensorInfo>;
  const { relu } = args.attrs as unknown as { relu: boolean };
  const backend = args.backend as unknown as WebgpuBackendLike;
  const c = x.shape[x.shape.length - 1];
  const m = x.shape.reduce((a, b) => a * b, 1) / c;
  const l = layout(m, c);
  const shape = [i32(m), i32(c), i32(l.rows)];
  const partial = run(
    backend,
    new PartialProgram("grads", relu, m, c),
    relu ? [dy, x, stats, gamma, beta] : [dy, x, stats],
    shape,
  );
  const combine = new ElementwiseProgram({
    name: "bn_combine_sums",
    inputs: ["P"],
    outputShape: [2, c],
    uniforms: "C : i32, G : i32,",
    body: `
      let C = uniforms.C;
      let c = index % C;
      let q = index / C;
      var s = 0.0;
      for (var g = 0; g < uniforms.G; g++) { s += P[(g * 2 + q) * C + c]; }
      result[index] = s;`,
  });
  const sums = run(backend, combine, [partial], [i32(c), i32(l.g)]);
  backend.disposeData(partial.dataId);
  const dxProgram = new ElementwiseProgram({
    name: `bn_dx_${relu}`,
    inputs: relu ? ["DY", "X", "S", "Gm", "Bt", "Q"] : ["DY", "X", "S", "Gm", "Q"],
    outputShape: x.shape,
    uniforms: "C : i32, M : i32,",
    prelude: BN_VALUE,
    body: `
      let C = uniforms.C;
      let c = index % C;
      let mean = S[c];
      let rr = S[2 * C + c];
      let xv = X[index];
      var gv = DY[index];
      ${relu ? "if (!(bnValue(xv, mean, rr, Gm[c], Bt[c]) > 0.0)) { gv = 0.0; }" : ""}
      let xhat = (xv - mean) * rr;
      let m = f32(uniforms.M);
      let scale = (Gm[c] * rr) / m;
      result[index] = scale * (m * gv - Q[c] - xhat * Q[C + c]);`,
  });
  const dx = run(backend, dxProgram, relu ? [dy, x, stats, gamma, beta, sums] : [dy, x, stats, gamma, sums], [
    i32(c),
    i32(m),
  ]);
  return [dx, sums];
}

/** Registers both kernels for `webgpu` (idempotent). */
export function registerWebgpuBatchNorm(): void {
  if (tf.getKernel(BN_TRAIN_WEBGPU_KERNEL, "webgpu") !== undefined) return;
  tf.registerKernel({ kernelName: BN_TRAIN_WEBGPU_KERNEL, backendName: "webgpu", kernelFunc: batchNormTrain });
  tf.registerKernel({ kernelName: BN_GRAD_WEBGPU_KERNEL, backendName: "webgpu", kernelFunc: batchNormGrad });
}

/** Unregisters both (`webgpuFusedBatchNorm` then returns undefined and the layers run ops). */
export function unregisterWebgpuBatchNorm(): void {
  if (tf.getKernel(BN_TRAIN_WEBGPU_KERNEL, "webgpu") === undefined) return;
  tf.unregisterKernel(BN_TRAIN_WEBGPU_KERNEL, "webgpu");
  tf.unregisterKernel(BN_GRAD_WEBGPU_KERNEL, "webgpu");
}

/**
 * Training-mode BatchNorm (+ ReLU) of x [N, H, W, C] over N, H, W on the webgpu kernels, with
 * their gradient. Undefined where the active backend has no such kernel
 * (`registerWebgpuBatchNorm`, or `useFastWebgpuKernels` in register.ts, registers them); the
 * caller then runs its own ops. Options as lib/kernels/batchnorm.ts `fusedBatchNorm`.
 */
export function webgpuFusedBatchNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  options: { epsilon: number; relu: boolean; onStats: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void },
): tf.Tensor4D | undefined {
  if (x.dtype !== "float32" || tf.getKernel(BN_TRAIN_WEBGPU_KERNEL, tf.getBackend()) === undefined) return undefined;
  const { epsilon, relu, onStats } = options;
  const c = x.shape[3];
  const row = (t: tf.Tensor, i: number) => tf.reshape(tf.slice(t, [i, 0], [1, c]), [c]) as tf.Tensor1D;
  const op = tf.customGrad(
    ((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      const [value, stats] = tf.engine().runKernel(
        BN_TRAIN_WEBGPU_KERNEL,
        { x: xIn, gamma: g, beta: b } as unknown as tf.NamedTensorMap,
        { epsilon, relu } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor[];
      onStats(row(stats, 0), row(stats, 1));
      save([xIn, stats, g, b]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, sstats, sg, sb] = saved;
          const [dx, sums] = tf.engine().runKernel(
            BN_GRAD_WEBGPU_KERNEL,
            { dy, x: sx, stats: sstats, gamma: sg, beta: sb } as unknown as tf.NamedTensorMap,
            { relu } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor[];
          return [dx, row(sums, 1), row(sums, 0)];
        },
      };
      // deno-lint-ignore no-explicit-any
    }) as any,
  );
  return op(x, gamma, beta) as tf.Tensor4D;
}

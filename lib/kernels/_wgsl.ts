/**
 * Plumbing shared by the project's WGSL kernels (webgpu_conv.ts, webgpu_matmul.ts,
 * webgpu_batchnorm.ts): a program object in the shape TF.js 4.22's webgpu backend runs
 * (`runWebGPUProgram`), the implicit-GEMM shader template all matrix-shaped kernels use, its
 * tile sizes, and the split-K sum.
 *
 * The GEMM template computes, for each z of a dispatch, out[z, row, col] = sum_k A(z, row, k) B(z, k, col)
 * over k in [kBegin, kEnd), where A and B are WGSL functions the kernel supplies (`mm_readA`,
 * `mm_readB`): a convolution reads its input's windows on the fly (no materialised im2col).
 * Each workgroup computes a tileM x tileN block of the output; per step of tileK it stages
 * A's [tileM, tileK] and B's [tileK, tileN] blocks in workgroup memory and every thread
 * accumulates a threadM x threadN register block (rows ty + i*TY, columns tx + j*TX: adjacent
 * threads touch adjacent columns, so the writes and B's shared reads are contiguous).
 */
import type * as tf from "@tensorflow/tfjs";

/** The part of TF.js's WebGPUBackend these kernels use. */
export interface WebgpuBackendLike {
  runWebGPUProgram(
    program: WebgpuProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: { type: "int32" | "float32" | "uint32"; data: number[] }[],
  ): tf.TensorInfo;
  disposeData(dataId: unknown, force?: boolean): boolean;
  device: { limits: { maxComputeWorkgroupsPerDimension: number } };
}

/** TF.js's WebGPUProgram interface (tfjs-backend-webgpu/dist/webgpu_program.d.ts), the fields we set. */
export interface WebgpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  size?: boolean;
  getUserCode: () => string;
}

/** A uniform value: i32 or f32, in the order of the program's `uniforms` declaration. */
export type Uniform = { type: "int32" | "float32"; data: number[] };

export const i32 = (v: number): Uniform => ({ type: "int32", data: [v] });
export const f32 = (v: number): Uniform => ({ type: "float32", data: [v] });

/**
 * The tile sizes of one GEMM kernel: a workgroup computes tileM x tileN outputs with
 * (tileM / threadM) x (tileN / threadN) threads, each a threadM x threadN register block, in
 * steps of tileK.
 */
export interface GemmTiles {
  tileM: number;
  tileN: number;
  tileK: number;
  threadM: number;
  threadN: number;
}

/** The kernels whose tiles can be set apart (`setWebgpuTiles`). */
export type GemmKernelClass = "conv2d" | "conv2dInput" | "conv2dFilter" | "matmul";

/**
 * Defaults, chosen without a GPU to measure on (llvmpipe cannot say what suits a GPU):
 * 64x64 tiles of 16x16 threads with 4x4 register blocks, the classic design; `small` is for
 * products with a side under 64 (the model's 4-32-channel layers, the linear heads), where a
 * 64-wide tile would leave most threads idle; `narrow` for N <= 8 (the stem's input gradient
 * has N = 3 input channels, the heads' weight gradients N = 7 classes), where even a 32-wide
 * tile computes mostly padding.
 * tools/bench/webgpu_probe.ts sweeps them.
 */
export const DEFAULT_TILES: Readonly<TileClasses> = Object.freeze({
  large: Object.freeze({ tileM: 64, tileN: 64, tileK: 16, threadM: 4, threadN: 4 }),
  small: Object.freeze({ tileM: 32, tileN: 32, tileK: 16, threadM: 2, threadN: 2 }),
  // as small until a GPU measures better: on llvmpipe 128x8 tiles (2x4 blocks) ran the stem's input
  // gradient in 9 s against 32x32's 5.6 s (the probe's --sweep tries both)
  narrow: Object.freeze({ tileM: 32, tileN: 32, tileK: 16, threadM: 2, threadN: 2 }),
});

/** The tiles of one kernel class per shape class: large (M, N >= 64), narrow (N <= 8), small (else). */
export interface TileClasses {
  large: GemmTiles;
  small: GemmTiles;
  narrow: GemmTiles;
}

/**
 * Split-K (the filter gradient's long reduction over N*OH*OW, or any product whose output
 * has too few tiles to fill a GPU): split until about this many workgroups run.
 */
export const DEFAULT_TARGET_WORKGROUPS = 256;
/** No split-K chunk is shorter than this many k (the partial sums cost a pass of their own). */
export const MIN_SPLIT_K = 512;

const tileTable = new Map<GemmKernelClass, TileClasses>();
let targetWorkgroups = DEFAULT_TARGET_WORKGROUPS;

/** Throws a RangeError naming what is wrong with `t`. */
export function validateTiles(t: GemmTiles): void {
  for (const k of ["tileM", "tileN", "tileK", "threadM", "threadN"] as const) {
    if (!Number.isInteger(t[k]) || t[k] < 1) throw new RangeError(`${k} must be a positive integer, got ${t[k]}`);
  }
  if (t.tileM % t.threadM !== 0 || t.tileN % t.threadN !== 0) {
    throw new RangeError(`tileM and tileN must be multiples of threadM and threadN, got ${JSON.stringify(t)}`);
  }
  const threads = (t.tileM / t.threadM) * (t.tileN / t.threadN);
  if (threads > 256) throw new RangeError(`a workgroup of ${threads} threads is over WebGPU's default limit of 256`);
  if (4 * t.tileK * (t.tileM + t.tileN) > 16384) {
    throw new RangeError(`tiles need ${4 * t.tileK * (t.tileM + t.tileN)} bytes of workgroup memory (limit 16384)`);
  }
}

/**
 * Sets the tiles of one kernel class (`undefined`: back to `DEFAULT_TILES`), and optionally the
 * split-K target. For measurement (the probe's sweep); each setting compiles its own shaders.
 */
export function setWebgpuTiles(
  kernel: GemmKernelClass,
  tiles: Partial<TileClasses> | undefined,
): void {
  if (tiles === undefined) {
    tileTable.delete(kernel);
    return;
  }
  const merged = { ...DEFAULT_TILES, ...tiles };
  validateTiles(merged.large);
  validateTiles(merged.small);
  validateTiles(merged.narrow);
  tileTable.set(kernel, merged);
}

/** Sets the number of workgroups split-K aims for (default `DEFAULT_TARGET_WORKGROUPS`). */
export function setWebgpuTargetWorkgroups(n: number = DEFAULT_TARGET_WORKGROUPS): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`target workgroups must be a positive integer, got ${n}`);
  targetWorkgroups = n;
}

/** The tiles for an M x N product of kernel class `kernel` (its shape class: large, narrow or small). */
export function tilesFor(kernel: GemmKernelClass, m: number, n: number): GemmTiles {
  const t = tileTable.get(kernel) ?? DEFAULT_TILES;
  return m >= 64 && n >= 64 ? t.large : n <= 8 && m >= 64 ? t.narrow : t.small;
}

/** How many chunks to split a K-long reduction into, for an output of `tiles` workgroups. */
export function splitCount(k: number, tiles: number, tileK: number): { splits: number; chunk: number } {
  const want = Math.ceil(targetWorkgroups / Math.max(1, tiles));
  const most = Math.max(1, Math.floor(k / MIN_SPLIT_K));
  const splits = Math.max(1, Math.min(want, most, 1024));
  const chunk = Math.ceil(Math.ceil(k / splits) / tileK) * tileK;
  return { splits: Math.ceil(k / chunk), chunk };
}

export const tilesKey = (t: GemmTiles): string => `${t.tileM}_${t.tileN}_${t.tileK}_${t.threadM}_${t.threadN}`;

/**
 * A GEMM program: output [Z, M, N] (z: a batch or a split-K chunk). The kernel's `body`
 * declares `fn mm_readA(z: i32, row: i32, k: i32) -> f32` and `fn mm_readB(z: i32, k: i32, col: i32) -> f32`
 * (z: the batch; called only inside [0, M) x [0, K) x [0, N)) and may use the uniforms `M`, `N`, `K`,
 * `kChunk`, `splits` and its own.
 * `aKFast`: A's adjacent k are adjacent in memory (a convolution's input channels), so
 * adjacent threads load along k; else along rows.
 */
export class GemmProgram implements WebgpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: string;
  private body: string;
  private tiles: GemmTiles;
  private aKFast: boolean;

  constructor(options: {
    name: string;
    inputs: string[];
    z: number;
    m: number;
    n: number;
    tiles: GemmTiles;
    body: string;
    uniforms: string;
    aKFast: boolean;
  }) {
    const { name, inputs, z, m, n, tiles, body, uniforms, aKFast } = options;
    this.variableNames = inputs;
    this.outputShape = [z, m, n];
    this.tiles = tiles;
    this.body = body;
    this.aKFast = aKFast;
    this.uniforms = `M : i32, N : i32, K : i32, kChunk : i32, splits : i32, ${uniforms}`;
    this.workgroupSize = [tiles.tileN / tiles.threadN, tiles.tileM / tiles.threadM, 1];
    this.dispatch = [Math.ceil(n / tiles.tileN), Math.ceil(m / tiles.tileM), z];
    this.shaderKey = `adadf_gemm_${name}_${tilesKey(tiles)}_${aKFast}`;
  }

  getUserCode(): string {
    const { tileM: TM, tileN: TN, tileK: TK, threadM: RM, threadN: RN } = this.tiles;
    const TX = TN / RN;
    const TY = TM / RM;
    const WG = TX * TY;
    const aLoads = Math.ceil((TM * TK) / WG);
    const bLoads = Math.ceil((TK * TN) / WG);
    // A's element e of the tile: along k first (aKFast) or along rows first
    const aCoords = this.aKFast ? `let r = e / ${TK}; let kk = e % ${TK};` : `let r = e % ${TM}; let kk = e / ${TM};`;
    return `
      ${this.body}
      var<workgroup> As : array<f32, ${TK * TM}>; // [k][row]
      var<workgroup> Bs : array<f32, ${TK * TN}>; // [k][col]
      fn main() {
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let li = i32(localIndex);
        // z: a batch, or a split-K chunk of batch 0 (splits > 1 only with one batch)
        let zz = i32(workgroupId.z);
        let split = zz % uniforms.splits;
        let z = zz / uniforms.splits;
        let row0 = i32(workgroupId.y) * ${TM};
        let col0 = i32(workgroupId.x) * ${TN};
        let kBegin = split * uniforms.kChunk;
        let kEnd = min(uniforms.K, kBegin + uniforms.kChunk);
        var acc : array<array<f32, ${RN}>, ${RM}>;
        for (var i = 0; i < ${RM}; i++) { for (var j = 0; j < ${RN}; j++) { acc[i][j] = 0.0; } }
        for (var k0 = kBegin; k0 < kEnd; k0 += ${TK}) {
          for (var l = 0; l < ${aLoads}; l++) {
            let e = li + l * ${WG};
            if (e < ${TM * TK}) {
              ${aCoords}
              let row = row0 + r;
              let k = k0 + kk;
              var v = 0.0;
              if (row < uniforms.M && k < kEnd) { v = mm_readA(z, row, k); }
              As[kk * ${TM} + r] = v;
            }
          }
          for (var l = 0; l < ${bLoads}; l++) {
            let e = li + l * ${WG};
            if (e < ${TK * TN}) {
              let kk = e / ${TN};
              let c = e % ${TN};
              let col = col0 + c;
              let k = k0 + kk;
              var v = 0.0;
              if (col < uniforms.N && k < kEnd) { v = mm_readB(z, k, col); }
              Bs[kk * ${TN} + c] = v;
            }
          }
          workgroupBarrier();
          for (var kk = 0; kk < ${TK}; kk++) {
            var a : array<f32, ${RM}>;
            for (var i = 0; i < ${RM}; i++) { a[i] = As[kk * ${TM} + ty + i * ${TY}]; }
            for (var j = 0; j < ${RN}; j++) {
              let b = Bs[kk * ${TN} + tx + j * ${TX}];
              for (var i = 0; i < ${RM}; i++) { acc[i][j] = fma(a[i], b, acc[i][j]); }
            }
          }
          workgroupBarrier();
        }
        for (var i = 0; i < ${RM}; i++) {
          let row = row0 + ty + i * ${TY};
          if (row < uniforms.M) {
            for (var j = 0; j < ${RN}; j++) {
              let col = col0 + tx + j * ${TX};
              if (col < uniforms.N) { result[(zz * uniforms.M + row) * uniforms.N + col] = acc[i][j]; }
            }
          }
        }
      }
    `;
  }
}

/** A program with one thread per output value: `body` is `fn main(index : i32)`'s body. */
export class ElementwiseProgram implements WebgpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [256, 1, 1];
  uniforms?: string;
  size = true;
  private body: string;
  private prelude: string;

  constructor(options: {
    name: string;
    inputs: string[];
    outputShape: number[];
    body: string;
    uniforms?: string;
    /** module-scope WGSL before main (helper functions) */
    prelude?: string;
  }) {
    this.variableNames = options.inputs;
    this.outputShape = options.outputShape;
    this.dispatchLayout = { x: options.outputShape.map((_, i) => i) };
    const size = options.outputShape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(size / 256), 1, 1];
    this.uniforms = options.uniforms;
    this.body = options.body;
    this.prelude = options.prelude ?? "";
    this.shaderKey = `adadf_elementwise_${options.name}`;
  }

  getUserCode(): string {
    return `
      ${this.prelude}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${this.body}
        }
      }
    `;
  }
}

/** Sums a [S, L] stack of split-K partial products over S -> [L]. */
export function splitSumProgram(length: number): ElementwiseProgram {
  return new ElementwiseProgram({
    name: "splitsum",
    inputs: ["P"],
    outputShape: [length],
    uniforms: "S : i32,",
    body: `
      var s = 0.0;
      for (var i = 0; i < uniforms.S; i++) { s += P[i * uniforms.size + index]; }
      result[index] = s;`,
  });
}

/**
 * Runs a GEMM over `inputs` with split-K where it pays (`z` = 1) or a batch (`z` > 1), and
 * returns [Z, M, N] (batches) or [M, N] summed over splits.
 */
export function runGemm(
  backend: WebgpuBackendLike,
  options: {
    name: string;
    kernel: GemmKernelClass;
    inputs: tf.TensorInfo[];
    names: string[];
    batch: number;
    m: number;
    n: number;
    k: number;
    body: string;
    uniforms: string;
    values: Uniform[];
    aKFast: boolean;
    /** force a split count (tests); default: from the target workgroups */
    splits?: number;
  },
): tf.TensorInfo {
  const { batch, m, n, k } = options;
  const tiles = tilesFor(options.kernel, m, n);
  let splits = 1;
  let chunk = Math.max(k, 1);
  if (batch === 1) {
    const outTiles = Math.ceil(m / tiles.tileM) * Math.ceil(n / tiles.tileN);
    if (options.splits !== undefined) {
      chunk = Math.ceil(Math.ceil(k / options.splits) / tiles.tileK) * tiles.tileK;
      splits = Math.ceil(k / chunk);
    } else {
      ({ splits, chunk } = splitCount(k, outTiles, tiles.tileK));
    }
  }
  const program = new GemmProgram({
    name: options.name,
    inputs: options.names,
    z: batch * splits,
    m,
    n,
    tiles,
    body: options.body,
    uniforms: options.uniforms,
    aKFast: options.aKFast,
  });
  const values = [i32(m), i32(n), i32(k), i32(chunk), i32(splits), ...options.values];
  const out = backend.runWebGPUProgram(program, options.inputs, "float32", values);
  if (splits === 1) return out;
  const summed = backend.runWebGPUProgram(splitSumProgram(m * n), [out], "float32", [i32(splits)]);
  backend.disposeData(out.dataId);
  return summed;
}

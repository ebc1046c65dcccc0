/**
 * The fused Adam update as one `wasm` kernel (register.ts registers it). A TF.js optimizer that
 * runs it through `tf.engine().runKernel(ADAM_UPDATE_KERNEL, { value, m, v, gradient }, attrs)`
 * lives with the training code (the toolkit's is lib/train/adam.ts).
 */
import type * as tf from "@tensorflow/tfjs";
import { offsetOf, tensorViews, type WasmBackendLike } from "./_wasm_heap.ts";
import { ADAM_SIMD_PLAIN, ADAM_SIMD_SHARED } from "./_adam_simd_wasm.ts";

/** The fused Adam update's kernel name; registered for `wasm` only. */
export const ADAM_UPDATE_KERNEL = "AdadfAdamUpdate";

type SimdAdam = (
  p: number,
  m: number,
  v: number,
  g: number,
  pOut: number,
  mOut: number,
  vOut: number,
  n: number,
  beta1: number,
  beta2: number,
  step: number,
  scale: number,
  epsilon: number,
) => void;

const simdModules = new WeakMap<WebAssembly.Memory, SimdAdam | null>();
let simdOn = true;

/**
 * Whether the kernel runs its WebAssembly SIMD loop (tools/wasm/adam.wat, four values per
 * instruction, float32 arithmetic as TF.js's and PyTorch's Adam: 96 -> 20 ms per step for 22.2 M
 * parameters) or the JavaScript one (float64 arithmetic, rounded on store). On by default; the
 * JavaScript loop also runs where the engine has no SIMD or the heap's memory object is not exposed.
 */
export function useAdamSimd(on: boolean): void {
  simdOn = on;
}

/** Whether the kernel's SIMD loop runs on this (`wasm`) backend: `useAdamSimd` on, and it instantiated. */
export function adamSimdReady(backend: unknown): boolean {
  return simdAdam(backend as WasmBackendLike) !== undefined;
}

/** The SIMD loop instantiated over this backend's heap, or undefined. */
function simdAdam(backend: WasmBackendLike): SimdAdam | undefined {
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
  if (!simdOn || memory === undefined) return undefined;
  let f = simdModules.get(memory);
  if (f === undefined) {
    try {
      const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
      const bytes = Uint8Array.from(atob(shared ? ADAM_SIMD_SHARED : ADAM_SIMD_PLAIN), (c) => c.charCodeAt(0));
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      f = instance.exports.adam as SimdAdam;
    } catch {
      f = null; // an engine without WebAssembly SIMD: the JavaScript loop
    }
    simdModules.set(memory, f);
  }
  return f ?? undefined;
}

/**
 * One variable's Adam step in one pass over the heap, where TF.js's optimizer runs 14 ops
 * (each a pass, most with a scalar tensor made from a number):
 * m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2, p' = p - lr (m' / bc1) / (sqrt(v' / bc2) + eps).
 * Inputs value, m, v, gradient; outputs new value, m', v' (fresh buffers, so tensors that
 * share the old ones are untouched).
 */
export function adamUpdate(args: Parameters<tf.KernelConfig["kernelFunc"]>[0]): tf.TensorInfo[] {
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
  const simd = simdAdam(backend);
  if (simd !== undefined) {
    const [p0, m0, v0, g0, p1, m1, v1] = [value, m, v, gradient, ...outs].map((t) => offsetOf(backend, t));
    simd(p0, m0, v0, g0, p1, m1, v1, n, a.beta1, a.beta2, a.lr / a.bc1, 1 / Math.sqrt(a.bc2), a.epsilon);
    return outs;
  }
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

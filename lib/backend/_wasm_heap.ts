/** Direct access to the `wasm` backend's tensors in the WebAssembly heap, for the project's kernels. */
import type * as tf from "@tensorflow/tfjs";

/** What the project's kernels need of TF.js's `BackendWasm`. */
export interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array; HEAPF32: Float32Array };
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** Byte offset of a tensor's data in the heap. */
export function offsetOf(backend: WasmBackendLike, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** Raw address of a heap byte offset (read the heap view afresh: it changes when memory grows). */
export function heapPointer(backend: WasmBackendLike, byteOffset: number): Deno.PointerValue {
  return Deno.UnsafePointer.offset(Deno.UnsafePointer.of(backend.wasm.HEAPU8)!, byteOffset);
}

/**
 * A float32 view of one tensor's data, indexed from 0. Loops should index these rather than the
 * whole heap's view: V8's element access through a view of the entire memory runs about 2x
 * slower once the heap passes about 2 GiB (measured on the fused Adam loop: 127 -> 244 ms).
 */
export function tensorView(backend: WasmBackendLike, t: tf.TensorInfo): Float32Array {
  const size = t.shape.reduce((a, b) => a * b, 1);
  return new Float32Array(backend.wasm.HEAPF32.buffer, offsetOf(backend, t), size);
}

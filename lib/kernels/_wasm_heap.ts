/** Direct access to the `wasm` backend's tensors in the WebAssembly heap, for the project's kernels. */
import type * as tf from "@tensorflow/tfjs";

/** What the project's kernels need of TF.js's `BackendWasm`. */
export interface WasmBackendLike {
  wasm: {
    HEAPU8: Uint8Array;
    HEAPF32: Float32Array;
    /** the threaded build's (shared) memory */
    wasmMemory?: WebAssembly.Memory;
    /** the module's exports; the single-threaded build's memory is `asm.memory` */
    asm?: { memory?: WebAssembly.Memory };
  };
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** Byte offset of a tensor's data in the heap. */
export function offsetOf(backend: WasmBackendLike, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/**
 * The heap's current buffer. Read afresh for every kernel: it changes when memory grows, and
 * the threaded build refreshes its `HEAP*` views lazily, so the memory object is asked first.
 */
function heapBuffer(backend: WasmBackendLike): ArrayBufferLike {
  return backend.wasm.wasmMemory?.buffer ?? backend.wasm.HEAPU8.buffer;
}

/** Raw address of a heap byte offset. */
export function heapPointer(backend: WasmBackendLike, byteOffset: number): Deno.PointerValue {
  return Deno.UnsafePointer.offset(Deno.UnsafePointer.of(new Uint8Array(heapBuffer(backend)))!, byteOffset);
}

/**
 * A float32 view of one tensor's data, indexed from 0. Loops should index these rather than the
 * whole heap's view: V8's element access through a view of the entire memory runs about 2x
 * slower once the heap passes about 2 GiB (measured on the fused Adam loop: 127 -> 244 ms).
 */
export function tensorView(backend: WasmBackendLike, t: tf.TensorInfo): Float32Array {
  return tensorViews(backend, [t])[0];
}

/**
 * Views of several tensors. Every offset is looked up before the buffer is read: looking one up
 * can copy a tensor that still lives on another backend into the heap, which can grow memory
 * and detach (or leave too short) a buffer read earlier.
 */
export function tensorViews(backend: WasmBackendLike, ts: tf.TensorInfo[]): Float32Array[] {
  const offsets = ts.map((t) => offsetOf(backend, t));
  const buffer = heapBuffer(backend);
  return ts.map((t, i) => new Float32Array(buffer, offsets[i], t.shape.reduce((a, b) => a * b, 1)));
}

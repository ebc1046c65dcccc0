/** `Identity` for the `wasm` backend without a copy (register.ts registers it). */
import type * as tf from "@tensorflow/tfjs";

/**
 * Identity without a copy: the output shares the input's buffer, its reference count raised,
 * as on the `cpu` backend. TF.js clones every tensor it saves for the backward pass through
 * this kernel, and the wasm backend's own copied each one (333 copies, about 120 ms of a
 * 100x100 training step). Sharing is safe because wasm kernels never write into their inputs.
 */
export function identity(args: Parameters<tf.KernelConfig["kernelFunc"]>[0]): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const backend = args.backend as unknown as { incRef(dataId: unknown): void };
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

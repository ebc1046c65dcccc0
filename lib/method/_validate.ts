/**
 * Argument checks shared by the method files. Private: not re-exported by `mod.ts`.
 * Every check throws a `TypeError` (wrong kind of value) or a `RangeError` (right kind,
 * wrong size or value) whose message names the argument, what it got and what it expected.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Throws unless `t` is a float32 tensor of rank 2; returns its shape [rows, cols]. */
export function assertMatrix(t: tf.Tensor, name: string): [number, number] {
  if (t == null || typeof t !== "object" || !Array.isArray(t.shape)) {
    throw new TypeError(`${name} must be a tf.Tensor2D, got ${String(t)}`);
  }
  if (t.rank !== 2) {
    throw new RangeError(`${name} must have rank 2, got shape [${t.shape}]`);
  }
  if (t.dtype !== "float32") {
    throw new TypeError(`${name} must be float32, got ${t.dtype}`);
  }
  const [rows, cols] = t.shape as number[];
  return [rows, cols];
}

/** Throws unless `t` is a float32 column of shape [n, 1] (n = `rows` when given). */
export function assertColumn(t: tf.Tensor, name: string, rows?: number): number {
  const [n, k] = assertMatrix(t, name);
  if (k !== 1) throw new RangeError(`${name} must have shape [N, 1], got [${t.shape}]`);
  if (rows !== undefined && n !== rows) {
    throw new RangeError(`${name} must have shape [${rows}, 1], got [${t.shape}]`);
  }
  if (n < 1) throw new RangeError(`${name} must have at least one row, got shape [${t.shape}]`);
  return n;
}

/** Throws unless `a` has exactly `shape`. */
export function assertShape(a: tf.Tensor, shape: readonly number[], name: string): void {
  if (a.shape.length !== shape.length || a.shape.some((d, i) => d !== shape[i])) {
    throw new RangeError(`${name} must have shape [${shape}], got [${a.shape}]`);
  }
}

/**
 * Throws unless `labels` is an int32 tensor of shape [n] with every value in [0, numClasses).
 * Reads the values (`dataSync`): labels come from the CPU, so this costs no GPU round trip.
 * On webgpu a synchronous read is impossible under Deno (it needs an OffscreenCanvas), so
 * there only the dtype and shape are checked; the batch builder has checked the values.
 */
export function assertLabelTensor(labels: tf.Tensor, n: number, numClasses: number, name = "labels"): void {
  if (labels == null || typeof labels !== "object" || !Array.isArray(labels.shape)) {
    throw new TypeError(`${name} must be an int32 tf.Tensor1D, got ${String(labels)}`);
  }
  if (labels.dtype !== "int32") throw new TypeError(`${name} must be int32, got ${labels.dtype}`);
  assertShape(labels, [n], name);
  if (tf.getBackend() === "webgpu") return;
  assertLabelValues(labels.dataSync() as Int32Array, numClasses, name);
}

/** Throws unless every label is an integer in [0, numClasses). */
export function assertLabelValues(labels: ArrayLike<number>, numClasses: number, name = "labels"): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
      throw new RangeError(`${name}[${i}] must be an integer class index in [0, ${numClasses}), got ${y}`);
    }
  }
}

/** Throws unless `k` is an integer >= 2 (a distribution over one class is degenerate). */
export function assertNumClasses(k: number, name = "numClasses"): void {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`${name} must be an integer >= 2, got ${k}`);
}

/** Throws unless `x` is a finite number. */
export function assertFinite(x: number, name: string): void {
  if (typeof x !== "number" || !Number.isFinite(x)) {
    throw new RangeError(`${name} must be a finite number, got ${x}`);
  }
}

/** Throws unless `x` is a finite number in [lo, hi]. */
export function assertInRange(x: number, lo: number, hi: number, name: string): void {
  assertFinite(x, name);
  if (x < lo || x > hi) throw new RangeError(`${name} must be in [${lo}, ${hi}], got ${x}`);
}

/** Throws unless `minWeight` and `maxWeight` satisfy 0 <= minWeight <= maxWeight <= 1 (eq. 11-12). */
export function assertWeightRange(minWeight: number, maxWeight: number): void {
  assertInRange(minWeight, 0, 1, "minWeight");
  assertInRange(maxWeight, 0, 1, "maxWeight");
  if (minWeight > maxWeight) {
    throw new RangeError(`minWeight must be <= maxWeight, got minWeight ${minWeight} > maxWeight ${maxWeight}`);
  }
}

/**
 * `stopGradient`: TF.js has no `tf.stopGradient` (PyTorch's `.detach()`), so this is an
 * identity whose gradient is zero. Private: used by `adaDfLoss` for `detachTargets`.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

const identityWithoutGradient = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

/** Returns a copy of `x` through which no gradient flows (PyTorch `x.detach()`). Any shape. */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return identityWithoutGradient(x) as T;
}

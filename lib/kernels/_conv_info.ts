/** The geometry of a TF.js 2-D convolution, shared by the wasm convolution kernels. */
import * as tf from "@tensorflow/tfjs";

type Pad = "valid" | "same" | number | [[number, number], [number, number], [number, number], [number, number]];

/** The attributes of TF.js's Conv2D and its two gradient kernels. */
export interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  dilations?: number | [number, number];
}

/** TF.js's geometry of a 2-D convolution (output size, padding) from its shapes and attributes. */
export function conv2dInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
  );
}

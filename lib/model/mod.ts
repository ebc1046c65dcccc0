/**
 * The model: the dual-branch Ada-DF ResNet-18/50 (and the plain baseline), its layers, and
 * PyTorch weights in (torch.save zip/legacy, safetensors, checked before anything is built)
 * and out (the official state_dict names; torchvision's for the baseline).
 *
 * @example One forward pass of a tiny network
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { AdaDfNet } from "./mod.ts";
 * await tf.setBackend("cpu");
 * const net = new AdaDfNet({ width: 4 }, { seed: 0 });
 * const shape = tf.tidy(() => net.apply(tf.zeros([1, 32, 32, 3]), { training: false }).tarLogits.shape);
 * if (shape.join() !== "1,7") throw new Error("logits [N, C]");
 * net.dispose();
 * ```
 * @module
 */
export { AdaDfNet, type AdaDfOutputs, DEFAULT_MODEL_CONFIG, featureDim, type ModelConfig } from "./adadf_net.ts";
export {
  channelSums,
  DEFAULT_LAYER_KERNELS,
  type FusedBatchNorm,
  globalAveragePool,
  type LayerKernels,
  maxPool,
} from "./layers.ts";
export { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
export {
  readTorchFile,
  readWeightsFile,
  type TorchObject,
  type TorchTensor,
  WeightsError,
  type WeightsFile,
} from "./torch_file.ts";
export { findStateDict, inferModelConfig, loadPretrainedInto, netFromWeightsFile } from "./weights_import.ts";
export { exportOfficialSafetensors, officialStateDict } from "./weights_export.ts";

/**
 * The dual-branch Ada-DF network (METHOD.md "Model"; official model.py), and the paper's
 * Table 2 baseline, a plain single-branch ResNet (`variant: "plain"`):
 * a shared stem (conv1, bn1, relu, maxpool, layer1), then two branches with identical
 * structure and identical initial weights (layer2, layer3, layer4, global average pool,
 * fc), each with an attention head Linear(D -> 1) + sigmoid on its pooled feature.
 * Branch 1 is the auxiliary branch, branch 2 the target branch; logits are
 * `attention * fc(feature)` (the code) or `fc(attention * feature)` (the paper).
 *
 * Parameter names follow the official checkpoint's prefixes with torchvision's names
 * inside them: `feature.conv1.weight`, `feature.layer1.0.bn2.running_var`,
 * `branch_1.layer2.0.downsample.0.weight`, `branch_2.fc.bias`, `alpha_1.weight`.
 * Layouts are TF.js's: conv weights [KH, KW, Cin, Cout], linear weights [in, out].
 */
import * as tf from "@tensorflow/tfjs";
import { Prng } from "../util/prng.ts";
import {
  batchNorm,
  BN_MOMENTUM,
  type BnRecorder,
  conv,
  DEFAULT_LAYER_KERNELS,
  type ForwardContext,
  globalAveragePool,
  Initializer,
  type LayerKernels,
  linear,
  maxPool,
  type ParamMap,
} from "./layers.ts";

/** The architecture. `width` 64 is torchvision's; smaller widths narrow every layer proportionally. */
export interface ModelConfig {
  backbone: "resnet18" | "resnet50";
  /** channels of conv1 and layer1 (64 in torchvision) */
  width: number;
  numClasses: number;
  /** where the attention weight scales: the logits (official code) or the features (paper) */
  attentionOn: "logits" | "features";
  /**
   * `"adadf"`: the dual-branch network with attention heads. `"plain"`: the paper's baseline,
   * a plain ResNet (stem, one branch, fc; no attention head, no auxiliary branch): its
   * parameters are the stem's and `branch_2.*`, and its logits are `fc(f)`.
   */
  variant?: "adadf" | "plain";
}

export const DEFAULT_MODEL_CONFIG: ModelConfig = {
  backbone: "resnet18",
  width: 64,
  numClasses: 7,
  attentionOn: "logits",
  variant: "adadf",
};

interface Arch {
  blocks: [number, number, number, number];
  bottleneck: boolean;
  expansion: number;
}

const ARCHS: Record<ModelConfig["backbone"], Arch> = {
  resnet18: { blocks: [2, 2, 2, 2], bottleneck: false, expansion: 1 },
  resnet50: { blocks: [3, 4, 6, 3], bottleneck: true, expansion: 4 },
};

/**
 * What one forward pass returns. Shapes: logits [N, C], attention [N, 1], features [N, D].
 * A plain network (the baseline) has one branch: its outputs fill both the auxiliary and
 * the target fields (the same tensors), and its attention weights are 1.
 */
export interface AdaDfOutputs {
  auxLogits: tf.Tensor2D;
  tarLogits: tf.Tensor2D;
  wAux: tf.Tensor2D;
  wTar: tf.Tensor2D;
  auxFeatures: tf.Tensor2D;
  tarFeatures: tf.Tensor2D;
}

/** The pooled feature size D: 8 * width * expansion (512 for ResNet-18, 2048 for ResNet-50). */
export function featureDim(config: ModelConfig): number {
  return config.width * 8 * ARCHS[config.backbone].expansion;
}

// ---- parameter creation ------------------------------------------------------------

function addBn(p: Map<string, tf.Tensor>, name: string, c: number) {
  p.set(`${name}.weight`, tf.ones([c]));
  p.set(`${name}.bias`, tf.zeros([c]));
  p.set(`${name}.running_mean`, tf.zeros([c]));
  p.set(`${name}.running_var`, tf.ones([c]));
}

function addLayer(
  p: Map<string, tf.Tensor>,
  init: Initializer,
  name: string,
  arch: Arch,
  inC: number,
  planes: number,
  nBlocks: number,
  stride: number,
): number {
  let c = inC;
  for (let b = 0; b < nBlocks; b++) {
    const s = b === 0 ? stride : 1;
    const bn = `${name}.${b}`;
    const outC = planes * arch.expansion;
    if (arch.bottleneck) {
      p.set(`${bn}.conv1.weight`, init.convWeight(1, 1, c, planes));
      addBn(p, `${bn}.bn1`, planes);
      p.set(`${bn}.conv2.weight`, init.convWeight(3, 3, planes, planes));
      addBn(p, `${bn}.bn2`, planes);
      p.set(`${bn}.conv3.weight`, init.convWeight(1, 1, planes, outC));
      addBn(p, `${bn}.bn3`, outC);
    } else {
      p.set(`${bn}.conv1.weight`, init.convWeight(3, 3, c, planes));
      addBn(p, `${bn}.bn1`, planes);
      p.set(`${bn}.conv2.weight`, init.convWeight(3, 3, planes, planes));
      addBn(p, `${bn}.bn2`, planes);
    }
    if (s !== 1 || c !== outC) {
      p.set(`${bn}.downsample.0.weight`, init.convWeight(1, 1, c, outC));
      addBn(p, `${bn}.downsample.1`, outC);
    }
    c = outC;
  }
  return c;
}

/**
 * Creates the parameters with torchvision's initialisation, seeded. Branch 2 starts as
 * an exact copy of branch 1 (the reference's deep copy); the two attention heads are
 * initialised independently.
 */
export function createAdaDfParams(config: ModelConfig, seed: number): ParamMap {
  validateModelConfig(config);
  const arch = ARCHS[config.backbone];
  const init = new Initializer(new Prng(seed));
  const w = config.width;
  const raw = new Map<string, tf.Tensor>();
  // stem
  raw.set("feature.conv1.weight", init.convWeight(7, 7, 3, w));
  addBn(raw, "feature.bn1", w);
  const stemOut = addLayer(raw, init, "feature.layer1", arch, w, w, arch.blocks[0], 1);
  // branch 1, then its copy (a plain network keeps only the copy, the target branch)
  const plain = config.variant === "plain";
  const branch = new Map<string, tf.Tensor>();
  let c = stemOut;
  c = addLayer(branch, init, "layer2", arch, c, w * 2, arch.blocks[1], 2);
  c = addLayer(branch, init, "layer3", arch, c, w * 4, arch.blocks[2], 2);
  c = addLayer(branch, init, "layer4", arch, c, w * 8, arch.blocks[3], 2);
  const fc = init.linear(c, config.numClasses);
  branch.set("fc.weight", fc.weight);
  branch.set("fc.bias", fc.bias);
  for (const [k, v] of branch) {
    if (plain) {
      raw.set(`branch_2.${k}`, v);
      continue;
    }
    raw.set(`branch_1.${k}`, v);
    raw.set(`branch_2.${k}`, tf.clone(v));
  }
  for (const head of plain ? [] : ["alpha_1", "alpha_2"]) {
    const l = init.linear(c, 1);
    raw.set(`${head}.weight`, l.weight);
    raw.set(`${head}.bias`, l.bias);
  }
  const params: ParamMap = new Map();
  for (const [k, v] of raw) {
    const isStat = k.endsWith("running_mean") || k.endsWith("running_var");
    params.set(k, tf.variable(v, !isStat, k));
    v.dispose();
  }
  return params;
}

export function validateModelConfig(config: ModelConfig): void {
  if (!(config.backbone in ARCHS)) {
    throw new RangeError(`backbone must be resnet18 or resnet50, got '${config.backbone}'`);
  }
  if (!Number.isInteger(config.width) || config.width < 2) {
    throw new RangeError(`width must be an integer >= 2 (64 = torchvision), got ${config.width}`);
  }
  if (!Number.isInteger(config.numClasses) || config.numClasses < 2) {
    throw new RangeError(`numClasses must be an integer >= 2, got ${config.numClasses}`);
  }
  if (config.attentionOn !== "logits" && config.attentionOn !== "features") {
    throw new RangeError(`attentionOn must be 'logits' or 'features', got '${config.attentionOn}'`);
  }
  if (config.variant !== undefined && config.variant !== "adadf" && config.variant !== "plain") {
    throw new RangeError(`variant must be 'adadf' or 'plain', got '${config.variant}'`);
  }
}

// ---- forward ---------------------------------------------------------------------------

function block(ctx: ForwardContext, name: string, arch: Arch, x: tf.Tensor4D, stride: number): tf.Tensor4D {
  let out: tf.Tensor4D;
  if (arch.bottleneck) {
    out = batchNorm(ctx, `${name}.bn1`, conv(ctx, `${name}.conv1`, x, 1, 0), { relu: true });
    out = batchNorm(ctx, `${name}.bn2`, conv(ctx, `${name}.conv2`, out, stride, 1), { relu: true });
    out = batchNorm(ctx, `${name}.bn3`, conv(ctx, `${name}.conv3`, out, 1, 0));
  } else {
    out = batchNorm(ctx, `${name}.bn1`, conv(ctx, `${name}.conv1`, x, stride, 1), { relu: true });
    out = batchNorm(ctx, `${name}.bn2`, conv(ctx, `${name}.conv2`, out, 1, 1));
  }
  const identity = ctx.params.has(`${name}.downsample.0.weight`)
    ? batchNorm(ctx, `${name}.downsample.1`, conv(ctx, `${name}.downsample.0`, x, stride, 0))
    : x;
  return tf.relu(tf.add(out, identity));
}

function layer(ctx: ForwardContext, name: string, arch: Arch, x: tf.Tensor4D, n: number, stride: number) {
  let y = x;
  for (let b = 0; b < n; b++) y = block(ctx, `${name}.${b}`, arch, y, b === 0 ? stride : 1);
  return y;
}

/** The shared stem (conv1, bn1, relu, maxpool, layer1). x [N, H, W, 3] normalised RGB. */
export function stemForward(ctx: ForwardContext, config: ModelConfig, x: tf.Tensor4D): tf.Tensor4D {
  const arch = ARCHS[config.backbone];
  let y = batchNorm(ctx, "feature.bn1", conv(ctx, "feature.conv1", x, 2, 3), { relu: true });
  y = maxPool(y, ctx.kernels?.maxPool);
  return layer(ctx, "feature.layer1", arch, y, arch.blocks[0], 1);
}

function branchForward(ctx: ForwardContext, config: ModelConfig, prefix: string, head: string, x: tf.Tensor4D) {
  const arch = ARCHS[config.backbone];
  let y = layer(ctx, `${prefix}.layer2`, arch, x, arch.blocks[1], 2);
  y = layer(ctx, `${prefix}.layer3`, arch, y, arch.blocks[2], 2);
  y = layer(ctx, `${prefix}.layer4`, arch, y, arch.blocks[3], 2);
  const features = globalAveragePool(y, ctx.kernels?.globalPool); // [N, D]
  if (config.variant === "plain") {
    // the baseline: plain logits fc(f); no attention head (reported as 1)
    const attention = tf.ones([features.shape[0], 1]) as tf.Tensor2D;
    return { logits: linear(ctx, `${prefix}.fc`, features), attention, features };
  }
  const attention = tf.sigmoid(linear(ctx, head, features)); // [N, 1]
  const logits = config.attentionOn === "logits"
    ? tf.mul(attention, linear(ctx, `${prefix}.fc`, features)) as tf.Tensor2D // a * fc(f)
    : linear(ctx, `${prefix}.fc`, tf.mul(attention, features) as tf.Tensor2D); // fc(a * f)
  return { logits, attention, features };
}

/** The whole network. In training mode BatchNorm uses batch statistics and reports them to `ctx.bn`. */
export function adaDfForward(ctx: ForwardContext, config: ModelConfig, x: tf.Tensor4D): AdaDfOutputs {
  const stem = stemForward(ctx, config, x);
  if (config.variant === "plain") {
    const t = branchForward(ctx, config, "branch_2", "alpha_2", stem);
    return {
      auxLogits: t.logits,
      tarLogits: t.logits,
      wAux: t.attention,
      wTar: t.attention,
      auxFeatures: t.features,
      tarFeatures: t.features,
    };
  }
  const aux = branchForward(ctx, config, "branch_1", "alpha_1", stem);
  const tar = branchForward(ctx, config, "branch_2", "alpha_2", stem);
  return {
    auxLogits: aux.logits,
    tarLogits: tar.logits,
    wAux: aux.attention,
    wTar: tar.attention,
    auxFeatures: aux.features,
    tarFeatures: tar.features,
  };
}

/** The target branch alone (inference uses it only): skips the auxiliary branch's work. */
export function targetForward(ctx: ForwardContext, config: ModelConfig, x: tf.Tensor4D) {
  const stem = stemForward(ctx, config, x);
  return branchForward(ctx, config, "branch_2", "alpha_2", stem);
}

// ---- BatchNorm running statistics --------------------------------------------------------

/** Records batch statistics during a training forward pass, then applies PyTorch's running update. */
export class BnStatistics implements BnRecorder {
  #stats: { name: string; mean: tf.Tensor1D; variance: tf.Tensor1D; count: number }[] = [];

  push(name: string, mean: tf.Tensor1D, variance: tf.Tensor1D, count: number): void {
    this.#stats.push({ name, mean, variance, count });
  }

  /** running = (1 - m) running + m batch, with the unbiased batch variance (n / (n - 1)), m = 0.1. */
  apply(params: ParamMap): void {
    tf.tidy(() => {
      for (const { name, mean, variance, count } of this.#stats) {
        const rm = params.get(`${name}.running_mean`)!;
        const rv = params.get(`${name}.running_var`)!;
        const unbiased = tf.mul(variance, count / Math.max(1, count - 1));
        rm.assign(tf.add(tf.mul(rm, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
        rv.assign(tf.add(tf.mul(rv, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
      }
    });
    this.dispose();
  }

  dispose(): void {
    for (const s of this.#stats) {
      s.mean.dispose();
      s.variance.dispose();
    }
    this.#stats = [];
  }
}

// ---- the model object ---------------------------------------------------------------------

/** Names of the stem's parameters (the part `freezeStem` excludes from training). */
export function isStemParam(name: string): boolean {
  return name.startsWith("feature.");
}

/**
 * A dual-branch Ada-DF network: its architecture, its named variables and how its layers
 * compute (`kernels`: the forms that suit the backend, from whoever chose it, e.g.
 * `(await initBackend()).layerKernels`; TF.js's own ops by default).
 */
export class AdaDfNet {
  readonly config: ModelConfig;
  readonly params: ParamMap;
  /** the layers' forms for this backend; the same results whichever (see `LayerKernels`) */
  kernels: LayerKernels;

  constructor(
    config: Partial<ModelConfig> = {},
    options: { seed?: number; params?: ParamMap; kernels?: LayerKernels } = {},
  ) {
    this.config = { ...DEFAULT_MODEL_CONFIG, ...config };
    this.params = options.params ?? createAdaDfParams(this.config, options.seed ?? 0);
    this.kernels = options.kernels ?? DEFAULT_LAYER_KERNELS;
  }

  /** Variables the optimizer updates: every trainable one, less the stem when frozen. */
  trainableVariables(freezeStem: boolean): tf.Variable[] {
    return [...this.params.entries()]
      .filter(([name, v]) => v.trainable && !(freezeStem && isStemParam(name)))
      .map(([, v]) => v);
  }

  /** Number of learnable parameters (BatchNorm running statistics excluded). */
  parameterCount(): number {
    let n = 0;
    for (const v of this.params.values()) if (v.trainable) n += v.size;
    return n;
  }

  /** Forward pass with the net's `kernels`; see `adaDfForward`. */
  apply(x: tf.Tensor4D, options: { training: boolean; bn?: BnRecorder }): AdaDfOutputs {
    return adaDfForward(
      { params: this.params, training: options.training, bn: options.bn, kernels: this.kernels },
      this.config,
      x,
    );
  }

  /** Reads every tensor into plain arrays (for saving). */
  async toArrays(): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, v] of this.params) out[k] = { shape: v.shape, data: (await v.data()) as Float32Array };
    return out;
  }

  /** Overwrites tensors from `toArrays()` output; every name and shape must match. */
  loadArrays(arrays: Record<string, { shape: number[]; data: Float32Array | number[] }>): void {
    for (const [k, v] of this.params) {
      const a = arrays[k];
      if (a === undefined) throw new RangeError(`weights lack '${k}' (expected shape [${v.shape}])`);
      if (a.shape.join(",") !== v.shape.join(",")) {
        throw new RangeError(`weights '${k}' have shape [${a.shape}], expected [${v.shape}]`);
      }
      v.assign(tf.tensor(a.data, a.shape));
    }
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}

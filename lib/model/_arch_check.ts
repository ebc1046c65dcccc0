/**
 * The architectures a weights file may ask for, checked before any network is built: a
 * ResNet-18 or ResNet-50 backbone, a width and a class count within bounds, and the shape
 * of every parameter, computed here from the config alone (no tensor is created). A file
 * that claims a width of 20000 in one expanded tensor, or a width of 256 in its metadata
 * without the tensors to match, is one `WeightsError` line, not a giant allocation.
 *
 * @module
 */
import type { ModelConfig } from "./adadf_net.ts";
import { WeightsError } from "./torch_file.ts";

/**
 * The bounds a weights file's architecture must lie in (`eval --weights`, `predict
 * --weights`): torchvision's width is 64; 256 is already a 1.6 GB ResNet-50.
 */
export const ARCH_LIMITS = { minWidth: 2, maxWidth: 256, minClasses: 2, maxClasses: 1000 } as const;

const BLOCKS: Record<ModelConfig["backbone"], { blocks: number[]; bottleneck: boolean; expansion: number }> = {
  resnet18: { blocks: [2, 2, 2, 2], bottleneck: false, expansion: 1 },
  resnet50: { blocks: [3, 4, 6, 3], bottleneck: true, expansion: 4 },
};

/**
 * Checks the inferred architecture against the known ones and the bounds.
 * @throws {WeightsError} `weights: WHERE: ...` naming the field, its value and the bounds
 */
export function checkArchitecture(config: Partial<ModelConfig>, where: string): void {
  const bad = (what: string): never => {
    throw new WeightsError(`weights: ${where}: ${what}`);
  };
  if (config.backbone !== "resnet18" && config.backbone !== "resnet50") {
    bad(`the backbone ${JSON.stringify(config.backbone)} is not one of resnet18, resnet50`);
  }
  const { minWidth, maxWidth, minClasses, maxClasses } = ARCH_LIMITS;
  const w = config.width;
  if (!(Number.isInteger(w) && w! >= minWidth && w! <= maxWidth)) {
    bad(
      `the width (conv1's channels) is ${
        String(w)
      }; expected an integer in ${minWidth}..${maxWidth} (64 = torchvision)`,
    );
  }
  const c = config.numClasses;
  if (!(Number.isInteger(c) && c! >= minClasses && c! <= maxClasses)) {
    bad(`the class count (fc's outputs) is ${String(c)}; expected an integer in ${minClasses}..${maxClasses}`);
  }
  if (config.attentionOn !== undefined && config.attentionOn !== "logits" && config.attentionOn !== "features") {
    bad(`attentionOn ${JSON.stringify(config.attentionOn)} is not logits or features`);
  }
  if (config.variant !== undefined && config.variant !== "adadf" && config.variant !== "plain") {
    bad(`the variant ${JSON.stringify(config.variant)} is not adadf or plain`);
  }
}

/**
 * Every parameter of the `AdaDfNet` that `config` builds, with its shape in the toolkit's
 * layout (conv [KH, KW, Cin, Cout], linear [in, out]), as `createAdaDfParams` creates them,
 * without creating them. Shaped like `AdaDfNet`'s `params` for the weights planner.
 */
export function expectedParams(config: ModelConfig): Map<string, { shape: number[] }> {
  const arch = BLOCKS[config.backbone];
  const p = new Map<string, { shape: number[] }>();
  const set = (m: Map<string, { shape: number[] }>, name: string, shape: number[]) => m.set(name, { shape });
  const bn = (m: Map<string, { shape: number[] }>, name: string, ch: number) => {
    for (const k of ["weight", "bias", "running_mean", "running_var"]) set(m, `${name}.${k}`, [ch]);
  };
  const layer = (
    m: Map<string, { shape: number[] }>,
    name: string,
    inC: number,
    planes: number,
    n: number,
    stride: number,
  ) => {
    let c = inC;
    for (let b = 0; b < n; b++) {
      const s = b === 0 ? stride : 1;
      const blk = `${name}.${b}`;
      const outC = planes * arch.expansion;
      if (arch.bottleneck) {
        set(m, `${blk}.conv1.weight`, [1, 1, c, planes]);
        bn(m, `${blk}.bn1`, planes);
        set(m, `${blk}.conv2.weight`, [3, 3, planes, planes]);
        bn(m, `${blk}.bn2`, planes);
        set(m, `${blk}.conv3.weight`, [1, 1, planes, outC]);
        bn(m, `${blk}.bn3`, outC);
      } else {
        set(m, `${blk}.conv1.weight`, [3, 3, c, planes]);
        bn(m, `${blk}.bn1`, planes);
        set(m, `${blk}.conv2.weight`, [3, 3, planes, planes]);
        bn(m, `${blk}.bn2`, planes);
      }
      if (s !== 1 || c !== outC) {
        set(m, `${blk}.downsample.0.weight`, [1, 1, c, outC]);
        bn(m, `${blk}.downsample.1`, outC);
      }
      c = outC;
    }
    return c;
  };
  const w = config.width;
  set(p, "feature.conv1.weight", [7, 7, 3, w]);
  bn(p, "feature.bn1", w);
  let c = layer(p, "feature.layer1", w, w, arch.blocks[0], 1);
  const branch = new Map<string, { shape: number[] }>();
  c = layer(branch, "layer2", c, w * 2, arch.blocks[1], 2);
  c = layer(branch, "layer3", c, w * 4, arch.blocks[2], 2);
  c = layer(branch, "layer4", c, w * 8, arch.blocks[3], 2);
  set(branch, "fc.weight", [c, config.numClasses]);
  set(branch, "fc.bias", [config.numClasses]);
  const plain = config.variant === "plain";
  for (const [k, v] of branch) {
    if (!plain) p.set(`branch_1.${k}`, v);
    p.set(`branch_2.${k}`, { shape: v.shape.slice() });
  }
  for (const head of plain ? [] : ["alpha_1", "alpha_2"]) {
    set(p, `${head}.weight`, [c, 1]);
    set(p, `${head}.bias`, [1]);
  }
  return p;
}

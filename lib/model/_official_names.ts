/**
 * Name and layout conversions between the toolkit's parameters and PyTorch's.
 *
 * The official model (model.py) builds its parts as `nn.Sequential`s of timm's ResNet
 * children (conv1, bn1, act1, maxpool, layer1 | layer2, layer3, layer4, global_pool, fc),
 * so its state_dict numbers them:
 *   feature.conv1 -> feature.0, feature.bn1 -> feature.1, feature.layer1 -> feature.4;
 *   branch_k.layer2/3/4 -> branch_k.0/1/2 (alias branch_k_feature.0/1/2);
 *   branch_k.fc -> branch_k.4 (alias branch_k_classifier); alpha_k -> alpha_k.0 (Linear, then Sigmoid).
 * The aliases are the same modules registered twice, so `state_dict()` lists both names
 * (sharing storage) and `load_state_dict(strict=True)` wants both.
 */

const FEATURE_INDEX: Record<string, number> = { conv1: 0, bn1: 1, layer1: 4 };
const BRANCH_INDEX: Record<string, number> = { layer2: 0, layer3: 1, layer4: 2, fc: 4 };

/** The official state_dict names of one toolkit parameter: the primary name first, then its aliases. */
export function officialNames(name: string): string[] {
  const dot = name.indexOf(".");
  const head = name.slice(0, dot);
  const rest = name.slice(dot + 1);
  const dot2 = rest.indexOf(".");
  const part = rest.slice(0, dot2);
  const tail = rest.slice(dot2 + 1);
  if (head === "feature" && part in FEATURE_INDEX) return [`feature.${FEATURE_INDEX[part]}.${tail}`];
  if ((head === "branch_1" || head === "branch_2") && part in BRANCH_INDEX) {
    const primary = `${head}.${BRANCH_INDEX[part]}.${tail}`;
    const alias = part === "fc" ? `${head}_classifier.${tail}` : `${head}_feature.${BRANCH_INDEX[part]}.${tail}`;
    return [primary, alias];
  }
  if (head === "alpha_1" || head === "alpha_2") return [`${head}.0.${rest}`];
  throw new RangeError(`no official name for the parameter '${name}'`);
}

/** The torchvision/timm ResNet name of a stem or branch-1 parameter (`feature.layer1.0.conv1.weight` -> `layer1.0.conv1.weight`). */
export function resnetName(name: string): string | undefined {
  if (name.startsWith("feature.")) return name.slice("feature.".length);
  if (name.startsWith("branch_1.")) return name.slice("branch_1.".length);
  return undefined;
}

/** PyTorch's shape of a toolkit tensor: conv [KH,KW,Cin,Cout] -> [Cout,Cin,KH,KW], linear [in,out] -> [out,in]. */
export function torchShape(tfShape: number[]): number[] {
  if (tfShape.length === 4) return [tfShape[3], tfShape[2], tfShape[0], tfShape[1]];
  if (tfShape.length === 2) return [tfShape[1], tfShape[0]];
  return tfShape.slice();
}

/** Toolkit layout -> PyTorch layout (a copy). */
export function toTorchLayout(data: Float32Array, tfShape: number[]): Float32Array {
  return permuteLayout(data, tfShape, "toTorch");
}

/** PyTorch layout -> toolkit layout, given the toolkit shape (a copy). */
export function fromTorchLayout(data: Float32Array, tfShape: number[]): Float32Array {
  return permuteLayout(data, tfShape, "fromTorch");
}

/**
 * Conv [KH,KW,Cin,Cout] <-> [Cout,Cin,KH,KW] and linear [in,out] <-> [out,in]; other shapes
 * are copied as they are.
 */
function permuteLayout(data: Float32Array, tfShape: number[], direction: "toTorch" | "fromTorch"): Float32Array {
  const out = new Float32Array(data.length);
  const move = direction === "toTorch"
    ? (tf: number, torch: number) => (out[torch] = data[tf])
    : (tf: number, torch: number) => (out[tf] = data[torch]);
  if (tfShape.length === 4) {
    const [kh, kw, ci, co] = tfShape;
    for (let h = 0; h < kh; h++) {
      for (let w = 0; w < kw; w++) {
        for (let i = 0; i < ci; i++) {
          for (let o = 0; o < co; o++) move(((h * kw + w) * ci + i) * co + o, ((o * ci + i) * kh + h) * kw + w);
        }
      }
    }
  } else if (tfShape.length === 2) {
    const [inF, outF] = tfShape;
    for (let i = 0; i < inF; i++) for (let o = 0; o < outF; o++) move(i * outF + o, o * inF + i);
  } else {
    out.set(data);
  }
  return out;
}

#!/usr/bin/env python3
"""PyTorch fixtures for the weight import/export tests and the training-trace parity test.

Run from anywhere (Debian's python3-torch, CPU, float32, no torchvision or timm needed):

    /usr/bin/python3 tools/golden/make_weights_fixtures.py            # writes tests/fixtures/weights/
    /usr/bin/python3 tools/golden/make_weights_fixtures.py --check-export FILE.safetensors
    /usr/bin/python3 tools/golden/make_weights_fixtures.py --check-torchvision FILE.safetensors INPUT.npy
        # loads a toolkit export into the official model with strict=True and checks that its
        # outputs on the parity input equal the checkpoint fixture's (exit 0) or not (exit 1)
    python3 tools/golden/make_weights_fixtures.py --cuda-fixture DIR   # on a CUDA machine:
        # cuda_saved_torch2.pth (saved from the GPU), cuda_input.npy, cuda_output.json (GPU outputs)

It writes into tests/fixtures/weights/:
  - torch_features.pth / torch_features_legacy.pth: a dict exercising the file format (float32,
    float16, int64, bool, views with offsets and strides, a storage shared by two keys, nested
    lists and dicts), both zip and pre-1.6 legacy format; torch_features.json holds the expected
    values.
  - resnet18_msceleb_style.pth: {'state_dict': torchvision/timm ResNet-18 keys, 'epoch'} as
    resnet18_msceleb.pth, width 4 (channels 4-32), fc with 10 classes (the model has 7: skipped).
  - resnet18_module_legacy_f16.pth: the same weights, 'module.' prefixed (DataParallel), bare,
    float16, legacy format.
  - resnet50_w2.pth: a ResNet-50 state dict (width 2), for the wrong-architecture error.
  - adadf_checkpoint.pth.tar: train.py's checkpoint dict {epoch, state_dict, acc, best_acc,
    optimizer, class_distributions} of the official model (model.py re-typed below), width 4,
    7 classes, after one Adam step; state_dict with the aliases branch_k_feature.* and
    branch_k_classifier.* sharing storage with branch_k.*; saved with the 'cuda:0' location
    tag that a checkpoint saved from a GPU carries.
  - official_keys.json: the official model's state_dict keys, shapes and dtypes, in order.
  - parity_input.npy [4, 3, 36, 36] (normalised, PyTorch layout) and parity.json: eval-mode
    outputs of the official model with the checkpoint's weights (auxiliary logits, target
    logits, both attention weights and their mean), and of the ResNet-18 file's branches
    (pooled features, fc logits).
  - trace.json: train.py's loop re-typed (train(), validate(), utils.generate_adaptive_LD)
    run for two epochs of three steps of batch 8 from the checkpoint's weights on 24 fixed
    32x32 images (and 8 test images), file order, no augmentation, stem frozen (model.py's
    requires_grad=False; its BatchNorm still updates its running statistics in train mode):
    per-step L_ce, L_kld, L_RR and total, the loss weights, and the class distributions
    mined after each epoch with the code's threshold rows (0.4 / (C - 1) off the diagonal).

Every BatchNorm of the fixtures has running statistics, weights and biases far from their
defaults (mean 0, var 1, gamma 1, beta 0), so that a wrong BatchNorm or padding shows.
Everything is seeded: running it again rewrites the same values (on the same PyTorch).

Sources re-typed (never imported): github.com/taylor-xy0827/Ada-DF model.py (ResNet18 with
`feature = children[:-5]`, `branch_1 = children[-5:]`, deep copy, attention heads), train.py
(train(), validate(), the checkpoint dict), utils.py (generate_adaptive_LD). The ResNet is
torchvision's/timm's (same parameter names, timm's child order conv1, bn1, act1, maxpool,
layer1-4, global_pool, fc), narrowed by `width`.
"""
import base64
import copy
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_method_fixtures import generate_adaptive_LD, official_batch_loss  # noqa: E402  (train.py and utils.py, re-typed once)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "fixtures", "weights")
SEED = 20261128
WIDTH = 4
NUM_CLASSES = 7
IMAGE = 32
PARITY_IMAGE = 36  # odd sizes after the stem (9, 5, 3): a wrong (asymmetric) padding shows
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]

torch.set_num_threads(1)


# ---------------------------------------------------------------------------------------
# ResNet with torchvision's parameter names and timm's children order
# ---------------------------------------------------------------------------------------
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.act2 = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return self.act2(x + shortcut)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)  # stride on the 3x3 (v1.5)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x))
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return self.relu(x + shortcut)


class ResNet(nn.Module):
    def __init__(self, block, layers, width=64, num_classes=1000):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, width, layers[0], 1)
        self.layer2 = self._make_layer(block, width * 2, layers[1], 2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], 2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], 2)
        self.global_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)

    def _make_layer(self, block, planes, n, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, n):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.global_pool(x))


def resnet18(width, num_classes):
    return ResNet(BasicBlock, [2, 2, 2, 2], width, num_classes)


def resnet50(width, num_classes):
    return ResNet(Bottleneck, [3, 4, 6, 3], width, num_classes)


def far_from_default_bn(model, gen):
    """BatchNorm statistics and affine parameters far from (0, 1, 1, 0), yet alive.

    gamma and beta are drawn; the running statistics are first measured in train mode on
    random inputs (so every layer's activations keep varying with the input), then moved
    by up to half a standard deviation (mean) and a factor 0.5-2 (variance)."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            c = m.num_features
            m.weight.copy_(torch.rand(c, generator=gen) * 1.0 + 0.5)
            m.bias.copy_(torch.rand(c, generator=gen) * 0.8 - 0.4)
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
        was_training = model.training
        model.train()
        for _ in range(4):
            model(torch.randn(8, 3, IMAGE, IMAGE, generator=gen) * 1.5)
        model.train(was_training)
        for m in bns:
            c = m.num_features
            std = m.running_var.sqrt()
            m.running_mean.add_((torch.rand(c, generator=gen) - 0.5) * std)
            m.running_var.mul_(torch.rand(c, generator=gen) * 1.5 + 0.5)
            m.momentum = 0.1
            m.num_batches_tracked.fill_(1234)


# ---------------------------------------------------------------------------------------
# model.py, re-typed: timm's resnet18 replaced by the ResNet above (same names and order)
# ---------------------------------------------------------------------------------------
class OfficialAdaDf(nn.Module):
    def __init__(self, backbone, num_classes=7, drop_rate=0):
        super().__init__()
        self.drop_rate = drop_rate
        model = backbone
        dim = model.fc.in_features
        model.fc = nn.Linear(dim, num_classes)

        self.feature = nn.Sequential(*list(model.children())[:-5])
        for param in self.feature.parameters():
            param.requires_grad = False

        self.branch_1 = nn.Sequential(*list(model.children())[-5:])
        self.branch_1_feature = nn.Sequential(*list(self.branch_1.children())[:-1])
        self.branch_1_classifier = self.branch_1[-1]

        self.branch_2 = copy.deepcopy(self.branch_1)
        self.branch_2_feature = nn.Sequential(*list(self.branch_2.children())[:-1])
        self.branch_2_classifier = self.branch_2[-1]

        self.alpha_1 = nn.Sequential(nn.Linear(dim, 1), nn.Sigmoid())
        self.alpha_2 = nn.Sequential(nn.Linear(dim, 1), nn.Sigmoid())

    def forward(self, image, with_heads=False):
        feature_0 = self.feature(image)
        feature_0 = nn.Dropout(self.drop_rate)(feature_0)
        feature_1 = self.branch_1_feature(feature_0)
        feature_2 = self.branch_2_feature(feature_0)
        attention_weights_1 = self.alpha_1(feature_1)
        attention_weights_2 = self.alpha_2(feature_2)
        out_1 = attention_weights_1 * self.branch_1_classifier(feature_1)
        out_2 = attention_weights_2 * self.branch_2_classifier(feature_2)
        attention_weights = (attention_weights_1 + attention_weights_2) / 2
        if with_heads:
            return out_1, out_2, attention_weights, attention_weights_1, attention_weights_2
        return out_1, out_2, attention_weights


def build_official(gen):
    backbone = resnet18(WIDTH, 1000)
    far_from_default_bn(backbone, gen)
    torch.manual_seed(SEED + 1)
    model = OfficialAdaDf(backbone, NUM_CLASSES)
    # the two branches differ after training: perturb branch_2 so a swapped branch shows
    with torch.no_grad():
        for p in model.branch_2.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.02)
        for m in model.branch_2.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.add_(0.1)
                m.running_var.mul_(1.2)
    return model


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def r(x, digits=8):
    return [round(float(v), digits) for v in np.asarray(x, dtype=np.float64).reshape(-1)]


def cuda_location_tag():
    """Tags every CPU storage 'cuda:0', as torch.save writes a checkpoint saved from a GPU."""

    def tagger(obj):
        return "cuda:0"

    def deserializer(obj, location):
        return obj if location.startswith("cuda") else None

    torch.serialization.register_package(0, tagger, deserializer)


def normalise(images_u8):
    """The toolkit's makeBatch: x = v / (255 std) - mean / std (float64, then float32); NHWC -> NCHW."""
    scale = np.array([1 / (255 * s) for s in STD])
    shift = np.array([m / s for m, s in zip(MEAN, STD)])
    x = (images_u8.astype(np.float64) * scale - shift).astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def make_images(gen, n):
    """Smooth random colour images with a class-dependent bright square, uint8 [N, S, S, 3]."""
    base = torch.rand(n, 3, 8, 8, generator=gen)
    img = F.interpolate(base, size=(IMAGE, IMAGE), mode="bilinear", align_corners=False)
    labels = torch.arange(n) % NUM_CLASSES
    for i in range(n):
        c = int(labels[i])
        img[i, c % 3, 4 * c: 4 * c + 8, 4 * c: 4 * c + 8] += 0.5
    u8 = (img.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
    return u8, labels.numpy().astype(np.int64)


# ---------------------------------------------------------------------------------------
# 1. the file format
# ---------------------------------------------------------------------------------------
def write_format_fixtures():
    base = torch.arange(24, dtype=torch.float32) * 0.5 - 3  # one storage of 24 values
    shared = torch.linspace(-1, 1, 6)
    obj = {
        "f32": torch.tensor([[1.5, -2.25, 3.0], [0.125, 1e-3, -7.0]]),
        "f16": torch.tensor([0.1, -65504.0, 1.0 / 3], dtype=torch.float16),
        "i64": torch.tensor([1234, -5, 2 ** 40], dtype=torch.int64),
        "bool": torch.tensor([True, False, True]),
        "offset_view": base[5:11],  # storage offset 5
        "transposed": base.view(4, 6).t(),  # strides (1, 6)
        "strided": base.view(4, 6)[1:, ::2],  # offset 6, strides (6, 2)
        "shared_a": shared,
        "shared_b": shared,
        "scalar": torch.tensor(2.5),
        "nested": {"list": [1, 2.5, "three", None, True], "tuple": (torch.ones(2), -1)},
        "big_int": 2 ** 62,
    }
    expected = {
        k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "values": r(v.float())}
        for k, v in obj.items()
        if isinstance(v, torch.Tensor)
    }
    torch.save(obj, os.path.join(OUT, "torch_features.pth"))
    torch.save(obj, os.path.join(OUT, "torch_features_legacy.pth"), _use_new_zipfile_serialization=False)
    return expected


# ---------------------------------------------------------------------------------------
# 4. train.py's loop, re-typed (train(), validate(), utils.generate_adaptive_LD)
# ---------------------------------------------------------------------------------------
class Args:
    epochs = 2
    batch_size = 8
    lr = 0.001
    num_classes = NUM_CLASSES
    threshold = 0.143
    alpha = None
    beta = 3
    max_weight = 1.0
    min_weight = 0.2
    gamma = 0.9
    tops = 0.7
    margin_1 = 0.3


def mined_with_diagonal(outputs, targets, num_classes, threshold):
    """utils.generate_adaptive_LD (the method fixtures' re-typing, the code's threshold rows), plus the diagonals."""
    LD, _, probs = generate_adaptive_LD(outputs, targets, num_classes, threshold, "code")
    targets_l = targets[1:].cpu().numpy()
    diagonal = [float(torch.mean(probs[np.where(targets_l == i)[0]], dim=0)[i]) for i in range(num_classes)]
    return LD, diagonal


def train_epoch(loader, model, optimizer, LD, epoch, args, steps):
    """train.py's train() over the loader; the loss of a batch is the method fixtures' re-typing of it."""
    model.train()
    for images, labels in loader:
        outputs_1, outputs_2, attention_weights = model(images)
        # model.py already averaged the two heads; (w + w) / 2 is w exactly
        parts = official_batch_loss(outputs_1, outputs_2, attention_weights, attention_weights, labels, LD, epoch, args,
                                    detach=False)
        # the toolkit's names: a1 weighs L_ce (train.py's alpha_2), a2 weighs L_kld (its alpha_1)
        steps.append({
            "epoch": epoch,
            "ce": float(parts["ce"]),
            "kld": float(parts["kld"]),
            "rr": float(parts["rr"]),
            "total": float(parts["total"]),
            "a1": parts["a1"],
            "a2": parts["a2"],
        })
        optimizer.zero_grad()
        parts["total"].backward()
        optimizer.step()


def validate_train(loader, model):
    model.eval()
    outputs_new = torch.ones(1, NUM_CLASSES)
    targets_new = torch.ones(1).long()
    with torch.no_grad():
        for inputs, targets in loader:
            outputs, _, _ = model(inputs)
            outputs_new = torch.cat((outputs_new, outputs), dim=0)
            targets_new = torch.cat((targets_new, targets), dim=0)
    return outputs_new, targets_new


class ThresholdTooClose(Exception):
    pass


def run_trace(state_dict, threshold):
    """The trace at one threshold; raises ThresholdTooClose where a diagonal lies within 2e-3 of it
    (a mined/replaced decision that float rounding could flip)."""
    args = Args()
    args.threshold = threshold
    gen = torch.Generator().manual_seed(SEED + 10)
    images, labels = make_images(gen, 24)
    test_images, test_labels = make_images(gen, 8)
    x = normalise(images)
    y = torch.from_numpy(labels)
    loader = [(x[i:i + 8], y[i:i + 8]) for i in range(0, 24, 8)]  # file order, drop_last (24 = 3 x 8)
    model = OfficialAdaDf(resnet18(WIDTH, 1000), NUM_CLASSES)
    model.load_state_dict(state_dict, strict=True)
    LD = torch.zeros(args.num_classes, args.num_classes)
    for i in range(args.num_classes):
        LD[i] = torch.zeros(args.num_classes).fill_((1 - args.threshold) / (args.num_classes - 1)).scatter_(
            0, torch.tensor(i), args.threshold)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=args.gamma)
    steps, epochs = [], []
    for epoch in range(1, args.epochs + 1):
        train_epoch(loader, model, optimizer, LD, epoch, args, steps)
        outputs_new, targets_new = validate_train(loader, model)
        LD, diagonal = mined_with_diagonal(outputs_new, targets_new, args.num_classes, args.threshold)
        margin = min(abs(d - args.threshold) for d in diagonal)
        if margin < 2e-3:
            raise ThresholdTooClose(f"epoch {epoch}: a mined diagonal is within {margin:.2g} of {args.threshold}")
        epochs.append({"epoch": epoch, "rows": [r(row) for row in LD], "diagonal": r(diagonal)})
        scheduler.step()
    return {
        "config": {
            "width": WIDTH, "imageSize": IMAGE, "numClasses": NUM_CLASSES, "epochs": args.epochs,
            "batchSize": args.batch_size, "lr": args.lr, "lrGamma": args.gamma, "threshold": args.threshold,
            "thresholdRows": "code", "beta": args.beta, "tops": args.tops, "margin": args.margin_1,
            "minWeight": args.min_weight, "maxWeight": args.max_weight, "freezeStem": True,
            "detachTargets": False,
        },
        "train": {"labels": labels.tolist(), "images": base64.b64encode(images.tobytes()).decode()},
        "test": {"labels": test_labels.tolist(), "images": base64.b64encode(test_images.tobytes()).decode()},
        "steps": steps,
        "epochs": epochs,
    }


# ---------------------------------------------------------------------------------------
# 5. checking a toolkit export (safetensors read without the safetensors package)
# ---------------------------------------------------------------------------------------
def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    out = {}
    for k, info in header.items():
        b, e = info["data_offsets"]
        arr = np.frombuffer(raw[8 + n + b:8 + n + e], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out, meta


def check_export(path):
    state, meta = read_safetensors(path)
    model = OfficialAdaDf(resnet18(WIDTH, 1000), NUM_CLASSES)
    model.load_state_dict(state, strict=True)  # raises on a missing, unexpected or mis-shaped key
    model.eval()
    x = torch.from_numpy(np.load(os.path.join(OUT, "parity_input.npy")))
    with open(os.path.join(OUT, "parity.json")) as f:
        want = json.load(f)["adadf"]
    with torch.no_grad():
        out_1, out_2, _, w1, w2 = model(x, with_heads=True)
    worst = 0.0
    for got, key in [(out_1, "auxLogits"), (out_2, "tarLogits"), (w1, "wAux"), (w2, "wTar")]:
        ref = np.array(want[key])
        worst = max(worst, float(np.max(np.abs(got.numpy().reshape(-1) - ref) / (np.abs(ref) + 1e-6))))
    print(json.dumps({"strict": True, "keys": len(state), "maxRelativeError": worst, "metadata": sorted(meta)}))
    sys.exit(0 if worst < 1e-4 else 1)


def check_torchvision(path, input_path):
    """The baseline's export: torchvision's own ResNet-18/50 takes it with strict=True; prints its eval-mode logits."""
    import torchvision
    state, meta = read_safetensors(path)
    classes = state["fc.weight"].shape[0]
    arch = torchvision.models.resnet50 if "layer1.0.conv3.weight" in state else torchvision.models.resnet18
    model = arch(num_classes=classes)
    model.load_state_dict(state, strict=True)  # raises on a missing, unexpected or mis-shaped key
    model.eval()
    x = torch.from_numpy(np.load(input_path))
    with torch.no_grad():
        logits = model(x)
    print(json.dumps({"strict": True, "keys": len(state), "torchvision": torchvision.__version__,
                      "logits": logits.flatten().tolist()}))


def cuda_fixture(outdir):
    """cuda_saved_torch2.pth, cuda_input.npy, cuda_output.json: saved from a CUDA GPU (run on a GPU machine;
    the committed ones come from PyTorch 2.11 on an H200)."""
    g = torch.Generator().manual_seed(7)
    model = build_official(g).cuda().eval()
    base = torch.arange(24, dtype=torch.float32, device="cuda")
    obj = {"state_dict": model.state_dict(), "view": base.view(4, 6).t(), "half": base[3:9].half(),
           "class_distributions": torch.softmax(torch.randn(7, 7), 1).cuda()}
    torch.save(obj, os.path.join(outdir, "cuda_saved_torch2.pth"))
    x = torch.randn(2, 3, PARITY_IMAGE, PARITY_IMAGE, generator=g)
    with torch.no_grad():
        o1, o2, _, w1, w2 = model(x.cuda(), with_heads=True)
    np.save(os.path.join(outdir, "cuda_input.npy"), x.numpy())
    with open(os.path.join(outdir, "cuda_output.json"), "w") as f:
        json.dump({"aux": o1.cpu().flatten().tolist(), "tar": o2.cpu().flatten().tolist(),
                   "w1": w1.cpu().flatten().tolist(), "w2": w2.cpu().flatten().tolist(), "torch": torch.__version__}, f)


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)
    features = write_format_fixtures()

    # ResNet-18 files (fc with 10 classes: a class count that differs from the model's 7)
    torch.manual_seed(SEED + 2)
    res = resnet18(WIDTH, 10)
    far_from_default_bn(res, gen)
    res.eval()
    torch.save({"state_dict": res.state_dict(), "epoch": 40}, os.path.join(OUT, "resnet18_msceleb_style.pth"))
    half = {"module." + k: (v.half() if v.is_floating_point() else v) for k, v in res.state_dict().items()}
    torch.save(half, os.path.join(OUT, "resnet18_module_legacy_f16.pth"), _use_new_zipfile_serialization=False)
    torch.manual_seed(SEED + 3)
    r50 = resnet50(2, 1000)
    torch.save({k: (v.half() if v.is_floating_point() else v) for k, v in r50.state_dict().items()},
               os.path.join(OUT, "resnet50_w2.pth"))

    # the official model and train.py's checkpoint dict (one Adam step so `optimizer` has state)
    model = build_official(gen)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.eval()  # the step below changes the weights but not the running statistics
    x0 = torch.randn(2, 3, IMAGE, IMAGE, generator=gen)
    out_1, out_2, _ = model(x0)
    (out_1.sum() + out_2.sum()).backward()
    optimizer.step()
    optimizer.zero_grad()
    LD = torch.softmax(torch.randn(NUM_CLASSES, NUM_CLASSES, generator=gen) * 2, dim=1)
    state_dict = model.state_dict()
    cuda_location_tag()
    torch.save({
        "epoch": 3,
        "state_dict": state_dict,
        "acc": 61.25,
        "best_acc": 63.5,
        "optimizer": optimizer.state_dict(),
        "class_distributions": LD.detach(),
    }, os.path.join(OUT, "adadf_checkpoint.pth.tar"))
    with open(os.path.join(OUT, "official_keys.json"), "w") as f:
        json.dump([{"key": k, "shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")}
                   for k, v in state_dict.items()], f, indent=0)

    # parity: eval-mode outputs on one input
    x = torch.randn(4, 3, PARITY_IMAGE, PARITY_IMAGE, generator=gen) * 1.5
    np.save(os.path.join(OUT, "parity_input.npy"), x.numpy())
    with torch.no_grad():
        o1, o2, att, w1, w2 = model(x, with_heads=True)
        res_features = res.global_pool(res.layer4(res.layer3(res.layer2(
            res.layer1(res.maxpool(res.act1(res.bn1(res.conv1(x)))))))))
    parity = {
        "adadf": {
            "auxLogits": r(o1, 9), "tarLogits": r(o2, 9), "wAux": r(w1, 9), "wTar": r(w2, 9),
            "attention": r(att, 9), "classDistributions": [r(row, 9) for row in LD],
        },
        "resnet": {"features": r(res_features, 9), "fcClasses": 10},
    }
    with open(os.path.join(OUT, "parity.json"), "w") as f:
        json.dump(parity, f)
    with open(os.path.join(OUT, "torch_features.json"), "w") as f:
        json.dump(features, f)

    # the first threshold (near 1/C, where the aux branch's diagonals lie) that splits the
    # classes into mined and replaced rows with every diagonal at least 2e-3 away from it
    for threshold in [0.143, 0.145, 0.147, 0.141, 0.149, 0.139, 0.151, 0.137]:
        try:
            trace = run_trace(state_dict, threshold)
        except ThresholdTooClose as e:
            print("threshold", threshold, "rejected:", e)
            continue
        rows_mined = [d >= threshold for d in trace["epochs"][-1]["diagonal"]]
        if any(rows_mined) and not all(rows_mined):
            break
    else:
        raise SystemExit("no threshold splits the classes cleanly")
    with open(os.path.join(OUT, "trace.json"), "w") as f:
        json.dump(trace, f)
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check-export":
        check_export(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "--check-torchvision":
        check_torchvision(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "--cuda-fixture":
        cuda_fixture(sys.argv[2])
    else:
        main()

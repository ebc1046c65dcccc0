#!/usr/bin/env python3
"""Golden values for tests/method/golden_test.ts, from the official Ada-DF code re-typed.

Run from anywhere (PyTorch on the CPU, float32):

    /usr/bin/python3 tools/golden/make_method_fixtures.py

It writes tests/fixtures/method/golden.json: inputs and the official code's outputs for
  - "loss":  train.py's per-batch loss (L_RR, L_ce, L_kld, total, alpha weights, fused
             targets) and the gradients of the total with respect to auxLogits, tarLogits,
             wAux and wTar (each a leaf);
  - "mining": utils.generate_adaptive_LD (class distributions and which rows were mined);
  - "attentionStatistics": utils.generate_average_weights.
Everything is seeded and single-threaded: running the script again rewrites the file
byte for byte (on the same PyTorch version).

Sources: github.com/taylor-xy0827/Ada-DF, train.py (train(): rank regularisation, fusion,
losses), model.py (forward(): the averaged attention), utils.py (generate_adaptive_LD,
generate_average_weights). Where the port adds an option the code lacks (the paper's
threshold rows, a detached target) the lines say so.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20240607
NUM_CLASSES = 7
BETA = 3
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "fixtures", "method", "golden.json")


class Args:
    """The argparse namespace of train.py, with its defaults."""

    def __init__(self, **kw):
        self.batch_size = 64
        self.num_classes = NUM_CLASSES
        self.threshold = 0.7
        self.alpha = None
        self.beta = BETA
        self.max_weight = 1.0
        self.min_weight = 0.2
        self.tops = 0.7
        self.margin_1 = 0.07
        self.__dict__.update(kw)


# ---------------------------------------------------------------------------------------
# utils.py, re-typed. generate_adaptive_LD with sharpen=False; `off_value` is the code's
# 0.4 / (num_classes - 1) ("code" rows) or the paper's (1 - threshold) / (num_classes - 1)
# ("paper" rows, the port's default). `mined` records which branch each row took.
# ---------------------------------------------------------------------------------------
def generate_adaptive_LD(outputs, targets, num_classes, threshold, rows):
    device = outputs.device
    LD = torch.zeros(num_classes, num_classes).to(device)
    mined = []

    outputs_l = outputs[1:, :]
    targets_l = targets[1:]

    probs = torch.softmax(outputs_l, dim=1)

    off_value = 0.4 / (num_classes - 1) if rows == "code" else (1 - threshold) / (num_classes - 1)
    for i in range(num_classes):
        idxs = np.where(targets_l.cpu().numpy() == i)[0]
        if torch.mean(probs[idxs], dim=0)[i] >= threshold:
            LD[i] = torch.mean(probs[idxs], dim=0)
            mined.append(True)
        else:
            LD[i] = torch.zeros(num_classes).fill_(off_value).scatter_(0, torch.tensor(i), threshold)
            mined.append(False)

    return LD, mined, probs


def generate_average_weights(weights, targets, num_classes, max_weight, min_weight):
    weights_l = weights[1:]
    targets_l = targets[1:]

    weights_l = ((weights_l - weights_l.min()) / (weights_l.max() - weights_l.min())) * (max_weight - min_weight) + min_weight

    weights_avg = []
    weights_max = []
    weights_min = []

    for i in range(num_classes):
        idxs = np.where(targets_l.cpu().numpy() == i)[0]
        weights_i = weights_l[idxs]
        weights_avg.append(weights_i.mean().item())
        weights_max.append(weights_i.max().item())
        weights_min.append(weights_i.min().item())

    return weights_avg, weights_max, weights_min


# ---------------------------------------------------------------------------------------
# train.py's train(), one batch, re-typed. The model's outputs are leaves here:
# outputs_1 (aux logits), outputs_2 (target logits), and the two attention heads' outputs.
# `detach` adds `targets = targets.detach()` (the port's `detachTargets`; not in train.py).
# ---------------------------------------------------------------------------------------
def official_batch_loss(outputs_1, outputs_2, attention_weights_1, attention_weights_2, labels, LD, epoch, args, detach):
    # model.py, forward()
    attention_weights = (attention_weights_1 + attention_weights_2) / 2

    criterion = nn.CrossEntropyLoss(reduction='none', label_smoothing=0.0)
    criterion_kld = nn.KLDivLoss(reduction='none')

    if args.alpha is not None:
        alpha_1 = args.alpha
        alpha_2 = 1 - args.alpha
    else:
        if epoch <= args.beta:
            alpha_1 = math.exp(-(1 - epoch / args.beta) ** 2)
            alpha_2 = 1
        else:
            alpha_1 = 1
            alpha_2 = math.exp(-(1 - args.beta / epoch) ** 2)

    tops = int(args.batch_size * args.tops)

    # Rank Regularization
    _, top_idx = torch.topk(attention_weights.squeeze(), tops)
    _, down_idx = torch.topk(attention_weights.squeeze(), args.batch_size - tops, largest=False)

    high_group = attention_weights[top_idx]
    low_group = attention_weights[down_idx]
    high_mean = torch.mean(high_group)
    low_mean = torch.mean(low_group)
    diff = low_mean - high_mean + args.margin_1

    if diff > 0:
        RR_loss = diff
    else:
        RR_loss = torch.from_numpy(np.array(0))

    loss_ce = criterion(outputs_1, labels).mean()

    # label fusion
    attention_weights = attention_weights.squeeze(1)
    attention_weights = ((attention_weights - attention_weights.min()) / (attention_weights.max() - attention_weights.min())) * (args.max_weight - args.min_weight) + args.min_weight

    attention_weights = attention_weights.unsqueeze(1)

    targets = (1 - attention_weights) * F.softmax(outputs_1, dim=1) + attention_weights * LD[labels]
    if detach:
        targets = targets.detach()

    loss_kld = criterion_kld(F.log_softmax(outputs_2, dim=1), targets).sum() / args.batch_size

    loss = alpha_2 * loss_ce + alpha_1 * loss_kld + RR_loss

    # train.py's alpha_2 weighs the CE (METHOD.md's a1), alpha_1 the KL (a2)
    return dict(total=loss, ce=loss_ce, kld=loss_kld, rr=RR_loss, a1=alpha_2, a2=alpha_1, w=attention_weights, fused=targets)


# ---------------------------------------------------------------------------------------
# JSON: float32 values written as the shortest decimal that reads back as the same float32;
# NaN as null. Lists of numbers on one line.
# ---------------------------------------------------------------------------------------
def f32(x):
    x = np.float32(x)
    if np.isnan(x):
        return None
    return float(np.format_float_scientific(x, unique=True))


def f32list(t):
    return [f32(v) for v in torch.as_tensor(t).detach().reshape(-1).tolist()]


def grad_or_zeros(leaf):
    """A leaf the loss does not reach (detached target and L_RR = 0: the attention) has no .grad."""
    return leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)


def emit(obj, indent=0):
    pad = "  " * indent
    if isinstance(obj, dict):
        items = [f'{pad}  {json.dumps(k)}: {emit(v, indent + 1).lstrip()}' for k, v in obj.items()]
        return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        return pad + "[\n" + ",\n".join(emit(v, indent + 1) for v in obj) + "\n" + pad + "]"
    return pad + json.dumps(obj, allow_nan=False)


# ---------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------
def mining_cases(gen):
    """Epoch-end outputs of 70 samples; classes 0-3 made confident, so some rows are mined."""
    n = 70
    labels = torch.randint(0, NUM_CLASSES, (n,), generator=gen)
    labels[:NUM_CLASSES] = torch.arange(NUM_CLASSES)  # every class present
    boost = torch.tensor([4.0, 3.5, 3.0, 2.8, 0.5, 0.0, 1.0])  # confidence of each class
    logits = torch.randn(n, NUM_CLASSES, generator=gen) + F.one_hot(labels, NUM_CLASSES) * boost[labels][:, None]
    without_6 = labels != 6  # a set where class 6 has no sample
    sets = {
        "all": (logits, labels),
        "empty6": (logits[without_6], labels[without_6]),
    }
    cases = []
    for name, set_name, threshold, rows in [
        ("t07_paper", "all", 0.7, "paper"),
        ("t07_code", "all", 0.7, "code"),
        ("t05_paper_empty6", "empty6", 0.5, "paper"),
        ("t05_code_empty6", "empty6", 0.5, "code"),
    ]:
        lg, lb = sets[set_name]
        # validate() starts its outputs with a dummy row of ones that generate_adaptive_LD drops
        outputs_new = torch.cat((torch.ones(1, NUM_CLASSES), lg), dim=0)
        targets_new = torch.cat((torch.ones(1).long(), lb), dim=0)
        LD, mined, probs = generate_adaptive_LD(outputs_new, targets_new, NUM_CLASSES, threshold, rows)
        diagonal = [torch.mean(probs[lb == c], dim=0)[c].item() for c in range(NUM_CLASSES)]
        for d in diagonal:  # keep float32 vs float64 means from disagreeing at the threshold
            assert math.isnan(d) or abs(d - threshold) > 1e-3, (name, d)
        assert any(mined) and not all(mined), (name, mined)
        cases.append({
            "name": name,
            "numClasses": NUM_CLASSES,
            "threshold": threshold,
            "thresholdRows": rows,
            "probs": f32list(probs),
            "labels": lb.tolist(),
            "expected": {
                "rows": [f32list(r) for r in LD],
                "mined": mined,
                "counts": [int((lb == c).sum()) for c in range(NUM_CLASSES)],
                "diagonal": [f32(d) for d in diagonal],
            },
        })
    return cases


LOSS_CASES = [
    # name, N, epoch, minWeight, maxWeight, detach, class distributions, attention spread, extra
    ("n8_e1_w02_paper", 8, 1, 0.2, 1.0, False, "t07_paper", 0.1, {}),
    ("n8_e2_w04_code_detach", 8, 2, 0.4, 1.0, True, "t07_code", 0.1, {}),
    ("n8_e5_w02_paper_detach", 8, 5, 0.2, 1.0, True, "t05_paper_empty6", 2.0, {}),
    ("n8_e3_w02_code", 8, 3, 0.2, 1.0, False, "t05_code_empty6", 2.0, {}),
    ("n16_e1_w04_code", 16, 1, 0.4, 1.0, False, "t07_code", 2.0, {}),
    ("n16_e2_w02_paper", 16, 2, 0.2, 1.0, False, "t07_paper", 0.1, {}),
    ("n16_e5_w04_paper", 16, 5, 0.4, 1.0, False, "t05_paper_empty6", 0.1, {}),
    ("n16_e5_w02_code_detach", 16, 5, 0.2, 1.0, True, "t07_code", 0.1, {}),
    ("n16_e2_w04_max09_paper_detach", 16, 2, 0.4, 0.9, True, "t07_paper", 2.0, {}),
    ("n10_e4_w02_paper", 10, 4, 0.2, 1.0, False, "t07_paper", 0.1, {}),
    ("n8_e1_tops05_margin02_code", 8, 1, 0.2, 1.0, False, "t07_code", 0.1, {"tops": 0.5, "margin": 0.2}),
    # SFEW's TenCrop: 4 images x 10 crops = 40 rows; RR groups and KL divisor use batch_size 4
    ("tencrop_b4x10_e2_w02_paper", 40, 2, 0.2, 1.0, False, "t07_paper", 0.1, {"batch_size": 4, "ncrops": 10}),
]


def loss_cases(gen, mining):
    ld_of = {m["name"]: m["expected"]["rows"] for m in mining}
    rows_of = {m["name"]: m["thresholdRows"] for m in mining}
    cases = []
    for name, n, epoch, min_w, max_w, detach, ld_name, spread, extra in LOSS_CASES:
        batch_size = extra.get("batch_size", n)
        ncrops = extra.get("ncrops", 1)
        tops = extra.get("tops", 0.7)
        margin = extra.get("margin", 0.07)
        args = Args(batch_size=batch_size, min_weight=min_w, max_weight=max_w, tops=tops, margin_1=margin)
        aux = (torch.randn(n, NUM_CLASSES, generator=gen) * 2).requires_grad_()
        tar = (torch.randn(n, NUM_CLASSES, generator=gen) * 2).requires_grad_()
        w_aux = torch.sigmoid(torch.randn(n, 1, generator=gen) * spread).requires_grad_()
        w_tar = torch.sigmoid(torch.randn(n, 1, generator=gen) * spread).requires_grad_()
        labels = torch.randint(0, NUM_CLASSES, (n // ncrops,), generator=gen)
        labels = torch.repeat_interleave(labels, repeats=ncrops, dim=0)  # train.py, SFEW
        LD = torch.tensor(ld_of[ld_name], dtype=torch.float32)
        out = official_batch_loss(aux, tar, w_aux, w_tar, labels, LD, epoch, args, detach)
        out["total"].backward()
        options = {
            "epoch": epoch,
            "beta": BETA,
            "minWeight": min_w,
            "maxWeight": max_w,
            "detachTargets": detach,
            "tops": tops,
            "margin": margin,
            "thresholdRows": rows_of[ld_name],
        }
        if batch_size != n:
            options["rrBatchSize"] = batch_size
            options["klDivisor"] = batch_size
        cases.append({
            "name": name,
            "n": n,
            "numClasses": NUM_CLASSES,
            "options": options,
            "inputs": {
                "auxLogits": f32list(aux),
                "tarLogits": f32list(tar),
                "wAux": f32list(w_aux),
                "wTar": f32list(w_tar),
                "labels": labels.tolist(),
                "classDistributions": [f32(v) for r in ld_of[ld_name] for v in r],
            },
            "expected": {
                "rr": f32(float(out["rr"])),
                "ce": f32(out["ce"].item()),
                "kld": f32(out["kld"].item()),
                "total": f32(out["total"].item()),
                "a1": out["a1"],
                "a2": out["a2"],
                "w": f32list(out["w"]),
                "fused": f32list(out["fused"]),
                "grads": {k: f32list(grad_or_zeros(v)) for k, v in
                          [("auxLogits", aux), ("tarLogits", tar), ("wAux", w_aux), ("wTar", w_tar)]},
            },
        })
    rr = [c["expected"]["rr"] for c in cases]
    assert any(v > 0 for v in rr) and any(v == 0 for v in rr), rr  # both branches of `diff > 0`
    return cases


def attention_statistics_cases(gen):
    n = 50
    labels = torch.randint(0, NUM_CLASSES, (n,), generator=gen)
    labels[:NUM_CLASSES] = torch.arange(NUM_CLASSES)  # utils.py fails on an empty class
    weights = torch.sigmoid(torch.randn(n, 1, generator=gen))
    cases = []
    for name, min_w, max_w in [("w02_max1", 0.2, 1.0), ("w04_max09", 0.4, 0.9)]:
        weights_new = torch.cat((torch.ones(1, 1), weights), dim=0)  # validate()'s dummy first row
        targets_new = torch.cat((torch.ones(1).long(), labels), dim=0)
        avg, mx, mn = generate_average_weights(weights_new, targets_new, NUM_CLASSES, max_w, min_w)
        cases.append({
            "name": name,
            "numClasses": NUM_CLASSES,
            "minWeight": min_w,
            "maxWeight": max_w,
            "wAvg": f32list(weights),
            "labels": labels.tolist(),
            "expected": {"mean": [f32(v) for v in avg], "max": [f32(v) for v in mx], "min": [f32(v) for v in mn]},
        })
    return cases


def main():
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    mining = mining_cases(gen)
    doc = {
        "generator": "tools/golden/make_method_fixtures.py",
        "source": "github.com/taylor-xy0827/Ada-DF train.py train(), model.py forward(), utils.py",
        "torch": torch.__version__,
        "seed": SEED,
        "layout": "tensors are flat row-major lists of float32 values; NaN is null; "
                  "a1 weighs L_ce and a2 weighs L_kld (train.py's alpha_2 and alpha_1)",
        "loss": loss_cases(gen, mining),
        "mining": mining,
        "attentionStatistics": attention_statistics_cases(gen),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(emit(doc) + "\n")
    print(f"wrote {os.path.normpath(OUT)}: {len(doc['loss'])} loss, {len(mining)} mining, "
          f"{len(doc['attentionStatistics'])} attention-statistics cases")


if __name__ == "__main__":
    main()

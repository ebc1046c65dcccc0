#!/usr/bin/python3
"""PyTorch side of `deno task bench`: the official Ada-DF model (model.py: a ResNet-18 split into a
stem conv1..layer1 and two deep-copied branches layer2..fc, attention heads, logits = a * fc(f)) and
its per-batch loss (train.py), trained with Adam on a random batch; prints the same JSON shape as
`deno task bench --json`. Written for Debian's python3-torch (1.13, no torchvision needed).

  /usr/bin/python3 tools/bench/pytorch_bench.py [--threads 2] [--image-size 100 --image-size 48]
                                                [--batch-size 64] [--width 64] [--steps 3]
Set --threads: PyTorch defaults to one thread on these machines (libcpuinfo reports one core).
"""
import argparse, copy, json, math, resource, statistics, time
import torch, torch.nn as nn, torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


def layer(cin, cout, stride):
    return nn.Sequential(Block(cin, cout, stride), Block(cout, cout, 1))


class AdaDf(nn.Module):
    def __init__(self, w=64, classes=7):
        super().__init__()
        self.feature = nn.Sequential(nn.Conv2d(3, w, 7, 2, 3, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
                                     nn.MaxPool2d(3, 2, 1), layer(w, w, 1))
        branch = nn.Sequential(layer(w, 2 * w, 2), layer(2 * w, 4 * w, 2), layer(4 * w, 8 * w, 2),
                               nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.branch_1_feature, self.branch_2_feature = branch, copy.deepcopy(branch)
        self.branch_1_classifier = nn.Linear(8 * w, classes)
        self.branch_2_classifier = copy.deepcopy(self.branch_1_classifier)
        self.alpha_1 = nn.Sequential(nn.Linear(8 * w, 1), nn.Sigmoid())
        self.alpha_2 = nn.Sequential(nn.Linear(8 * w, 1), nn.Sigmoid())

    def forward(self, x):
        f0 = self.feature(x)
        f1, f2 = self.branch_1_feature(f0), self.branch_2_feature(f0)
        a1, a2 = self.alpha_1(f1), self.alpha_2(f2)
        return a1 * self.branch_1_classifier(f1), a2 * self.branch_2_classifier(f2), (a1 + a2) / 2


def adadf_loss(out1, out2, att, labels, LD, epoch=2, beta=3, tops=0.7, margin=0.07, wmin=0.2, wmax=1.0):
    b = labels.shape[0]
    m = int(b * tops)
    high = att.squeeze()[torch.topk(att.squeeze(), m)[1]].mean()
    low = att.squeeze()[torch.topk(att.squeeze(), b - m, largest=False)[1]].mean()
    rr = torch.clamp(low - high + margin, min=0)
    ce = F.cross_entropy(out1, labels)
    w = att.squeeze(1)
    w = ((w - w.min()) / (w.max() - w.min())) * (wmax - wmin) + wmin
    target = (1 - w.unsqueeze(1)) * F.softmax(out1, 1) + w.unsqueeze(1) * LD[labels]
    kld = F.kl_div(F.log_softmax(out2, 1), target, reduction="sum") / b
    k1, k2 = (math.exp(-(1 - epoch / beta) ** 2), 1) if epoch <= beta else (1, math.exp(-(1 - beta / epoch) ** 2))
    return k2 * ce + k1 * kld + rr


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--image-size", type=int, action="append")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--steps", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    results = []
    for s in a.image_size or [100, 48]:
        net = AdaDf(a.width)
        for prm in net.feature.parameters():
            prm.requires_grad = True  # trained from random weights, as the toolkit's default
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        x = torch.randn(a.batch_size, 3, s, s)
        y = torch.randint(0, 7, (a.batch_size,))
        LD = torch.full((7, 7), 0.3 / 6).fill_diagonal_(0.7)
        net.train()
        times = []
        for i in range(a.steps + 1):
            t0 = time.perf_counter()
            o1, o2, att = net(x)
            loss = adadf_loss(o1, o2, att, y, LD)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i > 0:
                times.append(time.perf_counter() - t0)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        results.append({"kind": "train", "imageSize": s, "batchSize": a.batch_size,
                        "imagesPerSecond": a.batch_size / statistics.median(times), "peakRssMiB": rss})
        net.eval()
        times = []
        with torch.no_grad():
            for i in range(a.steps + 1):
                t0 = time.perf_counter()
                net(x)
                if i > 0:
                    times.append(time.perf_counter() - t0)
        results.append({"kind": "infer", "imageSize": s, "batchSize": a.batch_size,
                        "imagesPerSecond": a.batch_size / statistics.median(times),
                        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    print(json.dumps({"backend": f"pytorch {torch.__version__} cpu, {a.threads} threads", "results": results}))


if __name__ == "__main__":
    main()

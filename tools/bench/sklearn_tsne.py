#!/usr/bin/env python3
"""scikit-learn's Barnes-Hut t-SNE (the reference for `deno task tsne`'s speed and quality).

Usage: /usr/bin/python3 tools/bench/sklearn_tsne.py FEATURES.npy LABELS.json [--repeats N] [--seed S] [--out FILE.json]

Runs sklearn.manifold.TSNE with its defaults (perplexity 30, init="pca", learning_rate="auto",
1000 iterations, angle 0.5) and prints one JSON line per run: wall seconds of fit_transform,
sklearn's own kl_divergence_, the exact KL(P || Q) (Q over all pairs, P from sklearn's own
_joint_probabilities_nn on the 3 * perplexity + 1 exact nearest neighbours, as tsne.ts does), and
the leave-one-out 10-NN class accuracy in the embedding (ties to the class of the nearest tied
neighbour, as lib/analysis/tsne_quality.ts). Needs Debian's python3-sklearn.
OMP_NUM_THREADS=1 limits its gradient to one thread (the JS engine uses one).
"""
import argparse
import json
import time

import numpy as np
from scipy.spatial.distance import pdist
from sklearn.manifold import TSNE
from sklearn.manifold._t_sne import _joint_probabilities_nn
from sklearn.neighbors import NearestNeighbors


def exact_kl(x, y, perplexity):
    n = x.shape[0]
    k = min(n - 1, int(3.0 * perplexity + 1))
    knn = NearestNeighbors(n_neighbors=k, metric="euclidean").fit(x)
    d = knn.kneighbors_graph(mode="distance")
    d.data **= 2
    p = _joint_probabilities_nn(d, perplexity, 0)  # symmetric CSR, sums to 1
    w = 1.0 / (1.0 + pdist(y, "sqeuclidean"))
    z = 2.0 * w.sum()
    p = p.tocoo()
    dij = ((y[p.row] - y[p.col]) ** 2).sum(1)
    v = p.data
    keep = v > 0
    return float(np.sum(v[keep] * (np.log(v[keep]) + np.log1p(dij[keep]) + np.log(z))))


def knn_accuracy(y, labels, k=10):
    nn = NearestNeighbors(n_neighbors=k + 1).fit(y)
    _, idx = nn.kneighbors(y)
    correct = 0
    for i in range(len(labels)):
        neigh = [j for j in idx[i] if j != i][:k]
        votes, first = {}, {}
        for r, j in enumerate(neigh):
            c = int(labels[j])
            votes[c] = votes.get(c, 0) + 1
            first.setdefault(c, r)
        best = max(votes, key=lambda c: (votes[c], -first[c]))
        correct += best == int(labels[i])
    return correct / len(labels)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("features")
    ap.add_argument("labels")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out")
    a = ap.parse_args()
    x = np.load(a.features).astype(np.float32)
    labels = np.asarray(json.load(open(a.labels)))
    for r in range(a.repeats):
        t0 = time.perf_counter()
        model = TSNE(n_components=2, perplexity=30.0, init="pca", learning_rate="auto", n_iter=1000,
                     method="barnes_hut", angle=0.5, random_state=a.seed + r)
        y = model.fit_transform(x)
        seconds = time.perf_counter() - t0
        row = {"n": x.shape[0], "d": x.shape[1], "seconds": round(seconds, 2),
               "sklearnKl": round(float(model.kl_divergence_), 4),
               "exactKl": round(exact_kl(x, y.astype(np.float64), 30.0), 4),
               "knnAccuracy": round(knn_accuracy(y, labels), 4)}
        print(json.dumps(row), flush=True)
        if a.out:
            json.dump({"embedding": y.tolist(), **row}, open(a.out, "w"))


if __name__ == "__main__":
    main()

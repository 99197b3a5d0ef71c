#!/usr/bin/env python3
"""Dense multi-label Fashion-MNIST (issue 16): 14 overlapping attribute labels per item.

Each of the 10 classes has a fixed set of 3-6 attributes (below); every item then loses each of
its attributes with probability DROP and gains each other attribute with probability ADD
(seeded), so items of one class share many but not all labels and the number of shared labels
(the graded relevance of docs/evaluation.md §6) varies within and across classes. Items carry
about 4 of 14 labels and about three quarters of all pairs share at least one.

Writes OUT/features.npy (70,000 x 784 float32, pixel / 255, the order of the named
fashion-mnist dataset: training rows then test rows) and OUT/labels.npy (70,000 x 14 uint8 0/1
rows), and prints the label statistics. Usage:
    dense_multilabel.py OUT [SEED] [FASHION_MNIST_DIR]
"""
import gzip
import os
import sys

import numpy as np

ATTRS = ["upper-body", "lower-body", "footwear", "accessory", "sleeves", "long-sleeves",
         "winter", "summer", "casual", "formal", "textile", "leather", "fasteners", "sport"]
# class -> attribute ids (T-shirt, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag,
# Ankle boot)
CLASS_ATTRS = {
    0: [0, 4, 7, 8, 10, 13],
    1: [1, 8, 10, 13],
    2: [0, 4, 5, 6, 8, 10],
    3: [0, 1, 7, 9, 10],
    4: [0, 4, 5, 6, 9, 12],
    5: [2, 7, 11],
    6: [0, 4, 5, 9, 10, 12],
    7: [2, 8, 13],
    8: [3, 8, 11, 12],
    9: [2, 6, 9, 11],
}
DROP, ADD = 0.15, 0.03


def read_idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def main():
    out = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    d = sys.argv[3] if len(sys.argv) > 3 else os.environ.get(
        "L2H_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    x = np.concatenate([read_idx(f"{d}/train-images-idx3-ubyte.gz", 16),
                        read_idx(f"{d}/t10k-images-idx3-ubyte.gz", 16)]).reshape(-1, 784)
    y = np.concatenate([read_idx(f"{d}/train-labels-idx1-ubyte.gz", 8),
                        read_idx(f"{d}/t10k-labels-idx1-ubyte.gz", 8)])
    base = np.zeros((10, len(ATTRS)), np.uint8)
    for c, a in CLASS_ATTRS.items():
        base[c, a] = 1
    rng = np.random.default_rng(seed)
    lab = base[y].copy()
    u = rng.random(lab.shape)
    lab = np.where(lab == 1, (u >= DROP).astype(np.uint8), (u < ADD).astype(np.uint8))
    empty = lab.sum(1) == 0  # an item keeps at least one label: its class's first attribute
    lab[empty, np.array([CLASS_ATTRS[c][0] for c in y[empty]])] = 1
    os.makedirs(out, exist_ok=True)
    np.save(f"{out}/features.npy", (x.astype(np.float32) / np.float32(255)))
    np.save(f"{out}/labels.npy", lab.astype(np.uint8))
    s = rng.choice(len(y), 3000, replace=False)
    shared = lab[s].astype(np.int32) @ lab[s].T.astype(np.int32)
    off = ~np.eye(len(s), dtype=bool)
    print(f"labels per item {lab.sum(1).mean():.2f} of {len(ATTRS)}; pairs sharing >= 1: "
          f"{(shared[off] >= 1).mean():.3f}, >= 2: {(shared[off] >= 2).mean():.3f}, >= 3: "
          f"{(shared[off] >= 3).mean():.3f}; mean shared {shared[off].mean():.2f}; distinct "
          f"label sets {len(np.unique(lab, axis=0))}")


if __name__ == "__main__":
    main()

"""Finer, more imbalanced similarity on the CIFAR-10 CNN features, for the HashNet weighting test.

Each CIFAR-10 class is split into K sub-classes by k-means (K centres, 20 Lloyd iterations,
seeded) on the centred, L2-normalised MobileNet features of that class; the new label is
class * K + cluster. Two images are then similar only if they share the class AND the visual
sub-cluster, so |S0|/|S1| grows from about 9 to about 10K - 1. Writes one label byte per row
(a .u8 file, like cifar10_labels.u8).

usage: /usr/bin/python3 bench/hashnet_fine_labels.py DATA_DIR/cifar10 K OUT.u8
"""
import sys

import numpy as np


def main():
    d, k, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    x = np.fromfile(f"{d}/cifar10_mobilenetv1_1024.u8", dtype=np.uint8).reshape(-1, 1024)
    y = np.fromfile(f"{d}/cifar10_labels.u8", dtype=np.uint8).astype(np.int64)
    x = x.astype(np.float32)
    x -= x.mean(axis=0)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    rng = np.random.default_rng(1)
    fine = np.zeros_like(y)
    for c in range(int(y.max()) + 1):
        idx = np.flatnonzero(y == c)
        xc = x[idx]
        cen = xc[rng.choice(len(idx), k, replace=False)]
        for _ in range(20):
            a = np.argmax(xc @ cen.T - 0.5 * (cen * cen).sum(1), axis=1)
            for j in range(k):
                if np.any(a == j):
                    cen[j] = xc[a == j].mean(0)
        fine[idx] = c * k + a
    fine.astype(np.uint8).tofile(out)
    n1 = sum(int(v) * (int(v) - 1) for v in np.bincount(fine))
    n = len(fine)
    sizes = np.bincount(fine)
    print(f"{k * (int(y.max()) + 1)} fine classes, sizes {sizes.min()}..{sizes.max()}, "
          f"|S0|/|S1| over all rows = {(n * (n - 1) - n1) / n1:.2f}")


if __name__ == "__main__":
    main()

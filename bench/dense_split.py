#!/usr/bin/env python3
"""Split the dense multi-label set of dense_multilabel.py for l2h (issue 16), seeded:
1,000 queries, N_TRAIN training rows, database = every non-query row (training rows included).

Writes into OUT: train.npy / train_labels.npy (the training rows, for `l2h train --split none`)
and evalset.npy / evalset_labels.npy = database rows followed by the query rows, so that
`l2h eval --split 2 --test-from N_DB` evaluates exactly this split. Usage:
    dense_split.py DENSE_DIR OUT SEED [N_TRAIN]
"""
import os
import sys

import numpy as np


def main():
    src, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    n_train = int(sys.argv[4]) if len(sys.argv) > 4 else 5000
    x = np.load(f"{src}/features.npy", mmap_mode="r")
    y = np.load(f"{src}/labels.npy")
    perm = np.random.default_rng(1000 + seed).permutation(len(y))
    q, tr = np.sort(perm[:1000]), np.sort(perm[1000:1000 + n_train])
    db = np.sort(perm[1000:])
    os.makedirs(out, exist_ok=True)
    np.save(f"{out}/train.npy", np.ascontiguousarray(x[tr]))
    np.save(f"{out}/train_labels.npy", y[tr])
    np.save(f"{out}/evalset.npy", np.ascontiguousarray(np.concatenate([x[db], x[q]])))
    np.save(f"{out}/evalset_labels.npy", np.concatenate([y[db], y[q]]))
    print(len(db))


if __name__ == "__main__":
    main()

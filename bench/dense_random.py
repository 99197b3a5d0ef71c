#!/usr/bin/env python3
"""Random-ranking baseline and distinct codes for the dense multi-label split (issue 16).

Exact expectations over a uniformly random ranking of the database (no sampling), per query:
  mAP       E[AP]  = (1/N) sum_{k=0}^{N-1} (1 + k (R-1)/(N-1)) / (k+1)   (tie-aware AP, one level)
  NDCG@K    E[DCG@K] = mean gain * sum_{i<=K} 1/log2(i+1), over the IDCG@K of the sorted grades
  wmAP      E[wAP] = (1/P) sum_{x: g_x>0} (1/N)[g_x H_N + (G - g_x)(N - H_N)/(N-1)]
with grades g = shared labels, R = #{g >= M}, P = #{g > 0}, G = sum g, H_N the harmonic number.
Usage:  dense_random.py SPLIT_DIR [K] [M]      -> one JSON line
        dense_random.py --distinct CODES.npy N_DB  -> distinct codes among the first N_DB rows
"""
import json
import sys

import numpy as np


def main():
    if sys.argv[1] == "--distinct":
        c = np.load(sys.argv[2])[: int(sys.argv[3])]
        print(len(np.unique(c, axis=0)))
        return
    d = sys.argv[1]
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    m = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    y = np.load(f"{d}/evalset_labels.npy").astype(np.float32)
    n_db = len(y) - 1000
    yq, yd = y[n_db:], y[:n_db]
    g = yq @ yd.T  # [1000, n_db] shared labels
    N = n_db
    H = np.sum(1.0 / np.arange(1, N + 1))
    kk = np.arange(N)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    aps, ndcg, wap = [], [], []
    for gi in g:
        R = int((gi >= m).sum())
        if R:
            aps.append(np.mean((1 + kk * (R - 1) / (N - 1)) / (kk + 1)))
        pos = gi[gi > 0]
        if len(pos) == 0:
            continue
        gain = np.exp2(gi) - 1
        idcg = np.sum(np.sort(gain)[::-1][:k] * disc)
        ndcg.append(gain.mean() * disc.sum() / idcg)
        G = gi.sum()
        wap.append(np.mean((pos * H + (G - pos) * (N - H) / (N - 1)) / N))
    print(json.dumps({"random_map": round(float(np.mean(aps)), 6),
                      f"random_ndcg_at_{k}": round(float(np.mean(ndcg)), 6),
                      "random_map_weighted": round(float(np.mean(wap)), 6)}))


if __name__ == "__main__":
    main()

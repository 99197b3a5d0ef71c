#!/usr/bin/env python3
"""How saturated MIHash's relaxation is at the end of training (issue 16, docs/mihash.md §8).

Loads an l2h model file (safetensors; fully connected networks: linear, relu, bn, dropout),
encodes N Fashion-MNIST rows (pixel / 255, rows spread over the file) with the model's own
preprocessing, and reports for a·z (a = the stored mihash_scale): its RMS (2 at initialisation
by the automatic scale), and the fraction of outputs with |a·z| > 4, where the relaxation's
derivative a(1 - φ²)/2 is below 7 % of its maximum. Usage:
    mihash_saturation.py MODEL [N] [FASHION_MNIST_DIR]
"""
import gzip
import json
import os
import struct
import sys

import numpy as np


def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__")
    t = {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                          np.float32).reshape(v["shape"]) for k, v in h.items()}
    return meta, t


def main():
    meta, t = load(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    d = sys.argv[3] if len(sys.argv) > 3 else os.environ.get(
        "L2H_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    with gzip.open(f"{d}/train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    x = x[:: len(x) // n][:n].astype(np.float32) / np.float32(255)
    if "preprocess.mean" in t:
        x = x - t["preprocess.mean"]
    if meta.get("l2_normalize") == "1":
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
    arch = meta["arch"]
    layers = meta["nn_arch"].split(",") if "nn_arch" in meta else ["linear"]
    single = sum(1 for k in t if k.endswith(".weight")) == 1
    for i, lay in enumerate(layers):
        pre = f"{arch}." if single else f"{arch}.{i}."
        if lay.startswith("linear"):
            x = x @ t[pre + "weight"].T + t[pre + "bias"]
        elif lay == "relu":
            x = np.maximum(x, 0)
        elif lay == "bn":
            c = len(t[pre + "weight"])
            b = t[pre + "bias"]
            x = t[pre + "weight"] * (x - b[c:2 * c]) / np.sqrt(b[2 * c:] + 1e-5) + b[:c]
        elif lay.startswith("dropout"):
            pass
        else:
            sys.exit(f"layer {lay} not supported")
    az = float(meta["mihash_scale"]) * x
    print(json.dumps({"model": os.path.basename(sys.argv[1]), "scale": float(meta["mihash_scale"]),
                      "rms_az": round(float(np.sqrt((az ** 2).mean())), 3),
                      "frac_abs_az_gt4": round(float((np.abs(az) > 4).mean()), 3),
                      "bit_balance_min_max": [round(float(v), 3) for v in
                                              ((az > 0).mean(0).min(), (az > 0).mean(0).max())]}))


if __name__ == "__main__":
    main()

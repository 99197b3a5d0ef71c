#!/usr/bin/env python3
"""model_diff.py A.st B.st -- the largest absolute difference over the F32 tensors of two model
files (safetensors layout: u64 header length, JSON header, data). Prints it and the largest
|value| of A; exit 1 if the tensor names or shapes differ, 2 on a bad file."""
import json
import struct
import sys

import numpy as np


def tensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        sys.exit(f"{path}: too short")
    (n,) = struct.unpack("<Q", raw[:8])
    head = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, t in head.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(t["shape"])
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
    if sorted(a) != sorted(b) or any(a[k].shape != b[k].shape for k in a):
        print("tensors differ:", sorted(a), sorted(b))
        sys.exit(1)
    if not a:
        print("no F32 tensors")
        sys.exit(1)
    d = max(float(np.max(np.abs(a[k].astype(np.float64) - b[k]))) if a[k].size else 0.0 for k in a)
    m = max(float(np.max(np.abs(a[k]))) if a[k].size else 0.0 for k in a)
    print(f"{d:.9g} {m:.9g}")


main()

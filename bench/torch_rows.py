"""The rows the training-throughput benchmarks train on, for their PyTorch twins (the C side is
bench/bench_util.h): N rows of the CIFAR-10 CNN features, every (rows // N)-th because the file
is sorted by class and its first rows are all one class; centred and L2-normalised (the
features' uint8 quantisation scale cancels in the normalisation)."""
import os

import torch

# $L2H_DATA_DIR, else ../shared/data next to the checkout (as the library finds it)
DATA = os.path.join(os.environ.get("L2H_DATA_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data"), "cifar10", "")


def cifar_rows(n):
    """X [n, 1024] float (centred, unit rows) and Y [n] long class labels."""
    raw = open(DATA + "cifar10_mobilenetv1_1024.u8", "rb").read()
    stride = (len(raw) // 1024) // n
    X = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(-1, 1024)[::stride][:n].float()
    X -= X.mean(0)
    X /= X.norm(dim=1, keepdim=True) + 1e-12
    lab = open(DATA + "cifar10_labels.u8", "rb").read()
    Y = torch.frombuffer(bytearray(lab), dtype=torch.uint8)[::stride][:n].long()
    return X, Y

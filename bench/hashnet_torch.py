#!/usr/bin/python3
"""PyTorch counterpart of bench/bench_hashnet.c: the same linear / MLP hash and HashNet loss
(u = tanh(beta z), theta = alpha <u_i, u_j>, alpha = 10/32, in-batch ordered pairs without the
diagonal, per-batch weights = mean over similar + mean over dissimilar pairs, beta = (1 + 0.005 t)^0.5
stepped every 200 iterations), batch 100, SGD momentum 0.9, wd 5e-4 on weights only, lr 0.1 with
the last layer at 10x, on the N rows of the CIFAR-10 CNN features (every (60000/N)-th: all classes) (centred,
L2-normalised). Prints the mean examples/s over the epochs after the first.

usage: OMP_NUM_THREADS=1 /usr/bin/python3 bench/hashnet_torch.py [N=5000] [EPOCHS=5] [THREADS=1]"""
import sys
import time

import torch
import torch.nn.functional as F

from torch_rows import cifar_rows

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
torch.set_num_threads(threads)
X, Y = cifar_rows(n)
B, BATCH, ALPHA = 32, 100, 10.0 / 32


def hashnet_loss(z, lab, beta):
    u = torch.tanh(beta * z)
    theta = ALPHA * (u @ u.t())
    off = ~torch.eye(len(lab), dtype=torch.bool)
    sim = (lab[:, None] == lab[None, :]) & off
    dis = (lab[:, None] != lab[None, :])
    l = F.softplus(theta) - sim.float() * theta
    n1, n0 = sim.sum(), dis.sum()
    loss = (l * sim).sum() / n1.clamp(min=1) + (l * dis).sum() / n0.clamp(min=1)
    return loss


def groups(net):
    lin = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    out = []
    for k, m in enumerate(lin):
        mult = 10.0 if k == len(lin) - 1 else 1.0
        out.append({"params": [m.weight], "lr": 0.1 * mult, "weight_decay": 5e-4})
        out.append({"params": [m.bias], "lr": 0.1 * mult, "weight_decay": 0.0})
    return out


for name, net in [("linear 1024->32", torch.nn.Linear(1024, 32)),
                  ("mlp 1024->1024->32", torch.nn.Sequential(torch.nn.Linear(1024, 1024),
                                                             torch.nn.ReLU(),
                                                             torch.nn.Linear(1024, 32)))]:
    opt = torch.optim.SGD(groups(net), lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(1)
    rates, it = [], 0
    for e in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=g)
        for b0 in range(0, n, BATCH):
            idx = perm[b0:b0 + BATCH]
            if len(idx) < 2:
                continue
            beta = (1 + 0.005 * (200 * (it // 200))) ** 0.5
            it += 1
            opt.zero_grad()
            loss = hashnet_loss(net(X[idx]), Y[idx], beta)
            loss.backward()
            opt.step()
        if e > 0:
            rates.append(n / (time.perf_counter() - t0))
    print("torch %-20s %10.0f examples/s" % (name, sum(rates) / max(len(rates), 1)))

#!/usr/bin/python3
"""PyTorch counterpart of bench/bench_train.c: the same linear / MLP hash and batch MIHash loss
(scaled sigmoid a = 1, K = 16 triangular bins, every batch item an anchor, mean MI over anchors
with both neighbours and non-neighbours), batch 100, SGD momentum 0.9, wd 5e-4, lr 0.1, on the
N rows of the CIFAR-10 CNN features (every (60000/N)-th: all classes) (centred, L2-normalised).

usage: /usr/bin/python3 bench/train_torch.py [N=5000] [EPOCHS=5] [THREADS=1] [cpu]
(cpu: examples per CPU-second of the process, as bench_sgemm reports l2h's MLP rate; with one
thread that is robust to preemption on a shared machine)"""
import sys, time
import torch

from torch_rows import cifar_rows

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
clock = time.process_time if len(sys.argv) > 4 and sys.argv[4] == "cpu" else time.perf_counter
torch.set_num_threads(threads)
X, Y = cifar_rows(n)
B, K, BATCH = 32, 16, 100


def mihash_loss(z, lab):
    phi = 2 * torch.sigmoid(z) - 1
    dist = (B - phi @ phi.t()) / 2
    sim = (lab[:, None] == lab[None, :]).float()
    eye = torch.eye(len(lab))
    pos, neg = sim - eye, 1 - sim
    delta = B / K
    centres = torch.arange(K + 1, dtype=torch.float32) * delta
    w = torch.clamp(1 - (dist[:, :, None] - centres).abs() / delta, min=0)  # [n, n, K+1]
    npos, nneg = pos.sum(1), neg.sum(1)
    ok = (npos > 0) & (nneg > 0)
    pp = (w * pos[:, :, None]).sum(1) / npos.clamp(min=1)[:, None]
    pn = (w * neg[:, :, None]).sum(1) / nneg.clamp(min=1)[:, None]
    prp = npos / (npos + nneg)
    pd = prp[:, None] * pp + (1 - prp)[:, None] * pn
    ent = lambda p: -(p * torch.log2(p.clamp(min=1e-30))).sum(1)
    mi = ent(pd) - prp * ent(pp) - (1 - prp) * ent(pn)
    return -(mi * ok).sum() / ok.sum().clamp(min=1)


for name, net in [("linear 1024->32", torch.nn.Linear(1024, 32)),
                  ("mlp 1024->1024->32", torch.nn.Sequential(torch.nn.Linear(1024, 1024),
                                                             torch.nn.ReLU(),
                                                             torch.nn.Linear(1024, 32)))]:
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    g = torch.Generator().manual_seed(1)
    rates = []
    for e in range(epochs):
        t0 = clock()
        perm = torch.randperm(n, generator=g)
        for b0 in range(0, n, BATCH):
            idx = perm[b0:b0 + BATCH]
            if len(idx) < 2:
                continue
            opt.zero_grad()
            loss = mihash_loss(net(X[idx]), Y[idx])
            loss.backward()
            opt.step()
        if e > 0:
            rates.append(n / (clock() - t0))
    print("torch %-20s %10.0f examples/s" % (name, sum(rates) / max(len(rates), 1)))

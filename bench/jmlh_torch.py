#!/usr/bin/python3
"""PyTorch counterpart of bench/bench_jmlh.c: the same linear / MLP hash with a JMLH head -- q =
sigmoid(z), stochastic binary neuron b = 1[q > eps], eps ~ U(0,1), backward dL/dq = dL/db (the
TBH / cisip-FIRe estimator), a linear classifier on b with softmax cross-entropy, plus
0.1 * mean_batch sum_bits KL(q || 1/2) -- batch 100, Adam lr 1e-3, no weight decay, on the first
N rows of the CIFAR-10 CNN features (centred, L2-normalised).

usage: /usr/bin/python3 bench/jmlh_torch.py [N=5000] [EPOCHS=5] [THREADS=1] [RUNS=3]
Per run: mean examples/s over the epochs after the first; printed: median over runs, min, max."""
import sys, time
import torch
import torch.nn.functional as F

from torch_rows import cifar_rows

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
torch.set_num_threads(threads)
X, Y = cifar_rows(n)
B, C, BATCH, GAMMA = 32, 10, 100, 0.1


class SBN(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, eps):
        return (q > eps).float()

    @staticmethod
    def backward(ctx, g):
        return g, None


def jmlh_loss(z, cls, lab):
    q = torch.sigmoid(z)
    b = SBN.apply(q, torch.rand_like(q))
    ce = F.cross_entropy(cls(b), lab)
    # KL(q || 1/2) from the logits: log 2 - H(q), log q = -softplus(-z), log(1-q) = -softplus(z)
    kl = (0.6931471805599453 - q * F.softplus(-z) - (1 - q) * F.softplus(z)).sum(1).mean()
    return ce + GAMMA * kl


def make(name):
    if name.startswith("linear"):
        return torch.nn.Linear(1024, B)
    return torch.nn.Sequential(torch.nn.Linear(1024, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, B))


for name in ["linear 1024->32", "mlp 1024->1024->32"]:
    res = []
    for r in range(runs):
        torch.manual_seed(1 + r)
        net, cls = make(name), torch.nn.Linear(B, C)
        opt = torch.optim.Adam(list(net.parameters()) + list(cls.parameters()), lr=1e-3)
        g = torch.Generator().manual_seed(1 + r)
        rates = []
        for e in range(epochs):
            t0 = time.perf_counter()
            perm = torch.randperm(n, generator=g)
            for b0 in range(0, n, BATCH):
                idx = perm[b0:b0 + BATCH]
                if len(idx) < 2:
                    continue
                opt.zero_grad()
                loss = jmlh_loss(net(X[idx]), cls, Y[idx])
                loss.backward()
                opt.step()
            if e > 0:
                rates.append(n / (time.perf_counter() - t0))
        res.append(sum(rates) / max(len(rates), 1))
    res.sort()
    print("torch %-20s %10.0f examples/s (median; min %.0f, max %.0f)" % (name, res[len(res) // 2], res[0], res[-1]))

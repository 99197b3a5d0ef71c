#!/usr/bin/python3
"""PyTorch counterpart of bench/bench_ttm.c: MIHash time to a given validation mAP, linear
1024->32 and MLP 1024->1024->32, on the CIFAR-10 CNN features.

Rows: ROWS_FILE as written by bench_ttm (line 1: the trained-on rows = the validation database,
line 2: the validation rows, original row numbers), so both sides train on and validate with
exactly the same rows in the same order. Features = byte x 0.023528 (as l2h loads them),
centred by the mean of the trained-on rows, then L2-normalised (as l2h_train).

Setup as bench_ttm / l2h_train: the MIHash batch loss of bench/train_torch.py (sigmoid scale
a = 1, K = 16 bins, every batch item an anchor), batch 100, SGD momentum 0.9, weight decay 5e-4
on weights only (l2h does not decay biases), constant lr 0.1, He-normal weights N(0, 2/fan_in)
and zero biases, one thread.

Validation mAP after every epoch, as l2h_eval_codes (docs/evaluation.md): codes = (output > 0),
Hamming ranking of the database for each validation query, ties in database order (stable
sort), AP = (1/R) sum over relevant positions i of hits(i)/i over the whole ranking, relevant =
same label, queries without a relevant item excluded (none here). Timing: each epoch's
training loop only (shuffle, forward, loss, backward, step); validation is not counted.

usage: /usr/bin/python3 bench/ttm_torch.py --map-of-codes CODES.npy ROWS_FILE  (cross-check)
       /usr/bin/python3 bench/ttm_torch.py ROWS_FILE [EPOCHS=20] [LINEAR_THRESHOLDS=0.40,0.50]
                                           [MLP_THRESHOLDS=0.50,0.60]
Output lines as bench_ttm's: epoch / ttm / rate. Env TTM_SEED (1): torch's initialisation and
shuffling seed, to see how much the epochs to a threshold depend on those draws."""
import os, sys, time
import torch

mode_codes = sys.argv[1] == "--map-of-codes"  # --map-of-codes CODES.npy ROWS_FILE
codes_file = sys.argv[2] if mode_codes else None
if mode_codes:
    sys.argv = sys.argv[:1] + sys.argv[3:]
rows_file = sys.argv[1]
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
thr = {"linear": [float(t) for t in (sys.argv[3] if len(sys.argv) > 3 else "0.40,0.50").split(",")],
       "mlp": [float(t) for t in (sys.argv[4] if len(sys.argv) > 4 else "0.50,0.60").split(",")]}
torch.set_num_threads(1)
d = os.path.join(os.environ.get("L2H_DATA_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data"), "cifar10", "")
lines = open(rows_file).read().split("\n")
rtr = torch.tensor([int(v) for v in lines[0].split()])
rva = torch.tensor([int(v) for v in lines[1].split()])
raw = torch.frombuffer(bytearray(open(d + "cifar10_mobilenetv1_1024.u8", "rb").read()),
                       dtype=torch.uint8).reshape(-1, 1024)
lab = torch.frombuffer(bytearray(open(d + "cifar10_labels.u8", "rb").read()), dtype=torch.uint8).long()
Xtr = raw[rtr].float() * 0.023528
Xva = raw[rva].float() * 0.023528
mean = Xtr.double().mean(0).float()
Xtr -= mean
Xva -= mean
Xtr /= Xtr.norm(dim=1, keepdim=True).clamp(min=1e-30)
Xva /= Xva.norm(dim=1, keepdim=True).clamp(min=1e-30)
Ytr, Yva = lab[rtr], lab[rva]
n = len(rtr)
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


def map_pm1(q, db, yq, ydb):
    """mAP of +-1 query codes q against +-1 database codes db, l2h's definition."""
    dist = ((q.shape[1] - q @ db.t()) / 2).round().long()  # exact small integers
    order = torch.sort(dist, dim=1, stable=True).indices  # ties in database order
    rel = (yq[:, None] == ydb[order]).double()
    hits = rel.cumsum(1)
    rank = torch.arange(1, db.shape[0] + 1, dtype=torch.float64)
    R = rel.sum(1)
    keep = R > 0
    return ((rel * hits / rank).sum(1)[keep] / R[keep]).mean().item()


def val_map(net):
    with torch.no_grad():
        q = (net(Xva) > 0).float() * 2 - 1
        db = (net(Xtr) > 0).float() * 2 - 1
    return map_pm1(q, db, Yva, Ytr)


if mode_codes:  # cross-check of map_pm1 against l2h: mAP of `l2h encode` codes of every row
    hdr = open(codes_file, "rb").read()
    hl = int.from_bytes(hdr[8:10], "little")
    cb = torch.frombuffer(bytearray(hdr[10 + hl:]), dtype=torch.uint8).reshape(lab.shape[0], -1)
    pm = ((cb[:, :, None] >> torch.arange(8)) & 1).reshape(cb.shape[0], -1).float() * 2 - 1
    print("map %.6f" % map_pm1(pm[rva], pm[rtr], Yva, Ytr))
    sys.exit(0)


def he_init(net):
    for m in net.modules():
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")  # N(0, 2 / fan_in)
            torch.nn.init.zeros_(m.bias)


print("# torch %s cifar10-cnn: %d trained on, %d validation; batch 100, SGD lr 0.1 const, "
      "%d epochs, 1 thread" % (torch.__version__, n, len(rva), epochs))
seed = int(os.environ.get("TTM_SEED", "1"))  # initialisation and shuffling draws
torch.manual_seed(seed)
for name, net in [("linear", torch.nn.Linear(1024, 32)),
                  ("mlp", torch.nn.Sequential(torch.nn.Linear(1024, 1024), torch.nn.ReLU(),
                                              torch.nn.Linear(1024, 32)))]:
    he_init(net)
    weights = [p for pn, p in net.named_parameters() if pn.endswith("weight")]
    biases = [p for pn, p in net.named_parameters() if pn.endswith("bias")]
    opt = torch.optim.SGD([{"params": weights, "weight_decay": 5e-4},
                           {"params": biases, "weight_decay": 0.0}], lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(seed)
    train_s, wall_s, maps = [], [], []
    t_start = time.perf_counter()
    for e in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=g)
        for b0 in range(0, n, BATCH):
            idx = perm[b0:b0 + BATCH]
            if len(idx) < 2:
                continue
            opt.zero_grad()
            loss = mihash_loss(net(Xtr[idx]), Ytr[idx])
            loss.backward()
            opt.step()
        train_s.append(time.perf_counter() - t0)
        maps.append(val_map(net))
        wall_s.append(time.perf_counter() - t_start)
    cum = 0.0
    for e in range(epochs):
        cum += train_s[e]
        print("epoch %s %d train_s %.4f cum_train_s %.4f wall_s %.4f val_map %.4f"
              % (name, e + 1, train_s[e], cum, wall_s[e], maps[e]))
    for t in thr[name]:
        hit = [e for e in range(epochs) if maps[e] >= t]
        if hit:
            e = hit[0]
            print("ttm %s %.2f cum_train_s %.4f wall_s %.4f epoch %d"
                  % (name, t, sum(train_s[:e + 1]), wall_s[e], e + 1))
        else:
            print("ttm %s %.2f cum_train_s - wall_s - epoch -" % (name, t))
    print("rate %s examples_per_s %.0f" % (name, n * epochs / sum(train_s)))

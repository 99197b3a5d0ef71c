"""The online-hashing protocol of docs/results.md ("Online hashing") run THROUGH l2hd: CIFAR-10
CNN features (1024-d, byte x 0.023528 as the named dataset, then centred by the pool mean and
L2-normalised), 1,000 random queries, the other 59,000 rows are the retrieval set (inserted with
learn=0) and the stream pool; n_init = 2,000 random pool rows then 20,000 stream items (a random
permutation of the pool) inserted with index=0, learn=1; online MIHash, 32 bits, R = 1,000,
U = 100, fixed policy. A second thread searches the whole time. At the end the service's codes of
the retrieval set and of the queries (GET codes, POST encode) give the mAP (ties in database
order, as l2h's "mAP"). Usage: online_protocol.py L2HD DATA_DIR [SEED] [METHOD]"""
import json
import os
import random
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from l2hd_util import Daemon, npy  # noqa: E402

binary, data = sys.argv[1], sys.argv[2]
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 12345
method = sys.argv[4] if len(sys.argv) > 4 else "mihash"
X = np.fromfile(os.path.join(data, "cifar10", "cifar10_mobilenetv1_1024.u8"), dtype=np.uint8)
X = X.reshape(-1, 1024).astype(np.float32) * np.float32(0.023528)
y = np.fromfile(os.path.join(data, "cifar10", "cifar10_labels.u8"), dtype=np.uint8).astype(np.int32)
rs = np.random.RandomState(seed)
perm = rs.permutation(len(X))
qi, pi = perm[:1000], np.sort(perm[1000:])
mean = X[pi].mean(0, dtype=np.float64)
Xp = X - mean.astype(np.float32)
Xp /= np.maximum(np.linalg.norm(Xp, axis=1, keepdims=True), 1e-30)
Xp = Xp.astype(np.float32)
pool, ypool, Q, yq = Xp[pi], y[pi], Xp[qi], y[qi]


def body(x, ids=None, labels=None):
    b = npy("<f4", "(%d, %d)" % x.shape, np.ascontiguousarray(x, dtype="<f4").tobytes())
    if ids is not None:
        b += npy("<i8", "(%d,)" % len(ids), np.asarray(ids, dtype="<i8").tobytes())
    if labels is not None:
        b += npy("<i4", "(%d,)" % len(labels), np.asarray(labels, dtype="<i4").tobytes())
    return b


tmp = tempfile.mkdtemp(prefix="l2hd_proto_")
d = Daemon(binary, tmp + "/data", ["--snapshot-s", "0", "--fsync", "interval"])
d.start()
st, r = d.post("/v1/collections", {"name": "c", "dim": 1024, "bits": 32, "method": method,
                                   "policy": "fixed", "interval": 100, "reservoir": 1000,
                                   "n_init": 2000, "max_lag": 10 ** 9, "seed": seed, "labelled": True})
assert st == 201, r
t0 = time.time()
for s in range(0, len(pool), 5000):
    st, r = d.post("/v1/collections/c/items?learn=0&ids=1&labels=1",
                   body(pool[s:s + 5000], np.arange(s, min(s + 5000, len(pool))), ypool[s:s + 5000]),
                   ctype="application/octet-stream")
    assert st == 200, r
init = rs.choice(len(pool), 2000, replace=False)
stream = rs.permutation(len(pool))[:20000]
order = np.concatenate([init, stream])
searches = {"ok": 0, "failed": 0, "versions": set()}
stop = threading.Event()


def searcher():
    r_ = random.Random(1)
    while not stop.is_set():
        i = r_.randrange(len(Q))
        try:
            st_, rr = d.post("/v1/collections/c/search?k=10", body(Q[i:i + 1]), ctype="application/octet-stream")
        except OSError:
            searches["failed"] += 1
            continue
        if st_ == 200:
            searches["ok"] += 1
            searches["versions"].add(rr["version"])
        elif st_ != 409:  # 409 = no mapping before the first n_init items
            searches["failed"] += 1
        time.sleep(0.005)


th = threading.Thread(target=searcher)
th.start()
for s in range(0, len(order), 500):
    rows = order[s:s + 500]
    st, r = d.post("/v1/collections/c/items?index=0&labels=1", body(pool[rows], None, ypool[rows]),
                   ctype="application/octet-stream")
    assert st == 200, r
t_ingest = time.time() - t0
while True:
    st, r = d.get("/v1/collections/c")
    L = r["learner"]
    if L["lag"] == 0 and L["learned"] == 22000 and L["phase"] == "learning" and not r["rehash"]["active"]:
        break
    time.sleep(0.5)
t_learn = time.time() - t0
stop.set()
th.join()
st, blob = d.request("GET", "/v1/collections/c/codes")
hl = int.from_bytes(blob[8:10], "little")
n = int(blob[10:10 + hl].decode().split("(")[1].split(",")[0])
ids = np.frombuffer(blob, dtype="<i8", count=n, offset=10 + hl)
off = 10 + hl + 8 * n
hl2 = int.from_bytes(blob[off + 8:off + 10], "little")
codes = np.frombuffer(blob, dtype=np.uint8, count=n * 4, offset=off + 10 + hl2).reshape(n, 4)
order_ids = np.argsort(ids, kind="stable")
codes = codes[order_ids]
st, r = d.post("/v1/collections/c/encode", body(Q), ctype="application/octet-stream")
qc = np.array([bytes.fromhex(h) for h in r["codes"]], dtype=object)
qc = np.frombuffer(b"".join(qc), dtype=np.uint8).reshape(-1, 4)
db64 = codes.view("<u4").ravel().astype(np.uint64)
q64 = qc.view("<u4").ravel().astype(np.uint64)
pc = np.array([bin(i).count("1") for i in range(256)], dtype=np.int32)
aps = []
for i in range(len(Q)):
    x = np.bitwise_xor(db64, q64[i])
    dist = sum(pc[((x >> np.uint64(8 * b)) & np.uint64(255)).astype(np.int64)] for b in range(4))
    rk = np.argsort(dist, kind="stable")
    rel = (ypool[rk] == yq[i]).astype(np.float64)
    if rel.sum() == 0:
        continue
    hits = np.cumsum(rel)
    aps.append(float((hits / np.arange(1, len(rel) + 1) * rel).sum() / rel.sum()))
out = {"method": method, "seed": seed, "updates": L["updates"], "checks": L["checks"],
       "learned": L["learned"], "rehash_jobs": r["version"] if False else None,
       "version": None, "map": float(np.mean(aps)), "searches_ok": searches["ok"],
       "searches_failed": searches["failed"], "versions_seen": len(searches["versions"]),
       "ingest_seconds": round(t_ingest, 1), "until_learned_seconds": round(t_learn, 1)}
st, r = d.get("/v1/collections/c")
out["rehash_jobs"] = r["rehash"]["jobs"]
out["version"] = r["version"]
out["bits_recomputed"] = r["rehash"]["bits_recomputed"]
d.stop()
print(json.dumps(out))

"""l2hd under concurrent use, on 127.0.0.1, bounded in time (ctest server_concurrent; under the
tsan preset the same script drives a ThreadSanitizer build, where any race report aborts the
daemon with exit code 66 and fails the test).
  1. Batched search: 8 client threads search at once; every answer must equal the answer the
     same query got alone (batching must not mix rows up), and batching must have happened.
  2. Stress: inserts (wait=1), deletes, searches, manual re-hashes, snapshots and an online
     learner with its own re-hashes, all at once for SECONDS; no 5xx answer, no failed request,
     and afterwards every acknowledged and not deleted item is there, with its id.
Usage: test_concurrent.py L2HD [SECONDS]"""
import json
import os
import random
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from l2hd_util import Check, Daemon, npy  # noqa: E402

binary = sys.argv[1]
secs = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
tmp = tempfile.mkdtemp(prefix="l2hd_conc_")
ck = Check()
rng = random.Random(11)
DIM, BITS, N = 16, 64, 30000


def f32(rows):
    return npy("<f4", "(%d, %d)" % (len(rows), len(rows[0])), b"".join(struct.pack("<%df" % len(r), *r) for r in rows))


d = Daemon(binary, tmp + "/data", ["--snapshot-s", "0", "--search-batches", "1", "--max-body-mb", "64"])
d.start(timeout=120)
st, r = d.post("/v1/collections", {"name": "c", "dim": DIM, "bits": BITS, "model": "lsh", "seed": 5, "index": "flat"})
ck(st == 201, "create: %s %s" % (st, r))
X = [[rng.gauss(0, 1) for _ in range(DIM)] for _ in range(N)]
st, r = d.post("/v1/collections/c/items", f32(X), ctype="application/octet-stream")
ck(st == 200 and r.get("inserted") == N, "bulk insert: %s %s" % (st, r))

# ---- 1. batched search equals search alone ----------------------------------------------------
Q = ["%016x" % rng.getrandbits(64) for _ in range(48)]
alone = {}
for q in Q:
    st, r = d.post("/v1/collections/c/search?k=10", {"codes": [q]})
    ck(st == 200, "search alone: %s" % st)
    alone[q] = r["results"][0]
st, r0 = d.get("/v1/collections/c")
errors, mismatches = [], []


def searcher(t):
    for rep in range(4):
        for i in range(len(Q)):
            q = Q[(i + 7 * t + rep) % len(Q)]
            try:
                st, r = d.post("/v1/collections/c/search?k=10", {"codes": [q]})
            except OSError as e:
                errors.append(str(e))
                continue
            if st != 200:
                errors.append(st)
            elif r["results"][0] != alone[q]:
                mismatches.append(q)


ths = [threading.Thread(target=searcher, args=(t,)) for t in range(8)]
for t in ths:
    t.start()
for t in ths:
    t.join()
st, r1 = d.get("/v1/collections/c")
calls = r1["search_batching"]["calls"] - r0["search_batching"]["calls"]
queries = r1["search_batching"]["queries"] - r0["search_batching"]["queries"]
ck(not errors, "concurrent searches failed: %s" % errors[:5])
ck(not mismatches, "%d concurrent answers differ from the same query alone" % len(mismatches))
ck(queries == 8 * 4 * len(Q), "every concurrent search went through the batching queue (%d)" % queries)
ck(calls < queries, "concurrent searches were answered together (%d calls for %d queries)" % (calls, queries))
print(json.dumps({"batching": {"calls": calls, "queries": queries}}), flush=True)

# ---- 2. everything at once ------------------------------------------------------------------
st, r = d.post("/v1/collections", {"name": "o", "dim": DIM, "bits": 16, "method": "osh", "policy": "fixed",
                                   "interval": 100, "reservoir": 200, "seed": 2})
ck(st == 201, "create online: %s %s" % (st, r))
stop = threading.Event()
bad = []
acked, deleted = {}, set()
lk = threading.Lock()
next_id = [10 ** 6]


def guard(fn):
    def run():
        while not stop.is_set():
            try:
                fn()
            except Exception as e:  # noqa: BLE001  (any failure is a finding)
                bad.append(repr(e))
                return
    return run


def inserter():
    with lk:
        base = next_id[0]
        next_id[0] += 50
    rows = [[rng.gauss(0, 1) for _ in range(DIM)] for _ in range(50)]
    body = {"features": rows, "ids": list(range(base, base + 50)), "labels": [i % 4 for i in range(50)]}
    for coll in ("c", "o"):
        st, r = d.post("/v1/collections/%s/items?wait=1" % coll, body)
        if st != 200:
            bad.append(("insert", coll, st, r))
    with lk:
        for i in range(50):
            acked[base + i] = rows[i]


def deleter():
    with lk:
        cand = [i for i in acked if i not in deleted]
    if len(cand) < 10:
        time.sleep(0.01)
        return
    ids = rng.sample(cand, 5)
    st, r = d.post("/v1/collections/c/delete?wait=1", {"ids": ids})
    if st != 200:
        bad.append(("delete", st, r))
    with lk:
        deleted.update(ids)


def searcher2():
    q = "%016x" % rng.getrandbits(64)
    for coll, code in (("c", q), ("o", q[:4])):
        st, r = d.post("/v1/collections/%s/search?k=5" % coll, {"codes": [code]})
        if st not in (200, 409):
            bad.append(("search", coll, st, r))
    st, r = d.post("/v1/collections/o/search?k=3", {"features": [[rng.gauss(0, 1) for _ in range(DIM)]]})
    if st not in (200, 409):
        bad.append(("search features", st, r))


def rehasher():
    st, r = d.post("/v1/collections/c/rehash")
    if st != 202:
        bad.append(("rehash", st, r))
    time.sleep(0.2)


def snapshotter():
    st, r = d.post("/v1/snapshot")
    if st != 200:
        bad.append(("snapshot", st, r))
    time.sleep(0.3)


def reader():
    for path in ("/v1/collections/c", "/v1/collections/o?history=1", "/metrics", "/v1/status"):
        st, _ = d.get(path) if path != "/metrics" else d.request("GET", path)
        if st != 200:
            bad.append(("get", path, st))
    time.sleep(0.05)


workers = [inserter, inserter, deleter, searcher2, searcher2, searcher2, rehasher, snapshotter, reader]
ths = [threading.Thread(target=guard(w)) for w in workers]
for t in ths:
    t.start()
time.sleep(secs)
stop.set()
for t in ths:
    t.join()
ck(not bad, "failures under concurrent load: %s" % bad[:5])
ck(len(acked) > 0, "inserts acknowledged during the stress (%d)" % len(acked))
missing = []
for i, row in list(acked.items()):
    st, r = d.get("/v1/collections/c/items/%d" % i)
    if i in deleted:
        if st != 404:
            missing.append(("deleted but present", i))
    elif st != 200 or abs(r["features"][0] - row[0]) > 1e-5:
        missing.append(("acknowledged but absent", i, st))
ck(not missing, "items after the stress: %s" % missing[:5])
st, r = d.get("/v1/collections/c")
ck(r["size"] == N + len(acked) - len(deleted), "size %s == %d" % (r["size"], N + len(acked) - len(deleted)))
print(json.dumps({"stress_seconds": secs, "acknowledged": len(acked), "deleted": len(deleted),
                  "rehash_jobs": r["rehash"]["jobs"]}), flush=True)
rc = d.stop()
ck(rc == 0, "l2hd exit code %s (66 = a ThreadSanitizer report)" % rc)
ck.finish()

"""kill -9 crash test of l2hd: writers insert and delete with wait=1 (durable acknowledgement),
a fixed-mapping collection is re-hashed continuously, an online collection learns and re-hashes,
snapshots are taken every second and on request; the daemon is killed with SIGKILL at a random
moment, restarted, and checked:
  - every acknowledged insert is present (and was not deleted by an acknowledged delete), and
    searchable: its features find it at Hamming distance 0 with the right id;
  - every acknowledged delete is absent;
  - a batch that was in flight at the kill is present entirely or not at all (never half);
  - the learner resumes (it learns a new batch after the restart);
and at the end that a snapshot compacts the fixed collection (its deleted rows are gone after a
restart, its items all there).
Usage: test_crash.py L2HD DIR [TRIALS] [SEED]; prints a tally (JSON) at the end."""
import json
import random
import statistics
import struct
import sys
import tempfile
import threading
import time

from l2hd_util import Check, Daemon, npy_f32, npy_i32, npy_i64

binary = sys.argv[1]
trials = int(sys.argv[3]) if len(sys.argv) > 3 else 6
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
rng = random.Random(seed)
tmp = tempfile.mkdtemp(prefix="l2hd_crash_")
data_dir = tmp + "/data"
ck = Check()
DIM = 32


def feats(rid):
    r = random.Random(rid)
    return [r.gauss(0, 1) for _ in range(DIM)]


def parse_ids(blob):
    """ids.npy followed by codes.npy from GET .../codes -> list of ids"""
    hl = struct.unpack("<H", blob[8:10])[0]
    hdr = blob[10:10 + hl].decode()
    n = int(hdr.split("'shape': (")[1].split(",")[0])
    off = 10 + hl
    return list(struct.unpack("<%dq" % n, blob[off:off + 8 * n]))


state = {"fix": {}, "onl": {}}          # id -> "acked" | "deleted"
inflight = []                           # (coll, kind, ids) of requests without an answer
next_id = [0]
lock = threading.Lock()


def new_ids(n):
    with lock:
        a = next_id[0]
        next_id[0] += n
    return list(range(a, a + n))


def writer(d, coll, stop, labelled):
    r = random.Random(rng.random())
    while not stop.is_set():
        n = r.choice([1, 7, 50, 200])
        ids = new_ids(n)
        body = npy_f32([feats(i) for i in ids]) + npy_i64(ids)
        q = "ids=1"
        if labelled:
            body += npy_i32([i % 5 for i in ids])
            q += "&labels=1"
        rec = (coll, "insert", ids)
        with lock:
            inflight.append(rec)
        try:
            st, _ = d.post("/v1/collections/%s/items?wait=1&%s" % (coll, q), body,
                           ctype="application/octet-stream", timeout=30)
        except OSError:
            return
        with lock:
            inflight.remove(rec)
            if st == 200:
                for i in ids:
                    state[coll][i] = "acked"


def deleter(d, stop):
    r = random.Random(rng.random())
    while not stop.is_set():
        time.sleep(0.05)
        with lock:
            cand = [i for i, s in state["fix"].items() if s == "acked"]
        if len(cand) < 20:
            continue
        ids = r.sample(cand, 5)
        rec = ("fix", "delete", ids)
        with lock:
            inflight.append(rec)
        try:
            st, _ = d.post("/v1/collections/fix/delete?wait=1", {"ids": ids}, timeout=30)
        except OSError:
            return
        with lock:
            inflight.remove(rec)
            if st == 200:
                for i in ids:
                    state["fix"][i] = "deleted"


def churner(d, stop):
    r = random.Random(rng.random())
    while not stop.is_set():
        try:
            d.post("/v1/collections/fix/rehash", timeout=30)
            if r.random() < 0.3:
                d.post("/v1/snapshot", timeout=30)
            d.post("/v1/collections/fix/search?k=5", {"features": [feats(1)]}, timeout=30)
        except OSError:
            return
        time.sleep(0.01)


tally = {"trials": 0, "acknowledged_inserts": 0, "acknowledged_deletes": 0, "lost": 0,
         "resurrected": 0, "half_applied": 0, "unsearchable": 0, "recoveries": 0,
         "torn_tails_cut": 0, "ready_seconds": [], "learner_resumed": 0}
d = Daemon(binary, data_dir, ["--snapshot-s", "1", "--fsync", "always"])
d.start()
d.post("/v1/collections", {"name": "fix", "dim": DIM, "bits": 32, "model": "lsh", "index": "mih"})
d.post("/v1/collections", {"name": "onl", "dim": DIM, "bits": 16, "method": "osh", "policy": "fixed",
                           "interval": 50, "reservoir": 100})
for t in range(trials):
    stop = threading.Event()
    ths = [threading.Thread(target=writer, args=(d, "fix", stop, False)),
           threading.Thread(target=writer, args=(d, "fix", stop, False)),
           threading.Thread(target=writer, args=(d, "onl", stop, True)),
           threading.Thread(target=deleter, args=(d, stop)),
           threading.Thread(target=churner, args=(d, stop))]
    for th in ths:
        th.start()
    time.sleep(rng.uniform(0.3, 2.0))
    d.kill9()
    stop.set()
    for th in ths:
        th.join()
    tally["trials"] += 1
    ready = d.start(timeout=120)
    tally["recoveries"] += 1
    tally["ready_seconds"].append(ready)
    st, rz = d.get("/readyz")
    if rz.get("torn_bytes", 0) > 0:
        tally["torn_tails_cut"] += 1
    present = {}
    for coll in ("fix", "onl"):
        st, blob = d.request("GET", "/v1/collections/%s/codes" % coll)
        ck(st == 200, "codes export %s" % coll)
        present[coll] = set(parse_ids(blob)) if st == 200 else set()
    # resolve in-flight batches: all or nothing, then they count as applied or not
    for coll, kind, ids in inflight:
        got = [i in present[coll] for i in ids]
        if kind == "insert":
            if any(got) and not all(got):
                tally["half_applied"] += 1
            for i in ids:
                if all(got):
                    state[coll][i] = "acked"
        else:
            if any(got) and not all(got):
                tally["half_applied"] += 1
            if not any(got):
                for i in ids:
                    state[coll][i] = "deleted"
    inflight.clear()
    for coll in ("fix", "onl"):
        for i, s in state[coll].items():
            if s == "acked" and i not in present[coll]:
                tally["lost"] += 1
            if s == "deleted" and i in present[coll]:
                tally["resurrected"] += 1
    # searchable with the right id (a sample)
    acked = [i for i, s in state["fix"].items() if s == "acked"]
    for i in rng.sample(acked, min(10, len(acked))):
        st, r = d.post("/v1/collections/fix/search?k=50", {"features": [feats(i)]})
        res = r["results"][0] if st == 200 else {"ids": [], "distances": []}
        if not (i in res["ids"] and res["distances"][res["ids"].index(i)] == 0):
            tally["unsearchable"] += 1
    # the learner resumes: a new batch gets learned
    st, r0 = d.get("/v1/collections/onl")
    ids = new_ids(60)
    st, _ = d.post("/v1/collections/onl/items?ids=1&labels=1", npy_f32([feats(i) for i in ids]) +
                   npy_i64(ids) + npy_i32([i % 5 for i in ids]), ctype="application/octet-stream")
    for i in ids:
        state["onl"][i] = "acked"
    t0 = time.time()
    while time.time() - t0 < 60:
        st, r1 = d.get("/v1/collections/onl")
        if r1["learner"]["lag"] == 0 and r1["learner"]["learned"] >= r0["learner"]["learned"] + 60:
            tally["learner_resumed"] += 1
            break
        time.sleep(0.05)
    print("trial %d: fix %d onl %d items, ready in %.3f s, %s" % (
        t, len(present["fix"]), len(present["onl"]), ready, rz.get("note", "")), flush=True)
# compaction: a snapshot keeps the fixed collection's alive rows only, so after a restart its
# store holds exactly its items (deleted and superseded rows were dropped), all still present
gone = rng.sample([i for i, s in state["fix"].items() if s == "acked"], 10)
st, _ = d.post("/v1/collections/fix/delete?wait=1", {"ids": gone})
ck(st == 200, "delete before the compaction check")
for i in gone:
    state["fix"][i] = "deleted"
st, before = d.get("/v1/collections/fix")
st_snap, _ = d.post("/v1/snapshot", timeout=60)
d.stop()
d.start(timeout=120)
st, after = d.get("/v1/collections/fix")
st, blob = d.request("GET", "/v1/collections/fix/codes")
alive_fix = set(parse_ids(blob)) if st == 200 else set()
d.stop()
tally["compaction_rows"] = [before["rows"], after["rows"]]
ck(st_snap == 200, "snapshot before the compaction check")
ck(before["rows"] > before["size"], "there were dead rows to reclaim (%d rows, %d items)" % (before["rows"], before["size"]))
ck(after["rows"] == after["size"] == before["size"], "after snapshot + restart the store holds its %d items "
   "only (%d rows)" % (before["size"], after["rows"]))
ck(all(i in alive_fix for i, s in state["fix"].items() if s == "acked") and
   not any(i in alive_fix for i, s in state["fix"].items() if s == "deleted"),
   "compaction kept every acknowledged item and no deleted one")
tally["acknowledged_inserts"] = sum(1 for c in state for s in state[c].values() if s == "acked")
tally["acknowledged_deletes"] = sum(1 for c in state for s in state[c].values() if s == "deleted")
rs = tally.pop("ready_seconds")
tally["ready_seconds_median"] = round(statistics.median(rs), 3)
tally["ready_seconds_max"] = round(max(rs), 3)
print(json.dumps(tally))
ck(tally["lost"] == 0, "no acknowledged item lost")
ck(tally["resurrected"] == 0, "no acknowledged delete undone")
ck(tally["half_applied"] == 0, "no half-applied batch")
ck(tally["unsearchable"] == 0, "every sampled item searchable")
ck(tally["learner_resumed"] == trials, "the learner resumed after every crash")
ck(tally["acknowledged_inserts"] > 0, "something was acknowledged")
ck.finish()

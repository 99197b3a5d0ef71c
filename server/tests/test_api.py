"""l2hd end to end over HTTP on 127.0.0.1: collections, items (JSON and .npy), search (k-NN,
radius, by codes, batches), errors (400/401/404/405/409/413), metrics, an online collection that
learns and re-hashes while it serves, drop, restart from the log. Usage: test_api.py L2HD DIR"""
import json
import random
import sys
import tempfile
import time

from l2hd_util import Check, Daemon, npy, npy_f32, npy_i32, npy_i64

binary = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="l2hd_api_")
ck = Check()
rng = random.Random(7)

# usage and exit codes
import subprocess
ck(subprocess.run([binary, "--help"], capture_output=True).returncode == 0, "--help exits 0")
ck(subprocess.run([binary, "--bogus", "1"], capture_output=True).returncode == 2, "bad option exits 2")
ck(subprocess.run([binary], capture_output=True).returncode == 2, "missing --data exits 2")

tokf = tmp + "/token"
open(tokf, "w").write("s3cret\n")
d = Daemon(binary, tmp + "/data", ["--token-file", tokf, "--max-body-mb", "1", "--snapshot-s", "0"])
d.start()
AUTH = {"Authorization": "Bearer s3cret"}

st, r = d.get("/livez")
ck(st == 200 and r["live"], "livez")
st, r = d.get("/readyz")
ck(st == 200 and r["ready"], "readyz")
st, page = d.request("GET", "/")
ck(st == 200 and b"l2hd" in page and b"<script>" in page, "status page served")

# collections
cfg = {"name": "lsh", "dim": 8, "bits": 32, "model": "lsh", "seed": 3, "index": "mih"}
st, r = d.post("/v1/collections", cfg)
ck(st == 401, "write without token is 401")
st, r = d.post("/v1/collections", cfg, headers=AUTH)
ck(st == 201 and r["name"] == "lsh" and r["version"] == 1 and r["size"] == 0, "create: %s %s" % (st, r))
st, r = d.post("/v1/collections", cfg, headers=AUTH)
ck(st == 409, "create twice is 409")
for bad in [{"name": "x"}, {"name": "bad name", "dim": 4, "model": "lsh"},
            {"name": "y", "dim": 4, "method": "nope"}, {"name": "z", "dim": 4},
            {"name": "w", "dim": 4, "model": "/no/such/model.st"}]:
    st, r = d.post("/v1/collections", bad, headers=AUTH)
    ck(st == 400 and "error" in r, "bad config %s -> 400 (%s)" % (bad, st))
st, r = d.request("POST", "/v1/collections", "{not json", headers=AUTH)
ck(st == 400, "malformed JSON is 400")
st, r = d.get("/v1/collections")
ck(st == 200 and r["collections"] == ["lsh"], "list")
st, r = d.get("/v1/collections/nope")
ck(st == 404, "unknown collection is 404")

# items: JSON with ids, then npy with server ids
X = [[rng.gauss(0, 1) for _ in range(8)] for _ in range(300)]
st, r = d.post("/v1/collections/lsh/items", {"features": X[:100], "ids": list(range(1000, 1100)),
                                             "labels": [i % 3 for i in range(100)]}, headers=AUTH)
ck(st == 200 and r["inserted"] == 100 and r["durable"], "insert JSON: %s %s" % (st, r))
st, r = d.post("/v1/collections/lsh/items?ids=0", npy_f32(X[100:300]), ctype="application/octet-stream",
               headers=AUTH)
ck(st == 200 and r["inserted"] == 200 and r["first_id"] == 1100, "insert npy: %s %s" % (st, r))
st, r = d.get("/v1/collections/lsh")
ck(r["size"] == 300 and r["index"]["size"] == 300, "size 300: %s" % r.get("size"))
st, r = d.get("/v1/collections/lsh/items/1005")
ck(st == 200 and r["label"] == 2 and abs(r["features"][0] - X[5][0]) < 1e-6, "get item")
st, r = d.get("/v1/collections/lsh/items/5")
ck(st == 404, "absent item is 404")

# bad inserts
cases = [({"features": [[1, 2, 3]]}, 400, "wrong dim"),
         ('{"features": [[1,2,3,4,5,6,7,NaN]]}', 400, "NaN"),
         ({"features": [[1e39] * 8]}, 400, "overflow to inf"),
         ({"features": [[0] * 8] * 2, "ids": [1, 1]}, 400, "repeated ids"),
         ({"features": [[0] * 8], "ids": [-1]}, 400, "negative id"),
         ({"features": []}, 400, "empty batch"),
         ({"feat": 1}, 400, "no features")]
for body, code, what in cases:
    st, r = d.post("/v1/collections/lsh/items", body, headers=AUTH)
    ck(st == code and "error" in r, "%s -> %d (got %s %s)" % (what, code, st, r))
st, r = d.post("/v1/collections/lsh/items", npy_f32(X[:2])[:-5], ctype="application/octet-stream", headers=AUTH)
ck(st == 400, "truncated npy is 400")
st, r = d.post("/v1/collections/lsh/items", npy("<f4", "(2, 8)", b"\x00\x00\xc0\x7f" * 16),
               ctype="application/octet-stream", headers=AUTH)
ck(st == 400 and "finite" in r["error"], "NaN npy is 400")
big = npy_f32([[0.0] * 8] * 40000)  # 1.28 MB > 1 MB limit
st, r = d.post("/v1/collections/lsh/items", big, ctype="application/octet-stream", headers=AUTH)
ck(st == 413, "body over the limit is 413 (%s)" % st)
st, r = d.request("GET", "/v1/collections/lsh/search")
ck(st == 405, "GET search is 405")

# search: an item finds itself at distance 0; batches; radius; codes; k > size
st, r = d.post("/v1/collections/lsh/search?k=5", {"features": X[:3]})
ck(st == 200 and r["version"] == 1 and len(r["results"]) == 3, "batch search %s %s" % (st, r))
ok = all(1000 + i in res["ids"] and res["distances"][0] == 0 for i, res in enumerate(r["results"]))
ck(ok, "each item found at distance 0")
st, r = d.post("/v1/collections/lsh/search", {"features": X[7], "radius": 0})
ck(st == 200 and 1007 in r["results"][0]["ids"] and set(r["results"][0]["distances"]) == {0}, "radius 0")
st, r = d.post("/v1/collections/lsh/encode", {"features": X[:2]})
ck(st == 200 and len(r["codes"]) == 2 and len(r["codes"][0]) == 8, "encode")
code0 = r["codes"][0]
st, r = d.post("/v1/collections/lsh/search?k=1", {"codes": [code0]})
ck(st == 200 and r["results"][0]["distances"] == [0], "search by hex code")
st, r = d.post("/v1/collections/lsh/search?k=1&codes=1", npy("|u1", "(1, 4)", bytes.fromhex(code0)),
               ctype="application/octet-stream")
ck(st == 200 and r["results"][0]["distances"] == [0], "search by npy codes")
st, r = d.post("/v1/collections/lsh/search?k=1000", {"features": X[:1]})
ck(st == 200 and len(r["results"][0]["ids"]) == 300, "k > size returns every item")
st, r = d.post("/v1/collections/lsh/search?k=0", {"features": X[:1]})
ck(st == 400, "k=0 is 400")
st, r = d.post("/v1/collections/lsh/search", {"codes": ["zz"]})
ck(st == 400, "bad hex is 400")

# upsert replaces, delete removes
st, r = d.post("/v1/collections/lsh/items", {"features": [X[200]], "ids": [1000]}, headers=AUTH)
st, r = d.get("/v1/collections/lsh/items/1000")
ck(abs(r["features"][0] - X[200][0]) < 1e-6, "upsert replaced the features")
st, r = d.get("/v1/collections/lsh")
ck(r["size"] == 300 and r["index"]["size"] == 300, "upsert keeps the size")
st, r = d.post("/v1/collections/lsh/delete", {"ids": [1001, 1002, 5]}, headers=AUTH)
ck(st == 200 and r["deleted"] == 2, "delete")
st, r = d.post("/v1/collections/lsh/search?k=300", {"features": X[1]})
ck(1001 not in r["results"][0]["ids"] and len(r["results"][0]["ids"]) == 298, "deleted not found")

# manual re-hash (same mapping): swaps in a rebuilt index, version stays
st, r = d.post("/v1/collections/lsh/rehash", headers=AUTH)
ck(st == 202, "rehash accepted")
for _ in range(200):
    st, r = d.get("/v1/collections/lsh")
    if r["rehash"]["jobs"] >= 1 and not r["rehash"]["active"]:
        break
    time.sleep(0.02)
ck(r["rehash"]["jobs"] >= 1 and r["index"]["size"] == 298, "rehash done: %s" % r["rehash"])

# online collection: OSH with labels learns, updates and re-hashes while searches run
ocfg = {"name": "osh", "dim": 8, "bits": 16, "method": "osh", "policy": "fixed", "interval": 50,
        "reservoir": 100, "seed": 5}
st, r = d.post("/v1/collections", ocfg, headers=AUTH)
ck(st == 201 and r["learner"]["method"] == "osh", "online create: %s %s" % (st, r))
centres = [[rng.gauss(0, 3) for _ in range(8)] for _ in range(4)]
versions = set()
for b in range(8):
    lab = [rng.randrange(4) for _ in range(100)]
    xs = [[centres[l][j] + rng.gauss(0, 1) for j in range(8)] for l in lab]
    st, r = d.post("/v1/collections/osh/items?ids=1&labels=1", npy_f32(xs) + npy_i64(range(b * 100, b * 100 + 100)) + npy_i32(lab),
                   ctype="application/octet-stream", headers=AUTH)
    ck(st == 200, "online insert %d: %s %s" % (b, st, r))
    st, r = d.post("/v1/collections/osh/search?k=3", {"features": xs[:2]})
    ck(st == 200, "search while learning")
    versions.add(r["version"])
st, r = d.post("/v1/collections/osh/items", {"features": [[0] * 8]}, headers=AUTH)
ck(st == 400 and "labels" in r["error"], "labelled online collection needs labels")
stable = 0
for _ in range(1500):  # until the learner is idle on two polls in a row
    st, r = d.get("/v1/collections/osh?history=1")
    idle = (r["learner"]["lag"] == 0 and r["learner"]["learned"] == 800 and
            r["learner"]["phase"] == "learning" and not r["rehash"]["active"])
    stable = stable + 1 if idle else 0
    if stable == 2:
        break
    time.sleep(0.05)
L = r["learner"]
ck(L["learned"] == 800 and L["updates"] >= 10 and L["checks"] == 16, "learner counters: %s" % L)
ck(r["version"] == L["updates"] + 1, "version = updates + 1: %s %s" % (r["version"], L["updates"]))
ck(r["rehash"]["jobs"] >= 1 and r["size"] == 800 and r["index"]["size"] == 800, "re-hashed: %s" % r["rehash"])
ck(any(h["rehash"] for h in r["history"]) and any(h["q_current"] is not None for h in r["history"]), "history")
ck(L["q_current"] is not None and 0 <= L["q_current"] <= 2, "Q_R reported")
# search results under the final pair: an item finds itself
st, r2 = d.post("/v1/collections/osh/search?k=800", {"features": [xs[0]]})
ck(99 + 700 - 99 in r2["results"][0]["ids"] and r2["version"] == r["version"], "online item found")

# metrics
st, m = d.request("GET", "/metrics")
m = m.decode()
ck(st == 200 and 'l2hd_collection_items{collection="lsh"} 298' in m and
   "l2hd_search_seconds_bucket" in m and 'le="+Inf"' in m and "# TYPE l2hd_wal_fsyncs_total counter" in m,
   "metrics text")

# restart: everything comes back from the log
ck(d.stop() == 0, "SIGTERM exits 0")
t = d.start()
st, r = d.get("/v1/collections/lsh")
ck(st == 200 and r["size"] == 298, "lsh after restart: %s" % r.get("size"))
st, r = d.get("/v1/collections/lsh/items/1000")
ck(st == 200 and abs(r["features"][0] - X[200][0]) < 1e-6, "upsert survived restart")
st, r = d.get("/v1/collections/osh")
ck(r["learner"]["learned"] == 800 and r["learner"]["updates"] == L["updates"] and r["version"] == L["updates"] + 1,
   "learner replayed to the same state: %s" % r["learner"])
# snapshot, more writes, restart again
st, r = d.post("/v1/snapshot", headers=AUTH)
ck(st == 200, "snapshot")
st, r = d.post("/v1/collections/lsh/items", {"features": X[:1], "ids": [77]}, headers=AUTH)
ck(d.stop() == 0, "stop")
d.start()
st, r = d.get("/v1/collections/lsh")
ck(r["size"] == 299, "snapshot + log after restart: %s" % r.get("size"))
st, r = d.get("/v1/collections/osh")
ck(r["learner"]["updates"] == L["updates"], "learner from snapshot: %s" % r["learner"])
st, r = d.request("DELETE", "/v1/collections/osh", headers=AUTH)
ck(st == 200, "drop")
st, r = d.get("/v1/collections")
ck(r["collections"] == ["lsh"], "dropped: %s" % r)
ck(d.stop() == 0, "stop")
d.start()
st, r = d.get("/v1/collections")
ck(r["collections"] == ["lsh"], "drop survived restart")

# a torn tail (a partial record) and a corrupt last record are cut and reported
import glob, os
st, r = d.post("/v1/collections/lsh/items", {"features": X[:1], "ids": [424242]}, headers=AUTH)
ck(st == 200, "insert before corruption")
d.stop()
seg = sorted(glob.glob(tmp + "/data/wal-*.log"))[-1]
blob = open(seg, "rb").read()
open(seg, "wb").write(blob[:-1] + bytes([blob[-1] ^ 0x55]))  # flip a bit of the last record
d.start()
st, rz = d.get("/readyz")
ck(rz["torn_bytes"] > 0 and "cut" in rz["note"], "corrupt record reported: %s" % rz)
st, r = d.get("/v1/collections/lsh/items/424242")
ck(st == 404, "the corrupt record is not applied")
st, r = d.get("/v1/collections/lsh")
ck(r["size"] == 299, "everything before it is: %s" % r.get("size"))
d.stop()
seg = sorted(glob.glob(tmp + "/data/wal-*.log"))[-1]
open(seg, "ab").write(b"\x10\x00\x00")  # a torn header
d.start()
st, rz = d.get("/readyz")
ck(rz["torn_bytes"] == 3, "torn tail reported: %s" % rz)
st, r = d.get("/v1/collections/lsh")
ck(r["size"] == 299, "torn tail: data intact")
d.stop()
ck.finish()

"""Loopback load on l2hd, bounded in count and time (docs/results.md, "Service"):
  1. single searches (k = 10, 64-bit codes, 1M items, MIH index) with wrk and keep-alive, idle
     and while background re-hashes of all 1M items run back to back;
  2. the in-process library rate on the same queries (bench_l2hd_search), for the ratio: one
     query per call (as a lone request) and 8 per call (as l2hd's batching of concurrent
     requests can do at best with wrk's 8 connections);
  3. durable batch inserts (wait=1, batches of 1,000) of 128-d and 1,024-d float features.
Usage: load.py L2HD BENCH_SEARCH [SECONDS] [N_ITEMS] [PARTS=search,lib,insert]; prints JSON
lines. Extra l2hd options may be given in the environment variable L2HD_ARGS."""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from l2hd_util import Daemon, npy  # noqa: E402

binary, bench = sys.argv[1], sys.argv[2]
secs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
N = int(sys.argv[4]) if len(sys.argv) > 4 else 1000000
parts = sys.argv[5].split(",") if len(sys.argv) > 5 else ["search", "lib", "insert"]
tmp = tempfile.mkdtemp(prefix="l2hd_load_")
rs = np.random.RandomState(0)
X = rs.standard_normal((N, 32)).astype("<f4")
Qc = rs.randint(0, 256, size=(1000, 8)).astype(np.uint8)
np.save(tmp + "/x.npy", X)
np.save(tmp + "/q.npy", Qc)
uptime = lambda: open("/proc/loadavg").read().split()[:3]

# extra daemon options (e.g. "--search-batch 1" to compare without batching) from L2HD_ARGS
d = Daemon(binary, tmp + "/data", ["--snapshot-s", "0", "--max-body-mb", "256"] + os.environ.get("L2HD_ARGS", "").split())
d.start()
if "search" in parts:
    st, r = d.post("/v1/collections", {"name": "b64", "dim": 32, "bits": 64, "model": "lsh", "seed": 1, "index": "mih"})
    assert st == 201, r
    t0 = time.time()
    for s in range(0, N, 100000):
        b = npy("<f4", "(%d, 32)" % len(X[s:s + 100000]), X[s:s + 100000].tobytes())
        st, r = d.post("/v1/collections/b64/items", b, ctype="application/octet-stream")
        assert st == 200, r
    print(json.dumps({"what": "bulk insert 32-d", "items": N, "seconds": round(time.time() - t0, 2), "load": uptime()}), flush=True)

    lua = tmp + "/search.lua"
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal q = {\n')
        f.write(",\n".join('"%s"' % bytes(c).hex() for c in Qc))
        f.write('}\nlocal i = 0\nrequest = function()\n  i = i % #q + 1\n'
                '  return wrk.format(nil, "/v1/collections/b64/search?k=10", nil, \'{"codes":["\' .. q[i] .. \'"]}\')\nend\n')


    def cpu_of(pid):
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def wrk(label):
        c0 = cpu_of(d.proc.pid)
        out = subprocess.run(["wrk", "-t2", "-c8", "-d%ds" % secs, "--latency", "-s", lua,
                              "http://127.0.0.1:%d" % d.port], capture_output=True, text=True).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        lat = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", out))
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errs = re.search(r"Socket errors: (.*)", out)
        total = re.search(r"(\d+) requests in", out).group(1)
        cpu = cpu_of(d.proc.pid) - c0
        st, info = d.get("/v1/collections/b64")
        sb = info.get("search_batching", {}) if st == 200 else {}
        res = {"what": label, "requests": int(total), "l2hd_cpu_seconds": round(cpu, 2),
               "l2hd_cpu_us_per_request": round(cpu / int(total) * 1e6, 1), "rps": rps, "p50": lat.get("50"), "p99": lat.get("99"),
               "batching_calls_queries_so_far": [sb.get("calls"), sb.get("queries")],
               "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errs.group(1) if errs else "none",
               "load": uptime()}
        print(json.dumps(res), flush=True)
        return res


    wrk("search idle (wrk -t2 -c8, k=10, 64-bit, %d items)" % N)
    st, r0 = d.get("/v1/collections/b64")
    stop = threading.Event()


    def rehasher():
        while not stop.is_set():
            d.post("/v1/collections/b64/rehash")
            time.sleep(0.05)


    th = threading.Thread(target=rehasher)
    th.start()
    time.sleep(0.5)
    res = wrk("search during back-to-back re-hashes of all %d items" % N)
    stop.set()
    th.join()
    st, r1 = d.get("/v1/collections/b64")
    print(json.dumps({"what": "re-hash jobs completed during that window", "jobs": r1["rehash"]["jobs"] - r0["rehash"]["jobs"],
                      "active_at_end": r1["rehash"]["active"]}), flush=True)
if "lib" in parts:
    for batch in (1, 8):
        lib = subprocess.run([bench, tmp + "/x.npy", tmp + "/q.npy", "64", "1", str(secs), str(batch)],
                             capture_output=True, text=True).stdout
        print(json.dumps({"what": "library in-process, 1 thread, %d quer%s per call" % (batch, "y" if batch == 1 else "ies"),
                          "result": json.loads(lib), "load": uptime()}), flush=True)

for dim in ((128, 1024) if "insert" in parts else ()):
    st, r = d.post("/v1/collections", {"name": "i%d" % dim, "dim": dim, "bits": 64, "model": "lsh", "index": "flat"})
    body = npy("<f4", "(1000, %d)" % dim, rs.standard_normal((1000, dim)).astype("<f4").tobytes())
    count = [0]
    lk = threading.Lock()
    stop = threading.Event()
    fails = [0]

    def ins():
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=60)
        while not stop.is_set():
            c.request("POST", "/v1/collections/i%d/items?wait=1" % dim, body=body,
                      headers={"Content-Type": "application/octet-stream"})
            rr = c.getresponse()
            rr.read()
            with lk:
                if rr.status == 200:
                    count[0] += 1000
                else:
                    fails[0] += 1

    ths = [threading.Thread(target=ins) for _ in range(4)]
    t0 = time.time()
    for t in ths:
        t.start()
    time.sleep(secs)
    stop.set()
    for t in ths:
        t.join()
    el = time.time() - t0
    print(json.dumps({"what": "durable insert, %d-d, batches of 1000, 4 connections, wait=1" % dim,
                      "items": count[0], "seconds": round(el, 2), "items_per_s": round(count[0] / el),
                      "failed": fails[0], "load": uptime()}), flush=True)
st, m = d.request("GET", "/metrics")
fs = re.search(rb"l2hd_wal_fsyncs_total (\d+)", m)
print(json.dumps({"what": "fsyncs in the whole run", "fsyncs": int(fs.group(1))}), flush=True)
d.stop()

"""The status page in a real browser: Debian's chromium (headless) loads / from a running l2hd
and the test checks what the page shows (collection cards with the size, model version, Q_R and
latency the service reports; the Q_R chart drawn). Exits 77 (skip) if chromium is absent.
Usage: test_page.py L2HD [SCREENSHOT.png]"""
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

from l2hd_util import Check, Daemon, npy_f32, npy_i32, npy_i64

binary = sys.argv[1]
shot = sys.argv[2] if len(sys.argv) > 2 else None
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if not chromium:
    print("SKIP: chromium not installed (apt-get install chromium)")
    sys.exit(77)
tmp = tempfile.mkdtemp(prefix="l2hd_page_")
ck = Check()
rng = random.Random(3)
d = Daemon(binary, tmp + "/data", ["--snapshot-s", "0"])
d.start()
d.post("/v1/collections", {"name": "demo-online", "dim": 16, "bits": 16, "method": "osh",
                           "policy": "trigger", "interval": 50, "reservoir": 200})
d.post("/v1/collections", {"name": "demo-fixed", "dim": 16, "bits": 32, "model": "lsh"})
X = [[rng.gauss(0, 1) for _ in range(16)] for _ in range(500)]
d.post("/v1/collections/demo-fixed/items", npy_f32(X), ctype="application/octet-stream")
centres = [[rng.gauss(0, 3) for _ in range(16)] for _ in range(5)]
for b in range(10):
    lab = [rng.randrange(5) for _ in range(100)]
    xs = [[centres[l][j] + rng.gauss(0, 1) for j in range(16)] for l in lab]
    d.post("/v1/collections/demo-online/items?labels=1", npy_f32(xs) + npy_i32(lab),
           ctype="application/octet-stream")
for i in range(50):
    d.post("/v1/collections/demo-fixed/search?k=10", {"features": [X[i]]})
    d.post("/v1/collections/demo-online/search?k=10", {"features": [X[i]]})
for _ in range(300):
    st, r = d.get("/v1/collections/demo-online")
    if r["learner"]["lag"] == 0 and r["learner"]["learned"] == 1000 and r["learner"]["phase"] == "learning":
        break
    time.sleep(0.05)
st, fixed = d.get("/v1/collections/demo-fixed")
st, onl = d.get("/v1/collections/demo-online")

url = "http://127.0.0.1:%d/" % d.port
flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--user-data-dir=" + tmp + "/profile", "--virtual-time-budget=6000"]
r = subprocess.run([chromium] + flags + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
dom = r.stdout
ck(r.returncode == 0 and "<html" in dom, "chromium loaded the page (rc %d)" % r.returncode)


def card(name):
    m = re.search(r'<div class="coll" data-name="%s">(.*?)</canvas></div></div></div>' % re.escape(name), dom, re.S)
    return m.group(1) if m else ""


def field(html, cls):
    m = re.search(r'<td class="%s">([^<]*)</td>' % cls, html)
    return m.group(1) if m else None


cf, co = card("demo-fixed"), card("demo-online")
ck(cf and co, "both collection cards shown")
ck(field(cf, "size") == "500", "fixed size shown: %s" % field(cf, "size"))
ck(field(cf, "version") == "1", "fixed version shown: %s" % field(cf, "version"))
ck(field(co, "size") == str(onl["size"]), "online size shown: %s vs %s" % (field(co, "size"), onl["size"]))
ck(field(co, "version") == str(onl["version"]), "online version shown: %s vs %s" % (field(co, "version"), onl["version"]))
ck(field(co, "mapping") == "online osh (trigger)", "mapping shown: %s" % field(co, "mapping"))
qr = field(co, "qr") or ""
ck(re.match(r"^\d\.\d{4} / \d\.\d{4}$", qr) is not None, "Q_R shown: %s" % qr)
lat = field(cf, "latency") or ""
ck(re.match(r"^\d+\.\d{3} / \d+\.\d{3}$", lat) is not None, "latency shown: %s" % lat)
ck(field(cf, "searches") == "50", "search count shown: %s" % field(cf, "searches"))
ck('<div id="err"></div>' in dom and "ready ·" in dom, "page connected, no error shown")
if shot:
    r = subprocess.run([chromium] + flags + ["--window-size=1100,1250", "--screenshot=" + os.path.abspath(shot), url],
                       capture_output=True, text=True, timeout=120)
    ck(r.returncode == 0 and os.path.exists(shot), "screenshot written")
d.stop()
ck.finish()

#!/usr/bin/python3
"""Index-file corruption tally (issue 14): a corruption of every single byte and every truncation of
saved index files must be refused by the loader.

usage: bench/index_corruption_tally.py BUILD_DIR [WORKDIR]

Index files are made with the CLI (`l2h index build/remove/add`): flat and MIH, with explicit
ids, one after a remove and an add. Every corrupted or truncated copy is written to a file and
loaded through l2h_index_load (the file entry point users take, via ctypes on libl2h.so); a
load that returns L2H_OK is an undetected corruption. Every byte is replaced by b^0x01, b^0x80
and b^0xff (ALL_VALUES=1: all 255 other values; slow on a loaded machine). On top, through the
CLI (`l2h index info FILE`, which must exit 1): every byte as b^0xff and every truncation, for
the first and the last file. Prints one line per file and a total; exits 1 if anything was accepted."""
import ctypes
import os
import subprocess
import sys
import tempfile

import numpy as np


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    build = sys.argv[1]
    l2h = os.path.join(build, "l2h")
    lib = ctypes.CDLL(os.path.join(build, "src", "libl2h.so"))
    lib.l2h_index_load.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p]
    lib.l2h_index_load.restype = ctypes.c_int
    lib.l2h_index_free.argtypes = [ctypes.c_void_p]
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="l2h_tally_")
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(14)

    def run(*args):
        r = subprocess.run([l2h, *args], capture_output=True)
        if r.returncode != 0:
            raise SystemExit("failed: %s\n%s" % (" ".join(args), r.stderr.decode()))

    codes = rng.integers(0, 256, size=(40, 8), dtype=np.uint8)  # 64-bit codes
    more = rng.integers(0, 256, size=(5, 8), dtype=np.uint8)
    np.save(os.path.join(work, "codes.npy"), codes)
    np.save(os.path.join(work, "more.npy"), more)
    ids = ",".join(str(1000 + 7 * i) for i in range(40))
    p = lambda n: os.path.join(work, n)
    run("index", "build", "--codes", p("codes.npy"), "--kind", "flat", "-o", p("flat.l2hi"))
    run("index", "build", "--codes", p("codes.npy"), "--kind", "mih", "--ids", ids,
        "-o", p("mih.l2hi"))
    run("index", "remove", p("mih.l2hi"), "--ids", "1007,1014,1021", "-o", p("mih_rm.l2hi"))
    run("index", "add", p("mih_rm.l2hi"), "--codes", p("more.npy"), "-o", p("mih_rm_add.l2hi"))

    def loads(path):
        h = ctypes.c_void_p()
        st = lib.l2h_index_load(ctypes.byref(h), path.encode())
        if st == 0:
            lib.l2h_index_free(h)
        return st == 0

    if os.environ.get("ALL_VALUES") == "1":
        values = lambda b: [v for v in range(256) if v != b]
    else:
        values = lambda b: [b ^ 0x01, b ^ 0x80, b ^ 0xFF]
    total_bad = total = 0
    names = ("flat.l2hi", "mih.l2hi", "mih_rm.l2hi", "mih_rm_add.l2hi")
    only = os.environ.get("TALLY_FILES")
    cli_on = os.environ.get("TALLY_CLI", "1") != "0"
    for name in names:
        if only and name not in only.split(","):
            continue
        data = open(p(name), "rb").read()
        assert loads(p(name)), name + ": the intact file does not load"
        t = p("t.l2hi")
        bad = n = 0
        for pos in range(len(data)):
            buf = bytearray(data)
            for v in values(data[pos]):
                buf[pos] = v
                with open(t, "wb") as f:
                    f.write(buf)
                n += 1
                bad += loads(t)
        nb_bytes, nb_bad = n, bad
        for cut in range(len(data)):
            with open(t, "wb") as f:
                f.write(data[:cut])
            n += 1
            bad += loads(t)
        cli = cli_bad = 0
        do_cli = cli_on and name in (names[0], names[-1])
        for pos in range(len(data) if do_cli else 0):
            buf = bytearray(data)
            buf[pos] ^= 0xFF
            with open(t, "wb") as f:
                f.write(buf)
            cli += 1
            cli_bad += subprocess.run([l2h, "index", "info", t], capture_output=True).returncode != 1
        for cut in range(len(data) if do_cli else 0):
            with open(t, "wb") as f:
                f.write(data[:cut])
            cli += 1
            cli_bad += subprocess.run([l2h, "index", "info", t], capture_output=True).returncode != 1
        print("%-16s %5d bytes: single-byte %7d tried, %d accepted; truncations %5d, %d accepted;"
              " CLI `index info` %5d tried, %d not exit 1"
              % (name, len(data), nb_bytes, nb_bad, len(data), bad - nb_bad, cli, cli_bad),
              flush=True)
        total += n + cli
        total_bad += bad + cli_bad
    print("total: %d corrupted or truncated loads, %d accepted (%.3f %% refused)"
          % (total, total_bad, 100.0 * (total - total_bad) / total))
    return 1 if total_bad else 0


if __name__ == "__main__":
    sys.exit(main())

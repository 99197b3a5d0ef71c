"""Helpers for the l2hd tests: start a daemon on 127.0.0.1 with an ephemeral port, talk JSON
and .npy to it with the standard library only (urllib), stop it."""
import atexit
import http.client
import json
import os
import signal
import struct
import subprocess
import sys
import time


class Daemon:
    def __init__(self, binary, data_dir, extra=()):
        self.binary, self.data_dir, self.extra = binary, data_dir, list(extra)
        self.proc = None
        self.port = None

    def start(self, wait_ready=True, timeout=60):
        self.proc = subprocess.Popen([self.binary, "--data", self.data_dir, "--port", "0"] + self.extra,
                                     stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        atexit.register(self.kill9)  # a failing test must not leave a daemon behind
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError("l2hd did not start: %r" % line)
        self.port = int(line.rsplit(":", 1)[1])
        t0 = time.time()
        if wait_ready:
            while True:
                try:
                    st, _ = self.get("/readyz")
                    if st == 200:
                        break
                except OSError:
                    pass
                if time.time() - t0 > timeout or self.proc.poll() is not None:
                    raise RuntimeError("l2hd not ready after %.0f s" % (time.time() - t0))
                time.sleep(0.02)
        return time.time() - t0

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode if self.proc else None

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def request(self, method, path, body=None, ctype="application/json", headers=None, timeout=120):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Content-Type": ctype}
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def get(self, path, **kw):
        st, data = self.request("GET", path, **kw)
        return st, _maybe_json(data)

    def post(self, path, body=None, **kw):
        st, data = self.request("POST", path, body, **kw)
        return st, _maybe_json(data)


def _maybe_json(data):
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return data


def npy(descr, shape, raw):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h = d + " " * ((64 - (10 + len(d) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + raw


def npy_f32(rows):
    n, d = len(rows), len(rows[0])
    return npy("<f4", "(%d, %d)" % (n, d), struct.pack("<%df" % (n * d), *[v for r in rows for v in r]))


def npy_i64(v):
    return npy("<i8", "(%d,)" % len(v), struct.pack("<%dq" % len(v), *v))


def npy_i32(v):
    return npy("<i4", "(%d,)" % len(v), struct.pack("<%di" % len(v), *v))


class Check:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", what, flush=True)
        return cond

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.exit(1 if self.failed or not self.passed else 0)

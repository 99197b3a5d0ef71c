"""The GIL is released inside library calls. Probe: while a call runs in a worker thread, the
main thread spins in Python and we measure the CPU time it gets (time.thread_time). A call
that holds the GIL lets it run at most about one switch interval (5 ms) before and after the
call; a call that releases it lets it run for a good part of the call. The negative control
(the builtin sum over a range, which keeps the GIL) shows the probe tells the two apart."""
import threading
import time

import numpy as np

import l2h

THRESHOLD_S = 0.03  # main-thread CPU seconds during the call


def main_cpu_during(fn):
    started, done = threading.Event(), threading.Event()

    def work():
        started.set()
        try:
            fn()
        finally:
            done.set()

    t = threading.Thread(target=work)
    c0 = time.thread_time()
    t.start()
    started.wait()
    while not done.is_set():
        pass
    t.join()
    return time.thread_time() - c0


def test_probe_sees_a_held_gil():
    assert main_cpu_during(lambda: sum(range(2 * 10**7))) < THRESHOLD_S


def test_gil_released_in_search_encode_train_save(tmp_path):
    l2h.set_threads(1)
    try:
        rng = np.random.default_rng(0)
        ix = l2h.Index(64)
        ix.add(rng.integers(0, 256, (1_000_000, 8), dtype=np.uint8))
        q = rng.integers(0, 256, (1000, 8), dtype=np.uint8)
        x = rng.normal(size=(2000, 256)).astype(np.float32)
        y = rng.integers(0, 10, 2000)
        m = l2h.train(x, y, method="mihash", bits=64, epochs=1)
        big = np.repeat(x, 30, axis=0)
        calls = {
            "search": lambda: ix.search(q, 10),
            "encode": lambda: m.encode(big),
            "train": lambda: l2h.train(x, y, method="mihash", bits=64, epochs=6),
        }
        for name, fn in calls.items():
            got = main_cpu_during(fn)
            assert got > THRESHOLD_S, f"{name}: main thread got {got:.3f} s: GIL held?"
    finally:
        l2h.set_threads(0)

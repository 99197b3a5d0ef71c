"""Shared fixtures: the package from this checkout, the CLI and the library of the release
build, and a small labelled dataset written as .npy files the CLI reads."""
import os
import subprocess
import sys

import numpy as np
import pytest

PY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(PY_DIR)
if PY_DIR not in sys.path:
    sys.path.insert(0, PY_DIR)

BUILD = os.environ.get("L2H_BUILD_DIR", os.path.join(REPO, "build", "release"))
CLI = os.path.join(BUILD, "l2h")


def run_cli(*args, check=True):
    """Runs build/release/l2h; returns stdout (text)."""
    if not os.path.exists(CLI):
        pytest.fail(f"the CLI {CLI} is missing: build the release preset first")
    r = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"l2h {' '.join(map(str, args))} failed ({r.returncode}): "
                             f"{r.stderr}")
    return r


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    """800 rows x 24 features in 4 Gaussian classes: rows 0..599 train/database, 600.. queries
    (the CLI's --split 2 --test-from 600)."""
    rng = np.random.default_rng(7)
    n, dim, classes = 800, 24, 4
    y = rng.integers(0, classes, n).astype(np.int32)
    centres = rng.normal(0, 1.0, (classes, dim))
    x = (centres[y] + rng.normal(0, 1.2, (n, dim))).astype(np.float32)
    d = tmp_path_factory.mktemp("data")
    np.save(d / "x.npy", x)
    np.save(d / "y.npy", y)
    return {"dir": d, "x": x, "y": y, "first_test": 600,
            "cli": ["--data", d / "x.npy", "--labels", d / "y.npy", "--split", "2",
                    "--test-from", 600]}


def popcount_distances(q, db):
    """Reference Hamming distances (nq, n_db) by unpacking bits in numpy."""
    qb = np.unpackbits(q, axis=1).astype(np.int32)
    dbb = np.unpackbits(db, axis=1).astype(np.int32)
    return (qb[:, None, :] != dbb[None, :, :]).sum(axis=2)

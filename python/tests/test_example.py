"""The README's example script runs end to end (small settings) and writes a PNG."""
import os
import subprocess
import sys

import pytest

from conftest import PY_DIR

EXAMPLE = os.path.join(PY_DIR, "examples", "fashion_mnist_mihash.py")


def test_example_script(tmp_path):
    pytest.importorskip("matplotlib", reason="python3-matplotlib is not installed")
    if not os.path.isdir(os.environ.get("L2H_FASHION_MNIST_DIR",
                                        "/usr/share/datasets/fashion-mnist")):
        pytest.skip("dataset-fashion-mnist is not installed")
    env = dict(os.environ, PYTHONPATH=PY_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = tmp_path / "pr.png"
    r = subprocess.run([sys.executable, EXAMPLE, "--bits", "16", "--epochs", "2", "--queries",
                        "200", "--out", str(out)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "precision@10" in r.stdout and "mAP" in r.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

"""The README's Python section runs as written (in a scratch directory)."""
import os
import re
import subprocess
import sys

import pytest

from conftest import PY_DIR, REPO


def test_readme_python_example(tmp_path):
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    section = text.split("\n## Python\n", 1)
    assert len(section) == 2, "README.md has no '## Python' section"
    blocks = re.findall(r"```python\n(.*?)```", section[1].split("\n## ", 1)[0], re.S)
    assert blocks, "the README's Python section has no python code block"
    if not os.path.isdir(os.environ.get("L2H_FASHION_MNIST_DIR",
                                        "/usr/share/datasets/fashion-mnist")):
        pytest.skip("dataset-fashion-mnist is not installed")
    env = dict(os.environ, PYTHONPATH=PY_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", blocks[0]], cwd=tmp_path, capture_output=True,
                       text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    m = re.search(r"mAP (\d\.\d+), tie-aware (\d\.\d+)", r.stdout)
    assert m and float(m.group(1)) > 0.5, r.stdout  # MIHash 32 bits: ~0.7 on this split
    assert (tmp_path / "m.st").exists()

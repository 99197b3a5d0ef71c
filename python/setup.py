# The C extension l2h._l2h_cffi is built by cffi (API mode) from l2h/_build.py, against the
# library found as that file describes (L2H_BUILD_DIR, the repository's build/release, or
# pkg-config l2h).
from setuptools import setup

setup(cffi_modules=["l2h/_build.py:ffibuilder"])

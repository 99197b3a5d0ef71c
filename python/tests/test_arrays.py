"""Bit order, zero-copy, explicit conversion and clear errors for bad input."""
import numpy as np
import pytest

import l2h
from l2h import _arrays as A


def test_packbits_is_lsb_first_and_matches_the_library(data):
    m = l2h.train(data["x"], method="lsh", bits=13, seed=3)
    z = m.forward(data["x"][:50])
    codes = m.encode(data["x"][:50])
    assert codes.shape == (50, 2)
    np.testing.assert_array_equal(codes, l2h.packbits(z > 0))
    np.testing.assert_array_equal(l2h.unpackbits(codes, 13), (z > 0).astype(np.uint8))
    # numpy's default (MSB-first) gives other bytes: the reason for l2h.packbits
    assert not np.array_equal(np.packbits(z > 0, axis=1), codes)
    bits = np.zeros((1, 8), np.uint8)
    bits[0, 0] = 1
    assert l2h.packbits(bits)[0, 0] == 1  # bit 0 -> least significant bit


def test_packbits_rejects_non_bits():
    with pytest.raises(ValueError, match="0 or 1"):
        l2h.packbits(np.array([[0, 2]]))
    with pytest.raises(TypeError):
        l2h.packbits(np.array([[0.5]]))
    with pytest.raises(ValueError, match="bytes per code"):
        l2h.unpackbits(np.zeros((1, 3), np.uint8), 8)


def test_zero_copy_for_the_right_arrays():
    x = np.zeros((4, 3), np.float32)
    assert A.features(x) is x
    c = np.zeros((4, 8), np.uint8)
    assert A.codes(c, 64) is c
    i = np.arange(4, dtype=np.int64)
    assert A.ids(i, 4) is i
    # the C pointer points into the array itself
    p = A.ptr("uint8_t *", c)
    assert l2h._ffi.cast("uintptr_t", p) == c.__array_interface__["data"][0]


def test_other_layouts_are_converted_not_misread(data):
    m = l2h.train(data["x"], method="itq", bits=16)
    ref = m.encode(data["x"])
    np.testing.assert_array_equal(m.encode(np.asfortranarray(data["x"])), ref)
    np.testing.assert_array_equal(m.encode(data["x"].astype(np.float64)), ref)
    wide = np.zeros((data["x"].shape[0], 48), np.float32)
    wide[:, ::2] = data["x"]
    np.testing.assert_array_equal(m.encode(wide[:, ::2]), ref)  # strided view
    np.testing.assert_array_equal(m.encode(data["x"].tolist()), ref)  # plain lists
    ix = l2h.Index(16)
    ix.add(ref)
    D1, I1 = ix.search(ref[:20], 5)
    D2, I2 = ix.search(np.asfortranarray(ref[:20]), 5)
    np.testing.assert_array_equal(D1, D2)
    np.testing.assert_array_equal(I1, I2)


def test_bad_input_gives_clear_exceptions(data):
    m = l2h.train(data["x"], method="lsh", bits=32)
    ix = l2h.Index(32)
    codes = m.encode(data["x"])
    with pytest.raises(TypeError, match="uint8"):
        ix.add(codes.astype(np.int64))
    with pytest.raises(TypeError, match="packbits"):
        ix.add(np.ones((3, 32), np.float32))
    with pytest.raises(ValueError, match="3 bytes per code.*take 4"):
        ix.add(codes[:, :3])
    with pytest.raises(ValueError, match="2-D"):
        ix.search(codes[0], 3)
    with pytest.raises(ValueError, match="24 features per row, expected"):
        l2h.Model.encode(l2h.train(np.zeros((10, 7), np.float32), method="lsh", bits=8),
                         data["x"])
    with pytest.raises(TypeError, match="real numbers"):
        m.encode(np.array([["a"] * 24]))
    bad = data["x"][:10].copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match="row 3, column 5") as e:
        m.encode(bad)
    assert isinstance(e.value, l2h.NumericError)
    with pytest.raises(ValueError):
        l2h.train(bad, method="itq", bits=8)
    with pytest.raises(ValueError, match="negative|id"):
        ix.add(codes[:2], ids=np.array([1, -5]))
    assert len(ix) == 0  # nothing added on failure
    with pytest.raises(ValueError, match="ids for"):
        ix.add(codes[:2], ids=[1, 2, 3])
    with pytest.raises(TypeError, match="integers"):
        ix.add(codes[:2], ids=[1.5, 2.0])
    with pytest.raises(ValueError, match="k must be"):
        ix.search(codes[:1], 0)
    with pytest.raises(ValueError, match="kind"):
        l2h.Index(32, kind="ivf")
    with pytest.raises(ValueError):
        l2h.Index(0)


def test_inf_is_refused_before_it_becomes_a_bit(data):
    m = l2h.train(data["x"], method="lsh", bits=8)
    bad = data["x"][:4].copy()
    bad[2, 0] = np.inf
    with pytest.raises(l2h.NumericError, match="row 2, column 0"):
        m.encode(bad)


def test_library_errors_carry_last_error(tmp_path):
    with pytest.raises(ValueError) as e:
        l2h.Index(5000)
    assert isinstance(e.value, l2h.ArgumentError)
    assert e.value.status == "L2H_ERR_ARG"
    assert e.value.message and str(e.value) == e.value.message
    # the library's own message (thread-local l2h_last_error()), prefixed with the call
    assert l2h.last_error() == "code length 5000 bits outside 1..1024"
    assert e.value.message == "Index: " + l2h.last_error()


@pytest.mark.parametrize("status,builtin,cls", [
    ("L2H_ERR_NOMEM", MemoryError, l2h.LibraryMemoryError),
    ("L2H_ERR_ARG", ValueError, l2h.ArgumentError),
    ("L2H_ERR_STATE", RuntimeError, l2h.StateError),
    ("L2H_ERR_IO", OSError, l2h.LibraryOSError),
    ("L2H_ERR_FORMAT", ValueError, l2h.FormatError),
    ("L2H_ERR_VERSION", ValueError, l2h.FormatError),
    ("L2H_ERR_UNSUPPORTED", ValueError, l2h.UnsupportedError),
    ("L2H_ERR_NUMERIC", ValueError, l2h.NumericError),
])
def test_every_status_maps_to_a_builtin_exception(status, builtin, cls):
    from l2h._errors import check
    with pytest.raises(builtin) as e:
        check(getattr(l2h._lib, status), "what", filename="f.bin")
    assert type(e.value) is cls and isinstance(e.value, l2h.Error)
    assert e.value.status == status and e.value.filename == "f.bin"
    assert str(e.value).startswith("what: ")

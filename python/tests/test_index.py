"""Index against a numpy reference: k-NN with padding, inclusive radius, remove/replace,
files, pickling, both kinds, and concurrent searches from Python threads."""
import pickle
import threading

import numpy as np
import pytest

import l2h
from conftest import popcount_distances


def reference_knn(q, db, ids, k):
    d = popcount_distances(q, db)
    D = np.full((len(q), k), -1, np.int32)
    I = np.full((len(q), k), -1, np.int64)
    for r in range(len(q)):
        order = np.lexsort((ids, d[r]))[:k]
        D[r, :len(order)] = d[r, order]
        I[r, :len(order)] = ids[order]
    return D, I


@pytest.fixture(scope="module")
def codes():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 256, (300, 4), dtype=np.uint8)
    # many near-duplicates so ties and small radii matter
    flip = (rng.random((300, 32)) < 0.05)
    near = base ^ l2h.packbits(flip)
    # a code at distance exactly 3 from code 0 (the boundary of a radius-3 search)
    three = base[:1] ^ np.array([[0b111, 0, 0, 0]], np.uint8)
    return np.concatenate([base, near, three])


@pytest.mark.parametrize("kind", ["flat", "mih"])
def test_search_matches_reference(codes, kind):
    ix = l2h.Index(32, kind=kind)
    ids = np.arange(len(codes), dtype=np.int64) * 3 + 7
    ix.add(codes, ids)
    assert len(ix) == ix.ntotal == len(codes)
    q = codes[::37]
    D, I = ix.search(q, 10)
    assert D.dtype == np.int32 and I.dtype == np.int64 and D.shape == (len(q), 10)
    Dr, Ir = reference_knn(q, codes, ids, 10)
    np.testing.assert_array_equal(D, Dr)
    np.testing.assert_array_equal(I, Ir)


def test_padding_like_faiss(codes):
    ix = l2h.Index(32)
    ix.add(codes[:3])
    D, I = ix.search(codes[:2], 5)
    assert (I[:, 3:] == -1).all() and (D[:, 3:] == -1).all()
    assert (I[:, :3] >= 0).all()
    empty = l2h.Index(32)
    D, I = empty.search(codes[:2], 4)
    assert (I == -1).all() and (D == -1).all()


@pytest.mark.parametrize("kind", ["flat", "mih"])
def test_range_search_is_inclusive(codes, kind):
    ix = l2h.Index(32, kind=kind)
    ix.add(codes)
    q = codes[::50]
    lims, D, I = ix.range_search(q, 3)
    assert lims.shape == (len(q) + 1,) and lims[0] == 0 and lims[-1] == len(D) == len(I)
    d = popcount_distances(q, codes)
    for r in range(len(q)):
        want = np.flatnonzero(d[r] <= 3)  # <= : inclusive
        got = I[lims[r]:lims[r + 1]]
        assert sorted(got) == sorted(want)
        assert (D[lims[r]:lims[r + 1]] == d[r, got]).all()
        assert (np.diff(D[lims[r]:lims[r + 1]]) >= 0).all()
    assert 3 in set(D.tolist())  # the boundary distance itself is returned


def test_remove_replace(codes):
    ix = l2h.Index(32, kind="mih")
    ix.add(codes)
    assert ix.remove([0, 1, 2, 10**9]) == 3
    D, I = ix.search(codes[:3], 1)
    assert not set(I[:, 0]) & {0, 1, 2}
    ix.replace([5], codes[:1])
    D, I = ix.search(codes[:1], 1)
    assert D[0, 0] == 0 and I[0, 0] == 5
    with pytest.raises(ValueError):  # all or nothing: id 0 is gone
        ix.replace([0, 6], codes[:2])
    assert len(ix) == len(codes) - 3


def test_save_load_pickle(codes, tmp_path):
    ix = l2h.Index(32, kind="mih")
    ix.add(codes, np.arange(len(codes)) + 100)
    f = tmp_path / "a.l2hidx"
    ix.save(f)
    for other in (l2h.Index.load(f), l2h.Index.load(str(f)), pickle.loads(pickle.dumps(ix))):
        assert other.kind == "mih" and len(other) == len(ix) and other.bits == 32
        for a, b in zip(ix.search(codes[:30], 7), other.search(codes[:30], 7)):
            np.testing.assert_array_equal(a, b)


def test_file_errors(tmp_path):
    with pytest.raises(OSError) as e:
        l2h.Index.load(tmp_path / "missing.idx")
    assert e.value.filename == str(tmp_path / "missing.idx")
    assert e.value.errno == 2  # ENOENT, recognised from the library's message
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"not an index at all" * 10)
    with pytest.raises(l2h.FormatError) as e:
        l2h.Index.load(bad)
    assert isinstance(e.value, ValueError)
    assert str(bad) in str(e.value)
    ix = l2h.Index(16)
    ix.add(np.zeros((4, 2), np.uint8))
    good = tmp_path / "good.idx"
    ix.save(good)
    raw = good.read_bytes()
    (tmp_path / "trunc.idx").write_bytes(raw[:-5])
    with pytest.raises(l2h.FormatError, match="trunc.idx"):
        l2h.Index.load(tmp_path / "trunc.idx")
    with pytest.raises(OSError) as e:
        ix.save(tmp_path / "no" / "such" / "dir.idx")
    assert "dir.idx" in e.value.filename


def test_concurrent_searches_from_threads(codes):
    ix = l2h.Index(32, kind="mih")
    ix.add(codes)
    q = codes[::7]
    want = ix.search(q, 8)
    want_r = ix.range_search(q, 2)
    errors, results = [], []

    def worker(i):
        try:
            for _ in range(20):
                if i % 2:
                    results.append(("knn", ix.search(q, 8)))
                else:
                    results.append(("range", ix.range_search(q, 2)))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert len(results) == 160
    for kind, r in results:
        ref = want if kind == "knn" else want_r
        for a, b in zip(r, ref):
            np.testing.assert_array_equal(a, b)


def test_search_while_adding_from_threads(codes):
    """Writers and readers at once: every search sees the index before or after each add."""
    ix = l2h.Index(32)
    ix.add(codes[:100])
    stop = threading.Event()
    sizes, errors = [], []

    def reader():
        try:
            while not stop.is_set():
                D, I = ix.search(codes[:5], 1000)
                sizes.append(int((I[0] >= 0).sum()))
        except Exception as e:  # pragma: no cover
            errors.append(e)

    ts = [threading.Thread(target=reader) for _ in range(3)]
    for t in ts:
        t.start()
    for s in range(100, 600, 50):
        ix.add(codes[s:s + 50])
    stop.set()
    for t in ts:
        t.join()
    assert not errors
    assert sizes and all(n % 50 == 0 and 100 <= n <= 600 for n in sizes)


def test_hamming(codes):
    d = l2h.hamming(codes[0], codes, 32)
    np.testing.assert_array_equal(d, popcount_distances(codes[:1], codes)[0])

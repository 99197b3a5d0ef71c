"""Cross-check against FAISS (python3-faiss) on identical bytes: same k-NN distances, same
neighbour sets below the k-th distance, and FAISS's strict radius r+1 == our inclusive r."""
import numpy as np
import pytest

import l2h

faiss = pytest.importorskip(
    "faiss", reason="python3-faiss is not installed: the FAISS cross-check is SKIPPED "
                    "(apt-get install python3-faiss)")


@pytest.fixture(scope="module")
def codes(data):
    m = l2h.train(data["x"], method="itq", bits=16)
    itq = m.encode(data["x"])
    rng = np.random.default_rng(3)
    rnd = rng.integers(0, 256, (500, 8), dtype=np.uint8)
    return itq, rnd


@pytest.mark.parametrize("which", [0, 1], ids=["itq16", "random64"])
def test_knn_and_range_vs_faiss(codes, which):
    db = codes[which]
    bits = db.shape[1] * 8
    q = db[::13]
    fx = faiss.IndexBinaryFlat(bits)
    fx.add(db)
    k = 10
    fD, fI = fx.search(q, k)
    ix = l2h.Index(bits)
    ix.add(db)
    D, I = ix.search(q, k)
    np.testing.assert_array_equal(D, fD.astype(np.int32))  # identical distances
    for r in range(len(q)):
        kth = D[r, -1]
        # items strictly closer than the k-th distance are the same set (ties may differ)
        assert set(I[r][D[r] < kth]) == set(fI[r][fD[r] < kth])
        # every id either side returns really is at that distance
        dist = l2h.hamming(q[r], db, bits)
        assert (dist[fI[r]] == fD[r]).all() and (dist[I[r]] == D[r]).all()
    for radius in (0, 2, 5):
        lims, rD, rI = ix.range_search(q, radius)
        flims, fDr, fIr = fx.range_search(q, radius + 1)  # FAISS keeps d < radius
        np.testing.assert_array_equal(lims, flims.astype(np.int64))
        for r in range(len(q)):
            a = sorted(zip(rD[lims[r]:lims[r + 1]], rI[lims[r]:lims[r + 1]]))
            b = sorted(zip(fDr[flims[r]:flims[r + 1]], fIr[flims[r]:flims[r + 1]]))
            assert a == b


def test_padding_matches_faiss():
    db = np.random.default_rng(1).integers(0, 256, (3, 4), dtype=np.uint8)
    fx = faiss.IndexBinaryFlat(32)
    fx.add(db)
    fD, fI = fx.search(db[:1], 5)
    ix = l2h.Index(32)
    ix.add(db)
    D, I = ix.search(db[:1], 5)
    np.testing.assert_array_equal(I[:, 3:], fI[:, 3:])  # -1 ids where fewer than k
    assert (I[:, 3:] == -1).all()

"""The online engine from Python: begin / push / table / stats / run."""
import threading

import numpy as np
import pytest

import l2h


def test_methods_listed():
    assert {"okh", "osh", "adapthash", "sketchhash", "mihash"} <= set(l2h.online_methods())


@pytest.mark.parametrize("method", ["mihash", "osh"])
def test_push_keeps_table_consistent(data, method):
    x, y = data["x"], data["y"]
    o = l2h.Online(24, method=method, bits=16, reservoir=50, interval=40, policy="trigger",
                   seed=3)
    assert (o.bits, o.dim) == (16, 24)
    db = x[:300]
    o.begin(x[300:400], y[300:400], db=db)
    for s in range(400, 800, 100):
        o.push(x[s:s + 100], y[s:s + 100])
    o.flush()
    st = o.stats()
    assert st["items"] == 400 and st["steps"] >= 1 and st["checks"] == 10
    table = o.table()
    assert table.shape == (300, 2) and table.dtype == np.uint8
    # the table is the db encoded with the snapshot mapping, whatever the policy did
    np.testing.assert_array_equal(o.encode(db), table)
    m = o.model()
    np.testing.assert_array_equal(m.encode(db), table)
    np.testing.assert_array_equal(o.model("current").encode(db), o.encode_current(db))
    if isinstance(m, l2h.Model):  # libraries with l2h_online_model: a real, savable model
        np.testing.assert_array_equal(l2h.Model.from_bytes(m.to_bytes()).encode(db), table)
    else:
        assert isinstance(m, l2h.OnlineMapping)


def test_run_protocol_and_curve(data):
    x, y = data["x"], data["y"]
    o = l2h.Online(24, method="osh", bits=16, n_checkpoints=5, n_init=50, seed=1)
    st = o.run(x[:500], y[:500], x[:600], y[:600], x[600:], y[600:], n_items=500)
    assert st["items"] == 500 and st["n_checkpoints"] == 5
    c = o.curve()
    assert len(c["map"]) == 5 and (c["map"] > 0).all() and (c["map"] <= 1).all()
    assert c["items"][-1] == 500
    assert abs(st["map_final"] - c["map"][-1]) < 1e-12


def test_online_errors(data):
    with pytest.raises(ValueError, match="unknown online method"):
        l2h.Online(24, method="nope")
    with pytest.raises(TypeError, match="unknown option"):
        l2h.Online(24, method="okh", reservoirs=3)
    with pytest.raises(ValueError, match="policy"):
        l2h.Online(24, method="okh", policy="sometimes")
    o = l2h.Online(24, method="mihash", bits=8)
    with pytest.raises(ValueError, match="features per row"):
        o.push(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="retrieval set"):
        o.table()


def test_one_handle_used_from_threads(data):
    """Calls on one Online object are serialised: pushes from several threads all count."""
    x, y = data["x"], data["y"]
    o = l2h.Online(24, method="osh", bits=8, seed=2)
    o.begin(x[:50], y[:50], db=x[:100])
    ts = [threading.Thread(target=o.push, args=(x[i * 50:(i + 1) * 50], y[i * 50:(i + 1) * 50]))
          for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    o.flush()
    assert o.stats()["items"] == 400


def test_noise_aware_policies(data):
    """trigger-se / trigger-unpaired reach the engine: with a confidence close to 1 they update
    no more often than the plain trigger on the same stream and seed."""
    x, y = data["x"], data["y"]
    updates = {}
    for pol, extra in (("trigger", {}), ("trigger-se", {"confidence": 0.999}),
                       ("trigger-unpaired", {"confidence": 0.999})):
        o = l2h.Online(24, method="osh", bits=16, reservoir=50, interval=40, policy=pol, seed=3,
                       **extra)
        o.begin(x[300:400], y[300:400], db=x[:300])
        for s in range(400, 800, 100):
            o.push(x[s:s + 100], y[s:s + 100])
        o.flush()
        st = o.stats()
        assert st["checks"] == 10
        updates[pol] = st["updates"]
    assert updates["trigger-se"] <= updates["trigger"]
    assert updates["trigger-unpaired"] <= updates["trigger"]
    with pytest.raises(Exception):
        l2h.Online(24, method="osh", policy="trigger-se", confidence=1.5).begin(
            x[300:400], y[300:400], db=x[:300])

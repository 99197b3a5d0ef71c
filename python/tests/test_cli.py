"""The binding against the CLI's files: same models, same codes, same index results, and
evaluate() equal to `l2h eval` to the last printed digit."""
import json

import numpy as np
import pytest

import l2h
from conftest import run_cli

# every batch method, with options small enough for a test and given to both sides
METHODS = [
    ("lsh", {}, []),
    ("itq", {"itq_iters": 5}, ["--itq-iters", 5]),
    ("pcah", {"max_train": 100}, ["--pcah-max-train", 100]),
    ("mihash", {"epochs": 2, "batch": 50}, ["--epochs", 2, "--batch", 50]),
    ("hashnet", {"epochs": 2, "batch": 50}, ["--epochs", 2, "--batch", 50]),
    ("jmlh", {"epochs": 2, "batch": 50, "gamma": 0.2}, ["--epochs", 2, "--batch", 50,
                                                        "--gamma", 0.2]),
    ("hashnet", {"epochs": 2, "batch": 50, "weighting": "none", "alpha": 0.5,
                 "beta_stages": (1, 2), "lr": 0.05},
     ["--epochs", 2, "--batch", 50, "--weighting", "none", "--alpha", 0.5, "--beta-stages",
      "1,2", "--lr", 0.05]),
    ("jmlh", {"epochs": 2, "batch": 50, "jmlh_variant": "qr", "deterministic": True},
     ["--epochs", 2, "--batch", 50, "--jmlh-variant", "qr", "--deterministic"]),
    ("mihash", {"epochs": 2, "batch": 50, "model": "mlp", "hidden": (32,), "optimizer": "adam"},
     ["--epochs", 2, "--batch", 50, "--model", "mlp", "--hidden", "32", "--optimizer", "adam"]),
]


def split2(data):
    f = data["first_test"]
    return (data["x"][:f], data["y"][:f]), (data["x"][f:], data["y"][f:])


def test_every_batch_method_is_covered():
    assert set(l2h.batch_methods()) == {m for m, _, _ in METHODS}


@pytest.mark.parametrize("method,opts,cli", METHODS, ids=[f"{m[0]}{i}" for i, m in
                                                          enumerate(METHODS)])
def test_train_matches_cli(data, tmp_path, method, opts, cli):
    (xt, yt), _ = split2(data)
    opts = dict(opts)
    net = opts.pop("model", "linear")
    m = l2h.train(xt, yt if method not in ("lsh", "itq") else None, method=method, bits=16,
                  model=net, **opts)
    run_cli("train", *data["cli"], "--method", method, "--bits", 16, "-o", tmp_path / "m.st",
            *cli)
    cm = l2h.Model.load(tmp_path / "m.st")
    assert (cm.method, cm.arch, cm.bits, cm.dim) == (m.method, m.arch, 16, 24)
    np.testing.assert_array_equal(m.encode(data["x"]), cm.encode(data["x"]))
    # and the CLI's own encoder on the model Python saved
    m.save(tmp_path / "py.st")
    run_cli("encode", "-m", tmp_path / "py.st", "--data", data["dir"] / "x.npy",
            "-o", tmp_path / "c.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), m.encode(data["x"]))


def test_train_option_errors(data):
    with pytest.raises(TypeError, match="unknown option.*epochz.*it takes"):
        l2h.train(data["x"], data["y"], method="mihash", bits=8, epochz=3)
    with pytest.raises(TypeError, match="unknown option"):
        l2h.train(data["x"], method="lsh", bits=8, epochs=3)
    with pytest.raises(ValueError, match="unknown method"):
        l2h.train(data["x"], data["y"], method="sdh", bits=8)
    with pytest.raises(ValueError, match="labels"):
        l2h.train(data["x"], method="mihash", bits=8)
    with pytest.raises(ValueError, match="optimizer"):
        l2h.train(data["x"], data["y"], method="mihash", bits=8, optimizer="rmsprop")
    with pytest.raises(ValueError, match="CNN|784|cnn"):
        l2h.train(data["x"], data["y"], method="mihash", bits=8, model="cnn", epochs=1)


def test_model_files(data, tmp_path):
    import pickle
    m = l2h.train(data["x"], method="itq", bits=12)
    m.save(tmp_path / "m.st")
    m2 = l2h.Model.load(tmp_path / "m.st")
    m3 = pickle.loads(pickle.dumps(m))
    for other in (m2, m3):
        np.testing.assert_array_equal(other.encode(data["x"]), m.encode(data["x"]))
    assert m2.meta("bits") == "12" and m2.code_bytes == 2
    (tmp_path / "bad.st").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    with pytest.raises(l2h.FormatError, match="bad.st"):
        l2h.Model.load(tmp_path / "bad.st")
    with pytest.raises(OSError) as e:
        l2h.Model.load(tmp_path / "none.st")
    assert e.value.filename == str(tmp_path / "none.st")


def test_index_files_shared_with_cli(data, tmp_path):
    m = l2h.train(data["x"], method="lsh", bits=20, seed=5)
    codes = m.encode(data["x"])
    np.save(tmp_path / "db.npy", codes)
    np.save(tmp_path / "q.npy", codes[:40])
    # CLI builds, Python loads
    run_cli("index", "build", "--codes", tmp_path / "db.npy", "--bits", 20, "--kind", "mih",
            "-o", tmp_path / "cli.idx")
    ix = l2h.Index.load(tmp_path / "cli.idx")
    assert ix.kind == "mih" and ix.bits == 20 and len(ix) == len(codes)
    D, I = ix.search(codes[:40], 6)
    out = run_cli("search", "--index", tmp_path / "cli.idx", "-q", tmp_path / "q.npy", "-k", 6,
                  "--json").stdout
    rows = json.loads(out)
    got = {(r["query"], r["rank"]): (r["id"], r["distance"]) for r in rows}
    for q in range(40):
        for j in range(6):
            assert got[(q, j)] == (I[q, j], D[q, j])
    # Python builds, CLI loads: radius search
    py = l2h.Index(20)
    py.add(codes)
    py.save(tmp_path / "py.idx")
    lims, Dr, Ir = py.range_search(codes[:40], 3)
    rows = json.loads(run_cli("search", "--index", tmp_path / "py.idx", "-q", tmp_path / "q.npy",
                              "--radius", 3, "--json").stdout)
    assert len(rows) == lims[-1]
    for r in rows:
        j = lims[r["query"]] + r["rank"]
        assert (Ir[j], Dr[j]) == (r["id"], r["distance"])


@pytest.mark.parametrize("bits,map_at,radius", [(16, 0, 2), (32, 100, 0), (12, 50, 3)])
def test_evaluate_equals_cli_eval(data, tmp_path, bits, map_at, radius):
    (xt, yt), (xq, yq) = split2(data)
    m = l2h.train(xt, method="itq", bits=bits) if bits <= 24 else \
        l2h.train(xt, method="lsh", bits=bits)
    m.save(tmp_path / "m.st")
    extra = ["--map-at", map_at] if map_at else []
    cli = json.loads(run_cli("eval", "-m", tmp_path / "m.st", *data["cli"], "--radius", radius,
                             "--json", *extra).stdout)
    text = run_cli("eval", "-m", tmp_path / "m.st", *data["cli"], "--radius", radius,
                   *extra).stdout
    # database = rows [0, first_test) in order; queries = the rest (split 2)
    r = l2h.evaluate(m.encode(xq), m.encode(xt), yq, yt, bits=bits, radius=radius,
                     map_at=map_at)
    keys = ["map", "map_tie_aware", f"precision_radius_{radius}", f"recall_radius_{radius}"]
    if map_at:
        keys.append(f"map_at_{map_at}")
    for k in keys:
        assert f"{r[k]:.6f}" == f"{cli[k]:.6f}", k
    for k in ("queries", "database", "empty_queries"):
        assert r[k] == cli[k], k
    for n, p in cli["precision_at"].items():
        assert f"{r['precision_at'][int(n)]:.6f}" == f"{p:.6f}"
    # the human-readable output, 4 decimals, line by line
    # every metric line is "label" padded to 17 columns, then the value
    lines = {ln[:17].strip(): ln[17:].split()[0] for ln in text.splitlines()[2:]}
    assert lines["mAP"] == f"{r['map']:.4f}"
    assert lines["mAP tie-aware"] == f"{r['map_tie_aware']:.4f}"
    if map_at:
        assert lines[f"mAP@{map_at}"] == f"{r[f'map_at_{map_at}']:.4f}"
    assert lines[f"P@H<={radius}"] == f"{r[f'precision_radius_{radius}']:.4f}"
    assert lines[f"R@H<={radius}"] == f"{r[f'recall_radius_{radius}']:.4f}"
    for n in r["precision_at"]:  # the cut-offs as used: N > n_db is labelled P@n_db
        assert lines[f"P@{n}"] == f"{r['precision_at'][n]:.4f}"


def test_evaluate_curves_and_euclidean(data, tmp_path):
    (xt, yt), (xq, yq) = split2(data)
    m = l2h.train(xt, method="itq", bits=8)
    m.save(tmp_path / "m.st")
    run_cli("eval", "-m", tmp_path / "m.st", *data["cli"], "--curves", tmp_path / "c.csv")
    r = l2h.evaluate(m.encode(xq), m.encode(xt), yq, yt)
    rows = [ln.split(",") for ln in (tmp_path / "c.csv").read_text().splitlines()[1:]]
    for kind, x, p, rec in rows:
        if kind == "radius":
            assert f"{r['pr_curve']['precision'][int(x)]:.6f}" == p
            assert f"{r['pr_curve']['recall'][int(x)]:.6f}" == rec
        else:
            assert f"{r['recall_at'][int(x)]:.6f}" == rec
    # Euclidean ground truth as `l2h eval --ground-truth euclidean` (threshold from train rows)
    cli = json.loads(run_cli("eval", "-m", tmp_path / "m.st", *data["cli"], "--ground-truth",
                             "euclidean", "--json").stdout)
    thr = l2h.distance_percentile(xt, 5.0, 2000, seed=1)
    r = l2h.evaluate(m.encode(xq), m.encode(xt), features_q=xq, features_db=xt, threshold=thr)
    assert f"{r['map']:.6f}" == f"{cli['map']:.6f}"
    assert f"{r['map_tie_aware']:.6f}" == f"{cli['map_tie_aware']:.6f}"
    with pytest.raises(ValueError, match="labels_q and labels_db"):
        l2h.evaluate(m.encode(xq), m.encode(xt), yq)


def test_train_progress_and_stop(data):
    seen = []
    l2h.train(data["x"], data["y"], method="mihash", bits=8, epochs=3, progress=seen.append)
    assert [p["epoch"] for p in seen] == [1, 2, 3] and all(p["epochs"] == 3 for p in seen)
    assert all(np.isfinite(p["loss"]) for p in seen)
    with pytest.raises(l2h.StateError):
        l2h.train(data["x"], data["y"], method="mihash", bits=8, epochs=5,
                  progress=lambda p: p["epoch"] == 2)

    class Stop(Exception):
        pass

    def boom(p):
        raise Stop()

    with pytest.raises(Stop):
        l2h.train(data["x"], data["y"], method="hashnet", bits=8, epochs=5, progress=boom)


def test_read_dataset_uses_the_cli_readers(data, tmp_path):
    x, y = l2h.read_dataset(data["dir"] / "x.npy", labels=data["dir"] / "y.npy")
    np.testing.assert_array_equal(x, data["x"])
    np.testing.assert_array_equal(y, data["y"])
    data["x"][:5].tofile(tmp_path / "x.f32")
    x5, none = l2h.read_dataset(tmp_path / "x.f32", dim=24)
    np.testing.assert_array_equal(x5, data["x"][:5])
    assert none is None
    with pytest.raises(OSError) as e:
        l2h.read_dataset(tmp_path / "missing.npy")
    assert e.value.filename == str(tmp_path / "missing.npy")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(l2h.FormatError, match="bad.npy"):
        l2h.read_dataset(tmp_path / "bad.npy")

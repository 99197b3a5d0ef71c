#!/usr/bin/python3
"""Train MIHash on Fashion-MNIST, index the database, query it, plot a precision-recall curve.

    /usr/bin/python3 python/examples/fashion_mnist_mihash.py --out pr.png

Data: Debian's dataset-fashion-mnist. Protocol: the 10,000 test images' first --queries rows
are the queries, the 60,000 training images the database; MIHash (linear, --bits) learns from
5,000 training images spread over the file (every 12th)."""
import argparse
import sys
import time

import numpy as np

import l2h


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bits", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--out", default="pr_curve.png", help="PNG of the precision-recall curve")
    a = ap.parse_args()

    x, y, n_train = l2h.load_dataset("fashion-mnist")
    db_x, db_y = x[:n_train], y[:n_train]
    q_x, q_y = x[n_train:n_train + a.queries], y[n_train:n_train + a.queries]
    tr = np.arange(0, n_train, n_train // 5000)[:5000]

    t = time.perf_counter()
    model = l2h.train(db_x[tr], db_y[tr], method="mihash", bits=a.bits, epochs=a.epochs)
    print(f"trained {model!r} on {len(tr)} images in {time.perf_counter() - t:.2f} s",
          file=sys.stderr)

    db_codes = model.encode(db_x)          # uint8 (60000, bits/8), LSB-first
    q_codes = model.encode(q_x)
    index = l2h.Index(a.bits, kind="mih")  # exact; sublinear for near neighbours
    index.add(db_codes)                    # ids = row numbers

    t = time.perf_counter()
    D, I = index.search(q_codes, 10)       # D int32 distances, I int64 ids (-1 = padding)
    dt = time.perf_counter() - t
    p10 = (db_y[I] == q_y[:, None]).mean()
    print(f"searched {len(q_codes)} queries in {len(index)} codes in {dt * 1e3:.1f} ms; "
          f"precision@10 {p10:.4f}")
    print(f"query 0 (class {q_y[0]}): ids {I[0].tolist()}, distances {D[0].tolist()}")
    lims, _, _ = index.range_search(q_codes[:1], 2)
    print(f"query 0 has {lims[1]} database images within Hamming distance 2")

    r = l2h.evaluate(q_codes, db_codes, q_y, db_y, bits=a.bits)
    print(f"mAP {r['map']:.4f}, tie-aware mAP {r['map_tie_aware']:.4f}, "
          f"P@H<=2 {r['precision_radius_2']:.4f}, R@H<=2 {r['recall_radius_2']:.4f}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    pr = r["pr_curve"]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(pr["recall"], pr["precision"], marker=".", label=f"MIHash {a.bits} bits")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Fashion-MNIST: precision-recall by Hamming radius")
    ax.grid(True)
    ax.legend()
    fig.tight_layout()
    fig.savefig(a.out, dpi=100)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()

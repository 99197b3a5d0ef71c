"""Markdown tables of bench/results_hashnet.sh's results.txt: per data set, mAP / tie-aware mAP /
P@H<=2 of every method at every code length, and the HashNet - HashNet-W and HashNet - HashNet-C
differences in mAP. usage: /usr/bin/python3 bench/hashnet_table.py OUT_DIR/results.txt"""
import json
import sys

rows = {}
for line in open(sys.argv[1]):
    if "{" not in line:
        continue
    head, js = line.split("{", 1)
    ds, method, bits = head.split()
    r = json.loads("{" + js)
    rows[(ds, method, int(bits))] = r

names = {"c10": "CIFAR-10 CNN features, linear (split 1)", "scene": "scene, linear (split 2)",
         "fine": "CIFAR-10 CNN features, 40 fine classes, linear (random split)",
         "fmnist-mlp": "Fashion-MNIST pixels, MLP (split 1)", "fmnist": "Fashion-MNIST pixels",
         "fmnist-cnn": "Fashion-MNIST raw images, CNN (split 1)"}
order = ["hashnet", "hashnet-w", "hashnet-c", "mihash", "itq", "lsh"]
label = {"hashnet": "HashNet", "hashnet-w": "HashNet-W", "hashnet-c": "HashNet-C",
         "mihash": "MIHash", "itq": "ITQ", "lsh": "LSH"}
for ds in ["c10", "scene", "fine", "fmnist", "fmnist-cnn"]:
    keys = [k for k in rows if k[0] == ds or (ds == "fmnist" and k[0] == "fmnist-mlp")]
    if not keys:
        continue
    bits = sorted({k[2] for k in keys})
    print(f"\n**{names[ds]}** — mAP / tie-aware mAP / P@H≤2\n")
    print("| method | " + " | ".join(f"{b} bits" for b in bits) + " |")
    print("|---|" + "---:|" * len(bits))
    for m in order:
        cells = []
        for b in bits:
            r = rows.get((ds, m, b)) or (rows.get(("fmnist-mlp", m, b)) if ds == "fmnist" else None)
            cells.append("—" if r is None else
                         f"{r['map']:.4f} / {r['map_tie_aware']:.4f} / {r['precision_radius_2']:.4f}")
        if any(c != "—" for c in cells):
            print(f"| {label[m]} | " + " | ".join(cells) + " |")
    d = ds if ds != "fmnist" else "fmnist-mlp"
    for other in ["hashnet-w", "hashnet-c"]:
        diffs = []
        for b in bits:
            a, o = rows.get((d, "hashnet", b)), rows.get((d, other, b))
            diffs.append("—" if a is None or o is None else f"{a['map'] - o['map']:+.4f}")
        print(f"| HashNet − {label[other]} (mAP) | " + " | ".join(diffs) + " |")

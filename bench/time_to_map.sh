#!/bin/sh
# MIHash time to a validation mAP, l2h (bench_ttm) against PyTorch (ttm_torch.py), linear
# 1024->32 and MLP 1024->1024->32 on the CIFAR-10 split-1 training rows, the same 4,500
# trained-on and 500 validation rows on both sides, one thread. Run i (i = 1..RUNS, default 5)
# uses seed i on both sides (l2h: initialisation, shuffling and the held-out rows; PyTorch:
# initialisation and shuffling on the rows l2h held out), runs interleaved. Prints a markdown
# table of medians over the runs (min-max): training seconds net of validation until the
# validation mAP first reaches the threshold, the epochs that took, and examples/s over all
# epochs. The epochs to a threshold depend strongly on the seed, hence several seeds.
# usage: bench/time_to_map.sh BUILD_DIR [EPOCHS=45] [LINEAR_THR=0.20,0.22] [MLP_THR=0.16,0.18] [RUNS=5]
set -eu
B=$1
E=${2:-45}
TL=${3:-0.20,0.22}
TM=${4:-0.16,0.18}
R=${5:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export L2H_SHARED_DATA=${L2H_SHARED_DATA:-$(dirname "$0")/../../shared/data}
echo "load before: $(uptime)"
i=1
while [ "$i" -le "$R" ]; do
  "$B/bench/bench_ttm" "$E" "$TL" "$TM" "$T/rows.$i" "$i" >"$T/l2h.$i"
  TTM_SEED=$i /usr/bin/python3 "$HERE/ttm_torch.py" "$T/rows.$i" "$E" "$TL" "$TM" >"$T/torch.$i"
  i=$((i + 1))
done
echo "load after:  $(uptime)"
grep -h '^check' "$T"/l2h.*
/usr/bin/python3 - "$T" "$R" <<'EOF'
import statistics, sys
d, runs = sys.argv[1], int(sys.argv[2])
def parse(path):
    ttm, rate = {}, {}
    for ln in open(path):
        f = ln.split()
        if f and f[0] == "ttm":
            ttm[(f[1], f[2])] = (None if f[4] == "-" else float(f[4]), None if f[8] == "-" else int(f[8]))
        elif f and f[0] == "rate":
            rate[f[1]] = float(f[3])
    return ttm, rate
side = {s: [parse("%s/%s.%d" % (d, s, i)) for i in range(1, runs + 1)] for s in ("l2h", "torch")}
def med(v):
    v = [x for x in v if x is not None]
    if len(v) < runs:
        return None, "not reached in %d of %d runs" % (runs - len(v), runs)
    return statistics.median(v), "%.2f (%.2f–%.2f)" % (statistics.median(v), min(v), max(v))
print("| model | validation mAP ≥ | l2h s (epoch) | PyTorch s (epoch) | PyTorch / l2h | l2h examples/s | PyTorch examples/s |")
print("|---|---:|---:|---:|---:|---:|---:|")
for key in side["l2h"][0][0]:
    model, thr = key
    row = []
    for s in ("l2h", "torch"):
        m, txt = med([r[0][key][0] for r in side[s]])
        ep = [r[0][key][1] for r in side[s] if r[0][key][1] is not None]
        row.append((m, "%s (%s)" % (txt, "/".join(map(str, ep)))))
    ratio = "%.2f×" % (row[1][0] / row[0][0]) if row[0][0] and row[1][0] else "–"
    rates = ["%.0f" % statistics.median([r[1][model] for r in side[s]]) for s in ("l2h", "torch")]
    print("| %s | %s | %s | %s | %s | %s | %s |" % (model, thr, row[0][1], row[1][1], ratio, *rates))
EOF

#!/usr/bin/env bash
# online_experiments.sh -- the online-hashing protocol of issue 4 (MIHash, Cakir et al. ICCV 2017,
# §4.2) with `l2h stream`: CIFAR-10 features, 32 bits, 1,000 queries, 20,000 stream items from the
# rest (which is also the retrieval set), reservoir 1,000, U = 100, 3 seeded trials, five methods
# under the fixed and the trigger policy.
#
# U = 100: our `updates` counter excludes the initial build of the table, and a check happens every
# U items, so 20,000 items give 200 checks -> 200 fixed-policy recomputations + the initial build
# = 201 table computations, the paper's count. With --items N the script keeps the same ratio
# (U = N / 200) unless --interval is given.
#
# Outputs in --out DIR: runs.csv (one row per run), summary.csv and summary.md (mean ± std over
# trials: updates, bits recomputed, reduction factor, final mAP, area under the mAP curve),
# curves/<data>_<method>_<policy>_s<seed>.csv, fig5_<data>.png (mAP vs items, five methods under
# trigger, first trial) and fig4_<data>_<method>.png (fixed vs trigger with update markers).
#
# Usage: bench/online_experiments.sh [--l2h PATH] [--out DIR] [--data "cifar10-cnn cifar10-gist"]
#          [--methods "okh osh adapthash sketchhash mihash"] [--policies "fixed trigger"]
#          [--trials 3] [--items 20000] [--interval U] [--reservoir 1000] [--bits 32]
#          [--checkpoints 50] [--unsupervised] [--fig4-method mihash] [--dry-run]
# --unsupervised: labels ignored, neighbours by the Euclidean 5th-percentile rule
#   (`--ground-truth euclidean`); osh (needs labels) is skipped.
# Run it with `nice -n 10` on a shared machine; OMP/OpenBLAS threads are set to 1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
L2H=${L2H:-$here/../build/exp/l2h}
OUT=online_results
DATA="cifar10-cnn cifar10-gist"
METHODS="okh osh adapthash sketchhash mihash"
POLICIES="fixed trigger"
TRIALS=3
ITEMS=20000
INTERVAL=
RESERVOIR=1000
BITS=32
CHECKPOINTS=50
NQUERY=1000
SEED0=12345
UNSUP=0
FIG4=mihash
DRY=0
while [ $# -gt 0 ]; do
  case $1 in
    --l2h) L2H=$2; shift 2;;
    --out) OUT=$2; shift 2;;
    --data) DATA=$2; shift 2;;
    --methods) METHODS=$2; shift 2;;
    --policies) POLICIES=$2; shift 2;;
    --trials) TRIALS=$2; shift 2;;
    --items) ITEMS=$2; shift 2;;
    --interval) INTERVAL=$2; shift 2;;
    --reservoir) RESERVOIR=$2; shift 2;;
    --bits) BITS=$2; shift 2;;
    --checkpoints) CHECKPOINTS=$2; shift 2;;
    --n-query) NQUERY=$2; shift 2;;
    --seed) SEED0=$2; shift 2;;
    --unsupervised) UNSUP=1; shift;;
    --fig4-method) FIG4=$2; shift 2;;
    --dry-run) DRY=1; shift;;
    -h|--help) sed -n '2,24p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
[ -n "$INTERVAL" ] || INTERVAL=$(( ITEMS / 200 > 0 ? ITEMS / 200 : 1 ))
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT/curves"
runs=$OUT/runs.csv
[ -f "$runs" ] || echo "data,gt,method,policy,seed,items,interval,reservoir,bits,checks,updates,bits_recomputed,map_final,map_auc,seconds" > "$runs"
gtopt=(); gtname=labels
if [ "$UNSUP" = 1 ]; then gtopt=(--ground-truth euclidean); gtname=euclidean; fi

for data in $DATA; do
  for t in $(seq 0 $((TRIALS - 1))); do
    seed=$((SEED0 + t))
    for m in $METHODS; do
      if [ "$UNSUP" = 1 ] && [ "$m" = osh ]; then continue; fi
      for p in $POLICIES; do
        curve=$OUT/curves/${data}_${gtname}_${m}_${p}_s${seed}.csv
        cmd=("$L2H" stream --data "$data" --split random --n-query "$NQUERY" --seed "$seed"
             --method "$m" --policy "$p" --bits "$BITS" --reservoir "$RESERVOIR"
             --interval "$INTERVAL" --items "$ITEMS" --checkpoints "$CHECKPOINTS"
             "${gtopt[@]}" --curve "$curve" --json)
        echo "+ ${cmd[*]}" >&2
        [ "$DRY" = 1 ] && continue
        if grep -q "^$data,$gtname,$m,$p,$seed,$ITEMS,$INTERVAL,$RESERVOIR,$BITS," "$runs"; then
          echo "  (already in $runs)" >&2; continue
        fi
        j=$("${cmd[@]}" 2>/dev/null)
        python3 - "$j" "$data" "$gtname" "$seed" "$INTERVAL" "$RESERVOIR" >> "$runs" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); d, gt, seed, u, r = sys.argv[2:7]
print(",".join(str(x) for x in [d, gt, j["method"], j["policy"], seed, j["items"], u, r, j["bits"],
      j["checks"], j["updates"], j["bits_recomputed"], j["map_final"], j["map_auc"], j["seconds"]]))
PY
        tail -1 "$runs" >&2
      done
    done
  done
done
[ "$DRY" = 1 ] && exit 0

# ---- summary: mean ± std over trials, reduction factor fixed/trigger ----
python3 - "$runs" "$OUT" <<'PY'
import csv, statistics as st, sys, collections
rows = list(csv.DictReader(open(sys.argv[1]))); out = sys.argv[2]
g = collections.defaultdict(list)
for r in rows:
    g[(r["data"], r["gt"], r["items"], r["interval"], r["reservoir"], r["bits"], r["method"], r["policy"])].append(r)
def ms(v):
    return (st.mean(v), st.stdev(v) if len(v) > 1 else 0.0)
keys = sorted({k[:7] for k in g})
order = {m: i for i, m in enumerate("okh osh adapthash sketchhash mihash".split())}
keys.sort(key=lambda k: (k[:6], order.get(k[6], 9)))
with open(out + "/summary.csv", "w") as fc, open(out + "/summary.md", "w") as fm:
    fc.write("data,gt,items,interval,reservoir,bits,method,trials,updates_fixed,updates_trigger,"
             "bits_fixed,bits_trigger,reduction,map_final_fixed,map_final_fixed_sd,map_final_trigger,"
             "map_final_trigger_sd,auc_fixed,auc_fixed_sd,auc_trigger,auc_trigger_sd\n")
    fm.write("| data | ground truth | items | U | method | trials | updates fixed | updates trigger | "
             "bits recomputed fixed | bits recomputed trigger | reduction | mAP final fixed | "
             "mAP final trigger | mAP AUC fixed | mAP AUC trigger |\n|" + "---|" * 15 + "\n")
    for k in keys:
        f, t = g.get(k + ("fixed",), []), g.get(k + ("trigger",), [])
        def col(rs, c):
            return ms([float(r[c]) for r in rs]) if rs else (float("nan"), 0.0)
        uf, ut = col(f, "updates"), col(t, "updates")
        bf, bt = col(f, "bits_recomputed"), col(t, "bits_recomputed")
        red = bf[0] / bt[0] if bt[0] > 0 else float("inf")
        mf, mt = col(f, "map_final"), col(t, "map_final")
        af, at = col(f, "map_auc"), col(t, "map_auc")
        n = max(len(f), len(t))
        fc.write(",".join(str(x) for x in list(k) + [n, uf[0], ut[0], bf[0], bt[0], red, mf[0], mf[1],
                 mt[0], mt[1], af[0], af[1], at[0], at[1]]) + "\n")
        pm = lambda x: "%.3f ± %.3f" % x if n > 1 else "%.3f" % x[0]
        pu = lambda x: "%.1f ± %.1f" % x if n > 1 else "%.0f" % x[0]
        fm.write("| %s | %s | %s | %s | %s | %d | %s | %s | %.3g | %.3g | %s | %s | %s | %s | %s |\n" % (
            k[0], k[1], k[2], k[3], k[6], n, pu(uf), pu(ut), bf[0], bt[0],
            ("%.1f×" % red) if red != float("inf") else "∞", pm(mf), pm(mt), pm(af), pm(at)))
print(open(out + "/summary.md").read())
PY

# ---- plots (first trial): Figure 5 (five methods, trigger) and Figure 4 (fixed vs trigger) ----
seed=$SEED0
for data in $DATA; do
  plot=""
  for m in $METHODS; do
    c=$OUT/curves/${data}_${gtname}_${m}_trigger_s${seed}.csv
    [ -f "$c" ] && plot="$plot${plot:+, }'$c' every ::1 using 1:2 with linespoints lw 2 pt 7 ps 0.5 title '$m'"
  done
  if [ -n "$plot" ]; then
    gnuplot <<GP || echo "gnuplot failed" >&2
set terminal pngcairo size 1000,600
set output '$OUT/fig5_${data}_${gtname}.png'
set datafile separator ','
set key outside right top; set grid
set title 'mAP vs stream items, trigger update, $BITS bits, $data ($gtname), R=$RESERVOIR, U=$INTERVAL'
set xlabel 'stream items seen'; set ylabel 'mAP'
plot $plot
GP
  fi
  cf=$OUT/curves/${data}_${gtname}_${FIG4}_fixed_s${seed}.csv
  ct=$OUT/curves/${data}_${gtname}_${FIG4}_trigger_s${seed}.csv
  if [ -f "$cf" ] && [ -f "$ct" ]; then
    gnuplot <<GP || echo "gnuplot failed" >&2
set terminal pngcairo size 900,600
set output '$OUT/fig4_${data}_${gtname}_${FIG4}.png'
set datafile separator ','
set key bottom right; set grid
set title '$FIG4 on $data ($gtname): fixed interval vs trigger update (markers: table updated)'
set xlabel 'stream items seen'; set ylabel 'mAP'
plot '$cf' every ::1 using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'fixed (U=$INTERVAL)', \
     '' every ::1 using 1:(\$4 > 0 ? \$2 : 1/0) with points pt 7 ps 0.8 lc rgb '#1f77b4' notitle, \
     '$ct' every ::1 using 1:2 with lines lw 2 lc rgb '#d62728' title 'trigger (θ=0)', \
     '' every ::1 using 1:(\$4 > 0 ? \$2 : 1/0) with points pt 9 ps 1.2 lc rgb '#d62728' title 'trigger: table updated'
GP
  fi
done
ls "$OUT"

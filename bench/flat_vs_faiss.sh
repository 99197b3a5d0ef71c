#!/bin/sh
# flat_vs_faiss.sh -- exhaustive Hamming k-NN, l2h flat index vs FAISS IndexBinaryFlat, on the
# identical bytes, in one run. FAISS (faiss_binary.py --dump) generates the codes and writes them
# to WORK/data; bench_flat then reads those files. Both do one warm-up and REPEAT timed runs and
# report the median; "checksum" compares the sums of all returned distances (must be equal for
# two exact searches). Prints a markdown table; raw JSON lines stay in WORK/*.jsonl.
#
# usage: bench/flat_vs_faiss.sh [BENCH_FLAT] [WORK]
#   BENCH_FLAT  path of the bench_flat binary      (default build/index/bench/bench_flat)
#   WORK        scratch folder, ~50 MB              (default ${TMPDIR:-/tmp}/l2h_flat_vs_faiss)
# environment (defaults): NB="100000 1000000" BITS="64 256" THREADS="1 2" NQ=1000 K=100
#   REPEAT=5 WAIT_IDLE=0 (seconds to wait for an idle machine before each timing)
#   FAISS_BENCH=/work/shared/bench/faiss_binary.py PYTHON=/usr/bin/python3 (Debian's faiss)
set -eu

BENCH=${1:-build/index/bench/bench_flat}
WORK=${2:-${TMPDIR:-/tmp}/l2h_flat_vs_faiss}
NB=${NB:-"100000 1000000"}
BITS=${BITS:-"64 256"}
THREADS=${THREADS:-"1 2"}
NQ=${NQ:-1000}
K=${K:-100}
REPEAT=${REPEAT:-5}
WAIT_IDLE=${WAIT_IDLE:-0}
FAISS_BENCH=${FAISS_BENCH:-/work/shared/bench/faiss_binary.py}
PYTHON=${PYTHON:-/usr/bin/python3}

[ -x "$BENCH" ] || { echo "flat_vs_faiss.sh: no bench_flat at $BENCH (build target bench_flat)" >&2; exit 2; }
[ -f "$FAISS_BENCH" ] || { echo "flat_vs_faiss.sh: no FAISS benchmark at $FAISS_BENCH" >&2; exit 2; }

mkdir -p "$WORK/data"
: > "$WORK/faiss.jsonl"
: > "$WORK/l2h.jsonl"
threads_csv=$(echo "$THREADS" | tr ' ' ',')

for bits in $BITS; do
    for nb in $NB; do
        echo "# nb=$nb bits=$bits: FAISS" >&2
        "$PYTHON" "$FAISS_BENCH" --nb "$nb" --bits "$bits" --nq "$NQ" --k "$K" \
            --threads "$threads_csv" --repeat "$REPEAT" --modes flat --wait-idle "$WAIT_IDLE" \
            --dump "$WORK/data" >> "$WORK/faiss.jsonl"
        for th in $THREADS; do
            echo "# nb=$nb bits=$bits threads=$th: l2h" >&2
            "$BENCH" --db "$WORK/data/db_${bits}b_${nb}.u8" \
                --queries "$WORK/data/q_${bits}b_${nb}_random.u8" --bits "$bits" --nq "$NQ" \
                --k "$K" --threads "$th" --repeat "$REPEAT" --wait-idle "$WAIT_IDLE" \
                >> "$WORK/l2h.jsonl"
        done
        rm -f "$WORK/data/db_${bits}b_${nb}.u8" "$WORK/data/q_${bits}b_${nb}_"*.u8
    done
done

"$PYTHON" - "$WORK" <<'EOF'
import json, sys, os
work = sys.argv[1]
def load(name):
    rows = {}
    with open(os.path.join(work, name)) as f:
        for line in f:
            r = json.loads(line)
            rows[(r["bits"], r["nb"], r["threads"])] = r
    return rows
ours, faiss = load("l2h.jsonl"), load("faiss.jsonl")
kernel = next(iter(ours.values()))["kernel"] if ours else "?"
fv = next(iter(faiss.values())).get("faiss_version", "?") if faiss else "?"
print(f"l2h kernel: {kernel}; FAISS {fv} (IndexBinaryFlat, heap top-k); "
      f"k = {next(iter(ours.values()))['k'] if ours else '?'}, "
      f"{next(iter(ours.values()))['nq'] if ours else '?'} queries; medians of "
      f"{next(iter(ours.values()))['repeat'] if ours else '?'} runs\n")
print("| codes | bits | threads | l2h q/s | FAISS q/s | l2h / FAISS | l2h G dist/s "
      "| checksum equal | foreign CPU (l2h / FAISS) |")
print("|---|---|---|---|---|---|---|---|---|")
for key in sorted(ours, key=lambda k: (k[1], k[0], k[2])):
    o = ours[key]
    f = faiss.get(key)
    fq = f"{f['qps']:,.0f}" if f else "-"
    ratio = f"{o['qps'] / f['qps']:.1f}x" if f else "-"
    same = ("yes" if f["dist_checksum"] == o["dist_checksum"] else
            f"NO ({o['dist_checksum']} vs {f['dist_checksum']})") if f else "-"
    ff = f"{f['foreign_cpu_frac']:.2f}" if f and f.get("foreign_cpu_frac") is not None else "-"
    print(f"| {key[1]:,} | {key[0]} | {key[2]} | {o['qps']:,.0f} | {fq} | {ratio} "
          f"| {o['distances_per_s'] / 1e9:.2f} | {same} | {o['foreign_cpu_frac']:.2f} / {ff} |")
EOF

#!/bin/sh
# flat_vs_faiss.sh -- exhaustive Hamming k-NN, l2h flat index vs FAISS IndexBinaryFlat, on the
# identical bytes, in one run. FAISS (faiss_binary.py --dump) generates the codes and writes them
# to WORK/data; bench_flat then reads those files. Both do one warm-up and REPEAT timed runs and
# report the median; "checksum" compares the sums of all returned distances (must be equal for
# two exact searches). The whole comparison is done RUNS times; the table gives, per row, the
# median over the runs in which neither side saw more than 10 % foreign CPU load (all runs,
# marked "!", if none was clean) and the range of our rates. Raw JSON lines stay in WORK/run*/.
#
# usage: bench/flat_vs_faiss.sh [BENCH_FLAT] [WORK]
#   BENCH_FLAT  path of the bench_flat binary      (default build/index/bench/bench_flat)
#   WORK        scratch folder, ~50 MB              (default ${TMPDIR:-/tmp}/l2h_flat_vs_faiss)
# environment (defaults): NB="100000 1000000" BITS="64 256" THREADS="1 2" NQ=1000 K=100
#   REPEAT=5 RUNS=1 WAIT_IDLE=0 (seconds to wait for an idle machine before each timing)
#   FAISS_BENCH=<checkout>/../shared/bench/faiss_binary.py PYTHON=/usr/bin/python3 (Debian's faiss)
set -eu

BENCH=${1:-build/index/bench/bench_flat}
WORK=${2:-${TMPDIR:-/tmp}/l2h_flat_vs_faiss}
NB=${NB:-"100000 1000000"}
BITS=${BITS:-"64 256"}
THREADS=${THREADS:-"1 2"}
NQ=${NQ:-1000}
K=${K:-100}
REPEAT=${REPEAT:-5}
RUNS=${RUNS:-1}
WAIT_IDLE=${WAIT_IDLE:-0}
FAISS_BENCH=${FAISS_BENCH:-$(dirname "$0")/../../shared/bench/faiss_binary.py}
PYTHON=${PYTHON:-/usr/bin/python3}

[ -x "$BENCH" ] || { echo "flat_vs_faiss.sh: no bench_flat at $BENCH (build target bench_flat)" >&2; exit 2; }
[ -f "$FAISS_BENCH" ] || { echo "flat_vs_faiss.sh: no FAISS benchmark at $FAISS_BENCH" >&2; exit 2; }

threads_csv=$(echo "$THREADS" | tr ' ' ',')
mkdir -p "$WORK"
rm -rf "$WORK"/run*
run=1
while [ "$run" -le "$RUNS" ]; do
    R="$WORK/run$run"
    mkdir -p "$R" "$WORK/data"
    : > "$R/faiss.jsonl"
    : > "$R/l2h.jsonl"
    for bits in $BITS; do
        for nb in $NB; do
            echo "# run $run: nb=$nb bits=$bits: FAISS" >&2
            "$PYTHON" "$FAISS_BENCH" --nb "$nb" --bits "$bits" --nq "$NQ" --k "$K" \
                --threads "$threads_csv" --repeat "$REPEAT" --modes flat \
                --wait-idle "$WAIT_IDLE" --dump "$WORK/data" >> "$R/faiss.jsonl"
            for th in $THREADS; do
                echo "# run $run: nb=$nb bits=$bits threads=$th: l2h" >&2
                "$BENCH" --db "$WORK/data/db_${bits}b_${nb}.u8" \
                    --queries "$WORK/data/q_${bits}b_${nb}_random.u8" --bits "$bits" \
                    --nq "$NQ" --k "$K" --threads "$th" --repeat "$REPEAT" \
                    --wait-idle "$WAIT_IDLE" >> "$R/l2h.jsonl"
            done
            rm -f "$WORK/data/db_${bits}b_${nb}.u8" "$WORK/data/q_${bits}b_${nb}_"*.u8
        done
    done
    run=$((run + 1))
done

"$PYTHON" - "$WORK" <<'EOF'
import glob, json, os, statistics, sys
work = sys.argv[1]
rows, meta = {}, {}
for rdir in sorted(glob.glob(os.path.join(work, "run*"))):
    def load(name):
        out = {}
        with open(os.path.join(rdir, name)) as f:
            for line in f:
                r = json.loads(line)
                out[(r["bits"], r["nb"], r["threads"])] = r
        return out
    ours, faiss = load("l2h.jsonl"), load("faiss.jsonl")
    for key, o in ours.items():
        f = faiss.get(key)
        if not f:
            continue
        meta = {"kernel": o["kernel"], "k": o["k"], "nq": o["nq"], "repeat": o["repeat"],
                "faiss": f.get("faiss_version", "?")}
        clean = o["foreign_cpu_frac"] < 0.1 and (f.get("foreign_cpu_frac") or 0) < 0.1
        rows.setdefault(key, []).append((o["qps"], f["qps"], clean,
                                         o["dist_checksum"] == f["dist_checksum"]))
if not rows:
    sys.exit("no results")
print(f"l2h kernel: {meta['kernel']}; FAISS {meta['faiss']} (IndexBinaryFlat, heap top-k); "
      f"k = {meta['k']}, {meta['nq']} queries; each run = median of {meta['repeat']} timings\n")
print("| codes | bits | threads | l2h q/s | FAISS q/s | l2h / FAISS | l2h G dist/s "
      "| l2h q/s range | checksum equal | clean runs |")
print("|---|---|---|---|---|---|---|---|---|---|")
for key in sorted(rows, key=lambda k: (k[1], k[0], k[2])):
    runs = rows[key]
    use = [r for r in runs if r[2]] or runs
    mark = "" if any(r[2] for r in runs) else " !"
    oq = statistics.median(r[0] for r in use)
    fq = statistics.median(r[1] for r in use)
    same = "yes" if all(r[3] for r in runs) else "NO"
    print(f"| {key[1]:,} | {key[0]} | {key[2]} | {oq:,.0f}{mark} | {fq:,.0f}{mark} "
          f"| {oq / fq:.1f}x | {oq * key[1] / 1e9:.2f} "
          f"| {min(r[0] for r in use):,.0f} - {max(r[0] for r in use):,.0f} "
          f"| {same} ({len(runs)} runs) | {sum(r[2] for r in runs)} of {len(runs)} |")
EOF

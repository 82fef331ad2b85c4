#!/usr/bin/env bash
# Regenerates every shipped universal codebook (fib, scalar, tcq) in codebooks/ and its index
# codebooks/README.md. Each codebook depends only on (d, k, N) and the construction
# defaults of fq-train, never on a model. Usage: scripts/make-codebooks.sh [BUILD_DIR] [FILTER]
# FILTER is an optional grep pattern on the output names (e.g. 'd64/fib-k2'). DIMS (env)
# lists the head dimensions (default: every shipped one, 32 64 80 96 128 256).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
filter=${2:-.}
train="$build/apps/fq-train"
cd "$root"
timings=codebooks/timings.tsv
[ -f "$timings" ] || printf 'file\tseconds\n' > "$timings"

run() {  # run OUT ARGS...: train one codebook, record its wall time
    local out=$1; shift
    echo "$out" | grep -q -- "$filter" || return 0
    local start end
    start=$(date +%s.%N)
    "$train" "$@" -o "$out" --force -q > /dev/null
    end=$(date +%s.%N)
    local secs
    secs=$(python3 -c "print(f'{$end - $start:.1f}')")
    grep -v "^$out	" "$timings" > "$timings.tmp" || true
    printf '%s\t%s\n' "$out" "$secs" >> "$timings.tmp"
    mv "$timings.tmp" "$timings"
    echo "$out: ${secs}s" >&2
}

for d in ${DIMS:-128 64 32 80 96 256}; do
    mkdir -p codebooks/d$d
    for b in 1 2 3 4; do
        run codebooks/d$d/scalar-b$b.json scalar --d $d --bits $b
    done
    for kn in 2:4 2:16 2:64 2:256 3:64 3:512 4:16 4:256 8:16 8:256 16:256 32:256; do
        k=${kn%:*}; N=${kn#*:}
        [ "$k" -lt "$d" ] || continue  # a block is shorter than the vector
        # N >= 256: 2 restarts instead of the default 8 keeps the whole ladder to about half
        # an hour on 2 cores; at this size restarts differ by < 0.3% (see codebooks/README.md).
        extra=()
        [ "$N" -ge 256 ] && extra=(--restarts 2)
        run codebooks/d$d/fib-k$k-N$N.json fib --d $d --k $k --N $N "${extra[@]}"
    done
done
# Large-N fib entries (issue 14), d = 64 and 128: k = 4 N = 4096 (3 bits) and k = 8 N = 4096
# (1.5 bits), one restart (4-17 minutes each on 2 cores, exhaustive search in the fused
# kernel). Never the default for a rate (CodebookStore::k_max_default_N): ask for them by name
# and encode with the tree search, e.g. fib:k=4,N=4096,search=tree.
for d in ${LARGE_N_DIMS:-128 64}; do
    for k in 4 8; do
        run codebooks/d$d/fib-k$k-N4096.json fib --d $d --k $k --N 4096 --restarts 1
    done
done
# tcq (issue 11): L = 12 at 0.5, 1, 1.5, 2, 3, 4 bits per coordinate (K:V), every shipped d.
for d in ${TCQ_DIMS:-64 128 32 80 96 256}; do
    for kv in 1:2 1:1 3:2 2:1 3:1 4:1; do
        K=${kv%:*}; V=${kv#*:}
        run codebooks/d$d/tcq-L12-K$K-V$V.json tcq --d $d --L 12 --K $K --V $V
    done
done
# tcq L = 16 near-limit entries at 1 and 2 bits, d = 128: 64 steps per state and 4 Lloyd
# iterations (the random Gaussian table is already within 0.43 dB; 5-6 minutes each). Not
# shipped for d = 64: there L = 16 gave 0.66 dB at 2 bits against L = 12's 0.70 (the two-pass
# tail-biting search on a 64-step tape loses what the larger trellis gains), at 16x the cost.
for d in ${TCQ16_DIMS:-128}; do
    for K in 2 1; do
        run codebooks/d$d/tcq-L16-K$K-V1.json tcq --d $d --L 16 --K $K --V 1 \
            --train-vectors $((256 * 65536 / 4 / d)) --max-iter 4
    done
done
python3 scripts/codebook_index.py > codebooks/README.md

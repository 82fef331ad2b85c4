#!/usr/bin/env bash
# Any head dimension: dumps with d = 32, 80, 96, 256 encode with --rate 2 from the shipped
# ladder, and d = 8 (data/sample_kv.h5, no shipped codebook) with a fib codebook trained on
# the fly: one note on stderr, cached, byte-identical to what fq-train writes, reused by the
# next run (no note), and decoded. --no-train refuses instead.
# Usage: encode_any_d.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1"
root="$2"
export FQ_CACHE_DIR="$tmp/cache"
for d in 32 80 96 256; do
    run "$py" "$root/scripts/write_kv_dump.py" --synthetic -o "$tmp/d$d.h5" --tokens 24 \
        --head-dim $d --layers 1 --seed $d
    run "$bin/fq-encode" -i "$tmp/d$d.h5" -o "$tmp/d$d.fq.h5" --rate 2
    grep -q "fib k=4 N=256" "$tmp/out" || fail "d = $d: not the 2-bit fib codebook: $(cat "$tmp/out")"
    grep -q "trained" "$tmp/err" && fail "d = $d trained although shipped: $(cat "$tmp/err")"
    run "$bin/fq-decode" -i "$tmp/d$d.fq.h5" -o "$tmp/d$d.dec.h5"
done
[ -e "$tmp/cache" ] && fail "a shipped dimension wrote to the cache"

run "$bin/fq-encode" -i "$root/data/sample_kv.h5" -o "$tmp/d8.fq.h5" --rate 2
[ "$(grep -c "trained fib d=8 k=4 N=256" "$tmp/err")" -eq 1 ] || fail "no training note: $(cat "$tmp/err")"
cached="$tmp/cache/codebooks/d8/fib-k4-N256.json"
[ -f "$cached" ] || fail "nothing cached"
run "$bin/fq-train" fib --d 8 --k 4 --N 256 --restarts 2 -o "$tmp/ref.json" -q
cmp -s "$cached" "$tmp/ref.json" || fail "the trained codebook differs from fq-train's"
run "$bin/fq-encode" -i "$root/data/sample_kv.h5" -o "$tmp/d8b.fq.h5" --rate 2 -j 1
grep -q "trained" "$tmp/err" && fail "the cached codebook was trained again"
cmp -s "$tmp/d8.fq.h5" "$tmp/d8b.fq.h5" || fail "containers differ between the two runs"
run "$bin/fq-decode" -i "$tmp/d8.fq.h5" -o "$tmp/d8.dec.h5"
rm -rf "$tmp/cache"
expect_error "$bin/fq-encode" 1 -i "$root/data/sample_kv.h5" -o "$tmp/d8c.fq.h5" --no-train
[ -e "$tmp/d8c.fq.h5" ] && fail "a refused run left an output"
echo ok

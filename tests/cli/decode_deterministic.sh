#!/usr/bin/env bash
# Determinism of fq-decode: the same container decoded with -j 1 and, a second later, with
# -j 2 gives byte-identical KV dumps (no HDF5 object times, no thread-count dependence), in
# float32 and float16; and decoding is idempotent on the output name (--force).
# Usage: decode_deterministic.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1"
root="$2"
sample="$root/data/sample_kv_d64.h5"

# The default codec at rate 2 needs a shipped codebook (codebooks/d64); scalar b = 2 needs
# no file and is the fallback when that codebook is not there.
if ! "$bin/fq-encode" -i "$sample" -o "$tmp/a.fq.h5" --rate 2 -q >"$tmp/out" 2>"$tmp/err"; then
    grep -qi "codebook" "$tmp/err" || fail "fq-encode --rate 2: $(cat "$tmp/err")"
    rm -f "$tmp/a.fq.h5"
    run "$bin/fq-encode" -i "$sample" -o "$tmp/a.fq.h5" --k-codec scalar:bits=2 \
        --v-codec scalar:bits=2 -q
fi

for dtype in float32 float16; do
    run "$bin/fq-decode" -i "$tmp/a.fq.h5" -o "$tmp/j1_$dtype.h5" --dtype "$dtype" -j 1 -q
    sleep 1.1  # HDF5 times have a resolution of one second
    run "$bin/fq-decode" -i "$tmp/a.fq.h5" -o "$tmp/j2_$dtype.h5" --dtype "$dtype" -j 2 -q
    [ -s "$tmp/j1_$dtype.h5" ] || fail "$dtype: empty output"
    cmp "$tmp/j1_$dtype.h5" "$tmp/j2_$dtype.h5" >"$tmp/cmp" 2>&1 ||
        fail "$dtype: fq-decode -j 1 and -j 2 outputs differ: $(cat "$tmp/cmp")"
done

# Overwriting the output in place gives the same bytes again.
run "$bin/fq-decode" -i "$tmp/a.fq.h5" -o "$tmp/j2_float32.h5" -j 2 -q --force
cmp -s "$tmp/j1_float32.h5" "$tmp/j2_float32.h5" || fail "fq-decode --force: output differs"
echo "ok"

#!/usr/bin/env bash
# Regenerating shipped codebooks with the exact commands of codebooks/README.md reproduces
# them byte for byte (one small fib codebook per d, and a scalar one).
# Usage: codebooks_regenerate.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1/fq-train"
root="$2"
check() {  # check SHIPPED ARGS...: train with ARGS into tmp and compare bytes
    local shipped="$root/codebooks/$1"; shift
    [ -f "$shipped" ] || fail "missing $shipped"
    grep -qF -- "fq-train $* -o codebooks/$(realpath --relative-to="$root/codebooks" "$shipped")" \
        "$root/codebooks/README.md" || fail "codebooks/README.md does not give the command for $shipped"
    "$bin" "$@" -o "$tmp/out.json" -q >/dev/null || fail "fq-train $* failed"
    cmp -s "$tmp/out.json" "$shipped" || fail "fq-train $* does not reproduce $shipped"
    rm -f "$tmp/out.json"
}
check d64/fib-k2-N4.json fib --d 64 --k 2 --N 4
check d128/fib-k2-N4.json fib --d 128 --k 2 --N 4
check d64/scalar-b3.json scalar --d 64 --bits 3
check d256/fib-k2-N4.json fib --d 256 --k 2 --N 4
check d80/fib-k2-N16.json fib --d 80 --k 2 --N 16
echo "codebooks regenerate: ok"

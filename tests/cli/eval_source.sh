#!/usr/bin/env bash
# fq-eval source: scalar b = 1..4 on fresh spherical-Beta samples at d = 64 reproduce the
# exact Lloyd-Max distortions (SPEC 4.1: b = 2 -> 0.11453) within 1%; the table, CSV, JSON
# and plot (a PNG) are written; shipped fib codebooks are evaluated when present.
# Usage: eval_source.sh APP_DIR REPO_ROOT
set -u
bin="$1/fq-eval"
root="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# An empty codebook directory: only the scalar rows (computed exactly here), fast.
mkdir -p "$tmp/cb/d64"
"$bin" source --d 64 --codebooks "$tmp/cb" --samples 262144 --seed 3 --csv "$tmp/s.csv" \
    --json "$tmp/s.json" --plot "$tmp/s.png" >"$tmp/out" 2>"$tmp/err" ||
    fail "source exited $?: $(cat "$tmp/err")"
grep -q "scalar-b2" "$tmp/out" || fail "table lacks scalar-b2: $(cat "$tmp/out")"
grep -q "dB above" "$tmp/out" || fail "table lacks dB above"
head -1 "$tmp/s.csv" | grep -qx "codebook,family,d,k,N,tail_k,tail_N,bits,total_mse,total_mse_se,shannon_bound,db_above_shannon,file_total_mse,path" ||
    fail "CSV header: $(head -1 "$tmp/s.csv")"
python3 - "$tmp/s.json" <<'PY' || fail "source values"
import json, math, sys
doc = json.load(open(sys.argv[1]))
rows = {r["codebook"]: r for r in doc["rows"]}
assert sorted(rows) == ["scalar-b1", "scalar-b2", "scalar-b3", "scalar-b4"], sorted(rows)
exact = {"scalar-b1": 0.35839, "scalar-b2": 0.11453, "scalar-b3": 0.033391, "scalar-b4": 0.0091315}
for name, want in exact.items():
    r = rows[name]
    if name == "scalar-b2":  # relative standard error about 0.45% at 262144 samples
        assert abs(r["total_mse"] - want) < 0.01 * want, (name, r["total_mse"], want)
    assert r["total_mse_se"] > 0 and abs(r["total_mse"] - want) < 4 * r["total_mse_se"], r
    assert abs(r["file_total_mse"] - want) < 1e-4 * want, r  # closed form
    assert abs(r["shannon_bound"] - 4 ** -r["bits"]) < 1e-15
    assert abs(r["db_above_shannon"] - 10 * math.log10(r["total_mse"] / r["shannon_bound"])) < 1e-9
PY
head -c 8 "$tmp/s.png" | od -An -tx1 | tr -d ' \n' | grep -qx "89504e470d0a1a0a" || fail "plot is not a PNG"

# The shipped d = 64 codebooks, if any fib ones exist: fib k = 2 beats scalar at 2 bits.
if ls "$root"/codebooks/d64/fib-k2-N16.json >/dev/null 2>&1; then
    mkdir -p "$tmp/cb2/d64"
    cp "$root"/codebooks/d64/fib-k2-N16.json "$tmp/cb2/d64/"
    "$bin" source --d 64 --codebooks "$tmp/cb2" --samples 65536 --json "$tmp/f.json" -q >/dev/null ||
        fail "source with fib exited $?"
    python3 - "$tmp/f.json" <<'PY' || fail "fib row"
import json, sys
rows = {r["codebook"]: r for r in json.load(open(sys.argv[1]))["rows"]}
f, s = rows["fib-k2-N16"], rows["scalar-b2"]
assert f["bits"] == 2 and f["total_mse"] < s["total_mse"], (f, s)
assert abs(f["total_mse"] - f["file_total_mse"]) < 0.02 * f["file_total_mse"], f
PY
fi
echo "eval_source: ok"

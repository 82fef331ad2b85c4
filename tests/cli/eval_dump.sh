#!/usr/bin/env bash
# fq-eval of a dump: a lossless copy is refused (exit 3) unless --allow-lossless, and then
# KL = 0 and every cosine = 1; a scalar b = 2 round trip through fq-encode / fq-decode gives
# finite metrics with KL > 0, the same with -d (decoded dump) and -c (compressed file),
# nominal = achieved rate; CSV columns as documented; --positions / --last; the no-query
# fallback is announced on stderr and in the JSON.
# Usage: eval_dump.sh APP_DIR REPO_ROOT
set -u
apps="$1"
root="$2"
bin="$apps/fq-eval"
sample="$root/data/sample_kv_d64.h5"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_error() {  # expect_error CODE ARGS...: that exit code and one stderr line
    local want=$1
    shift
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "fq-eval $* exited $rc, expected $want: $(cat "$tmp/err")"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "fq-eval $*: stderr is not one line: $(cat "$tmp/err")"
    grep -q "^fq-eval: error: " "$tmp/err" || fail "fq-eval $*: stderr: $(cat "$tmp/err")"
    [ -s "$tmp/out" ] && fail "fq-eval $*: refused run wrote to stdout"
    return 0
}

# 1. A lossless "decoded" copy: refused, then presented with --allow-lossless.
cp "$sample" "$tmp/copy.h5"
expect_error 3 -i "$sample" -d "$tmp/copy.h5"
grep -q "distortion is exactly zero" "$tmp/err" || fail "refusal message: $(cat "$tmp/err")"
grep -q -- "--allow-lossless" "$tmp/err" || fail "refusal does not name --allow-lossless"
"$bin" -i "$sample" -d "$tmp/copy.h5" --allow-lossless --json "$tmp/lossless.json" \
    >"$tmp/out" 2>"$tmp/err" || fail "--allow-lossless exited $?: $(cat "$tmp/err")"
grep -q "allow-lossless" "$tmp/err" || fail "no warning for --allow-lossless"
grep -q "attention-output cosine" "$tmp/out" || fail "table lacks attention-output cosine"
python3 - "$tmp/lossless.json" <<'PY' || fail "lossless metrics"
import json, sys
doc = json.load(open(sys.argv[1]))
rows = {r["tensor"]: r for r in doc["rows"] if r["layer"] == "all"}
a, k, v = rows["attn"], rows["k"], rows["v"]
assert a["kl"] == 0 and a["top1"] == 1 and a["top5"] == 1, a
for c in ("score_cos", "prob_cos", "out_cos", "out_cos_min"):
    assert abs(a[c] - 1) < 1e-12, (c, a[c])
for r in (k, v):
    assert r["mse"] == 0 and abs(r["cos_min"] - 1) < 1e-12, r
assert doc["queries"]["source"] == "dump"
assert doc["warnings"], "warning not recorded"
assert a["queries"] == 5 * 4 * 512, a["queries"]
PY

# 2. A real round trip at 2 bits (scalar b = 2, float16 norm header: 2.25 bits/coordinate).
enc="$apps/fq-encode"
dec="$apps/fq-decode"
"$enc" -i "$sample" -o "$tmp/s.fq.h5" --k-codec scalar:bits=2 --v-codec scalar:bits=2 -q ||
    fail "fq-encode exited $?"
"$dec" -i "$tmp/s.fq.h5" -o "$tmp/s.dec.h5" -q || fail "fq-decode exited $?"
"$bin" -i "$sample" -d "$tmp/s.dec.h5" --json "$tmp/d.json" --csv "$tmp/d.csv" >"$tmp/out" 2>"$tmp/err" ||
    fail "-d exited $?: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && fail "stderr not empty: $(cat "$tmp/err")"
"$bin" -i "$sample" -c "$tmp/s.fq.h5" --json "$tmp/c.json" >"$tmp/out" 2>"$tmp/err" ||
    fail "-c exited $?: $(cat "$tmp/err")"
grep -q "2.25 nominal / 2.25 achieved" "$tmp/out" || fail "rate line: $(head -1 "$tmp/out")"
grep -q "bytes on disk" "$tmp/out" || fail "no bytes on disk"
python3 - "$tmp/d.json" "$tmp/c.json" <<'PY' || fail "round-trip metrics"
import json, math, sys
d = json.load(open(sys.argv[1]))
c = json.load(open(sys.argv[2]))
def overall(doc):
    return {r["tensor"]: r for r in doc["rows"] if r["layer"] == "all"}
rd, rc = overall(d), overall(c)
a = rc["attn"]
assert 0 < a["kl"] < 1 and a["kl_se"] > 0, a["kl"]
assert 0.8 < a["out_cos"] < 0.999 and a["out_cos_se"] > 0, a["out_cos"]
assert a["prob_cos"] < a["score_cos"], (a["prob_cos"], a["score_cos"])
for t in ("k", "v"):
    r = rc[t]
    # scalar b = 2 on real data: normalised MSE near the source value 0.1145
    assert 0.09 < r["nmse"] < 0.14, (t, r["nmse"])
    assert r["nominal_bits"] == 2.25 and r["achieved_bits"] == 2.25, r
    assert abs(r["compression_ratio"] - 16 / 2.25) < 1e-12
    assert math.isfinite(r["ip_rmse"]) if t == "k" else r["ip_rmse"] is None
# -d and -c decode the same vectors: identical metrics
for t in ("k", "v", "attn"):
    for col in ("mse", "kl", "out_cos"):
        assert rd[t][col] == rc[t][col], (t, col, rd[t][col], rc[t][col])
assert rd["k"]["nominal_bits"] is None  # a decoded dump carries no rate
assert c["rate"]["bytes_on_disk"] > 0 and c["rate"]["k"]["bytes_coded"] == 5 * 2 * 512 * 18
# rows: 3 overall + 3 per layer x 5 + (2 K + 2 V + 4 attn) per layer x 5
assert len(c["rows"]) == 3 + 15 + 40, len(c["rows"])
PY
head -1 "$tmp/d.csv" | grep -qx "codec,family,tensor,layer,head,vectors,queries,nominal_bits,achieved_bits,compression_ratio,bytes_coded,bytes_raw_f16,mse,mse_se,nmse,nmse_se,db_above_shannon,cos_mean,cos_se,cos_p5,cos_min,ip_bias,ip_bias_se,ip_rmse,ip_rmse_se,kl,kl_se,top1,top1_se,top5,top5_se,score_cos,score_cos_se,prob_cos,prob_cos_se,out_cos,out_cos_se,out_cos_p5,out_cos_min" ||
    fail "CSV header: $(head -1 "$tmp/d.csv")"
[ "$(wc -l <"$tmp/d.csv")" -eq 59 ] || fail "CSV rows: $(wc -l <"$tmp/d.csv")"

# 2b. Keys coded by qjl: scored by its inner-product estimator, from the stored codes.
"$enc" -i "$sample" -o "$tmp/q.fq.h5" --k-codec qjl --v-codec scalar:bits=2 -q || fail "fq-encode qjl"
"$bin" -i "$sample" -c "$tmp/q.fq.h5" --last 16 --json "$tmp/q.json" >"$tmp/out" 2>"$tmp/err" ||
    fail "qjl eval exited $?: $(cat "$tmp/err")"
grep -q "inner-product estimator" "$tmp/out" || fail "estimator not announced"
python3 - "$tmp/q.json" "$tmp/c.json" <<'PY' || fail "qjl JSON"
import json, sys
q, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert q["scores"].startswith("inner-product estimator") and c["scores"] == "decoded keys"
rq = {r["tensor"]: r for r in q["rows"] if r["layer"] == "all"}
assert rq["k"]["nominal_bits"] == 1.25 and rq["v"]["nominal_bits"] == 2.25, rq["k"]
assert rq["attn"]["kl"] > 0 and abs(rq["attn"]["compression_ratio"] - 16 / 1.75) < 1e-12
PY

# 3. Query subsets: every 8th of the last 64 positions -> 8 per head.
"$bin" -i "$sample" -c "$tmp/s.fq.h5" --positions stride:8 --last 64 --json - >"$tmp/p.json" 2>"$tmp/err" ||
    fail "--positions exited $?: $(cat "$tmp/err")"
python3 - "$tmp/p.json" <<'PY' || fail "positions"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["positions"]["count"] == 8, doc["positions"]
a = [r for r in doc["rows"] if r["tensor"] == "attn" and r["layer"] == "all"][0]
assert a["queries"] == 5 * 4 * 8, a["queries"]
PY

# 4. No queries in the dump: the fallback q_t = k_t, said on stderr and in the JSON.
for L in 0 1 2 3 4; do
    for t in k v; do
        h5copy -p -i "$sample" -o "$tmp/noq.h5" -s "layer_$L/$t" -d "layer_$L/$t" || fail h5copy
    done
done
"$bin" -i "$tmp/noq.h5" -d "$tmp/s.dec.h5" --json "$tmp/noq.json" >"$tmp/out" 2>"$tmp/err" ||
    fail "no-query eval exited $?: $(cat "$tmp/err")"
grep -q "warning: no q datasets" "$tmp/err" || fail "fallback not announced: $(cat "$tmp/err")"
grep -q "NOT in the dump" "$tmp/out" || fail "fallback not in the table header"
python3 - "$tmp/noq.json" <<'PY' || fail "fallback JSON"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["queries"]["source"] == "keys" and "q_t = k_t" in doc["queries"]["fallback"]
a = [r for r in doc["rows"] if r["tensor"] == "attn" and r["layer"] == "all"][0]
assert a["queries"] == 5 * 2 * 512 and a["kl"] > 0
PY

# 5. Usage errors: both -d and -c, neither.
expect_error 1 -i "$sample"
"$bin" -i "$sample" -d "$tmp/s.dec.h5" -c "$tmp/s.fq.h5" >/dev/null 2>&1
[ $? -eq 1 ] || fail "-d with -c accepted"
echo "eval_dump: ok"

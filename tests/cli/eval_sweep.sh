#!/usr/bin/env bash
# fq-eval sweep: two codecs on the d = 64 sample -> rd.csv with the documented columns,
# rd.json with the frontier, non-empty PNG plots (SVG with --format svg), index.html;
# a config with an unknown key is a usage error.
# Usage: eval_sweep.sh APP_DIR REPO_ROOT
set -u
bin="$1/fq-eval"
root="$2"
sample="$root/data/sample_kv_d64.h5"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat >"$tmp/two.json" <<'JSON'
{"codecs": ["scalar:bits=1", {"codec": "scalar", "codebook": "d{d}/scalar-b2.json"}]}
JSON
# A codebook directory of our own: "d{d}/scalar-b2.json" resolves in it; scalar:bits=1 is
# computed on the fly when not there.
mkdir -p "$tmp/cb/d64"
"$1/fq-train" scalar --d 64 --bits 2 -o "$tmp/cb/d64/scalar-b2.json" -q >/dev/null || fail "fq-train"
"$bin" sweep --config "$tmp/two.json" -i "$sample" -o "$tmp/rep" --codebooks "$tmp/cb" --last 128 \
    >"$tmp/out" 2>"$tmp/err" ||
    fail "sweep exited $?: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && fail "stderr not empty (no terminal, no progress): $(cat "$tmp/err")"
grep -q "attention-output cosine >= 0.95" "$tmp/out" || fail "no frontier lines: $(cat "$tmp/out")"
head -1 "$tmp/rep/rd.csv" | grep -qx "codec,family,tensor,layer,head,vectors,queries,nominal_bits,achieved_bits,compression_ratio,bytes_coded,bytes_raw_f16,mse,mse_se,nmse,nmse_se,db_above_shannon,cos_mean,cos_se,cos_p5,cos_min,ip_bias,ip_bias_se,ip_rmse,ip_rmse_se,kl,kl_se,top1,top1_se,top5,top5_se,score_cos,score_cos_se,prob_cos,prob_cos_se,out_cos,out_cos_se,out_cos_p5,out_cos_min,pareto" ||
    fail "rd.csv header: $(head -1 "$tmp/rep/rd.csv")"
[ "$(wc -l <"$tmp/rep/rd.csv")" -eq 7 ] || fail "rd.csv: expected 6 rows"
python3 - "$tmp/rep/rd.json" <<'PY' || fail "rd.json"
import json, sys
doc = json.load(open(sys.argv[1]))
rows = doc["rows"]
attn = {r["codec"]: r for r in rows if r["tensor"] == "attn"}
assert sorted(attn) == ["scalar b=1 norm/float16", "scalar b=2 norm/float16"], sorted(attn)
b1, b2 = attn["scalar b=1 norm/float16"], attn["scalar b=2 norm/float16"]
assert b1["nominal_bits"] == 1.25 and b2["nominal_bits"] == 2.25
assert b1["kl"] > b2["kl"] > 0 and b1["out_cos"] < b2["out_cos"] < 1
assert b1["pareto"] == 1 and b2["pareto"] == 1  # more compression vs more fidelity
assert doc["positions"]["count"] == 128
f = [e for e in doc["frontier"] if e["family"] == "any"]
assert [e["target_out_cos"] for e in f] == [0.99, 0.95]
PY
for p in out_cos_vs_ratio kl_vs_bits mse_vs_bits nmse_vs_bits; do
    [ -s "$tmp/rep/$p.png" ] || fail "$p.png missing or empty"
    head -c 8 "$tmp/rep/$p.png" | od -An -tx1 | tr -d ' \n' | grep -qx "89504e470d0a1a0a" ||
        fail "$p.png is not a PNG"
    grep -q "$p.png" "$tmp/rep/index.html" || fail "index.html does not show $p.png"
done

# SVG output parses as XML.
"$bin" sweep --config "$tmp/two.json" -i "$sample" -o "$tmp/svg" --codebooks "$tmp/cb" --format svg --last 32 -q >/dev/null ||
    fail "svg sweep exited $?"
python3 - "$tmp/svg/kl_vs_bits.svg" <<'PY' || fail "SVG does not parse"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag.endswith("svg"), root.tag
PY

# A codec estimating inner products from its codes (qjl) is scored by its estimator.
echo '{"codecs": ["qjl", "scalar:bits=1"]}' >"$tmp/qjl.json"
"$bin" sweep --config "$tmp/qjl.json" -i "$sample" -o "$tmp/qjl" --codebooks "$tmp/cb" --last 32 -q \
    >/dev/null || fail "qjl sweep exited $?"
python3 - "$tmp/qjl/rd.json" <<'PY' || fail "qjl scores"
import json, math, sys
doc = json.load(open(sys.argv[1]))
how = {c["codec"]: c["scores"] for c in doc["codecs"]}
q = [c for c in how if c.startswith("qjl")][0]
assert how[q].startswith("inner-product estimator"), how
assert how["scalar b=1 norm/float16"] == "decoded keys", how
a = [r for r in doc["rows"] if r["codec"] == q and r["tensor"] == "attn"][0]
assert math.isfinite(a["kl"]) and a["kl"] > 0 and a["nominal_bits"] == 1.25, a
k = [r for r in doc["rows"] if r["codec"] == q and r["tensor"] == "k"][0]
# unbiased over random projections, not for one fixed projection on real keys: only small
assert math.isfinite(k["ip_rmse"]) and abs(k["ip_bias"]) < 0.5 * k["ip_rmse"], k
PY

# Unknown config key: usage error, one line.
echo '{"codecs": ["scalar:bits=1"], "colour": 1}' >"$tmp/bad.json"
"$bin" sweep --config "$tmp/bad.json" -i "$sample" -o "$tmp/bad" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] || fail "unknown key not a usage error"
grep -q "unknown key 'colour'" "$tmp/err" || fail "message: $(cat "$tmp/err")"
echo "eval_sweep: ok"

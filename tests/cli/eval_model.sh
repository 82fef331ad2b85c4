#!/usr/bin/env bash
# fq-eval model on the d = 64 model (data/models/fq_stories_d64): the exact cache reproduces
# the model's perplexity on the sample (4.5612) and on the four segments (4.765); a codec
# gives KL > 0 and a ratio > 1 with the JSON keys documented; the same numbers from the
# dump's tokens and from a token file; text through the tokenizer; bad input: one line and
# the documented exit code.
# Usage: eval_model.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1/fq-eval"
root="$2"
m="$root/data/models/fq_stories_d64"
model="$m/fq_stories_d64.bin"
run "$bin" model --model "$model" -i "$root/data/sample_kv_d64.h5" --k-codec scalar:bits=2 \
    --v-codec scalar:bits=2 --json "$tmp/a.json" --csv "$tmp/a.csv"
run "$bin" model --model "$model" -i "$root/data/sample_kv_d64_4seg.h5" --rate 2 --json "$tmp/b.json"
"$py" - "$root/data/sample_kv_d64.h5" "$tmp/ids.txt" <<'PY'
import sys, h5py
ids = h5py.File(sys.argv[1], "r")["token_ids"][()]
open(sys.argv[2], "w").write("# token ids\n" + "\n".join(str(int(i)) for i in ids) + "\n")
PY
run "$bin" model --model "$model" -i "$tmp/ids.txt" --k-codec scalar:bits=2 --v-codec scalar:bits=2 --json "$tmp/c.json"
printf 'Once upon a time, there was a little dog. He liked to run in the park with his friend.' > "$tmp/t.txt"
run "$bin" model --model "$model" --tokenizer "$m/tok512.bin" --text "$tmp/t.txt" --json "$tmp/d.json"
"$py" - "$tmp" <<'PY' || fail "fq-eval model report"
import json, sys, csv
t = sys.argv[1]
a, b, c, d = (json.load(open(f"{t}/{x}.json")) for x in "abcd")
for k in ("ppl_base", "ppl_base_se", "ppl", "ppl_se", "ratio", "ratio_se", "diff", "diff_se", "kl",
          "kl_se", "kl_p99_9", "kl_p99", "kl_p95", "kl_p50", "top1", "top1_se", "dp_mean", "dp_rms",
          "by_position", "rate"):
    assert k in a, k
assert abs(a["ppl_base"] - 4.5612) < 5e-4, a["ppl_base"]
assert abs(b["ppl_base"] - 4.765) < 5e-4, b["ppl_base"]
assert a["tokens"]["predictions"] == 511 and b["tokens"]["predictions"] == 508
assert b["tokens"]["sequences"] == 4
assert a["kl"] > 0 and a["ratio"] > 1 and 0 < a["top1"] < 1, a
assert abs(a["rate"]["bits_per_coordinate"] - 2.25) < 1e-9, a["rate"]
assert c["ppl"] == a["ppl"] and c["kl"] == a["kl"], "token file and dump disagree"
assert d["tokens"]["predictions"] > 15 and d["ppl_base"] < 20, d
row = list(csv.DictReader(open(f"{t}/a.csv")))[0]
assert abs(float(row["ppl"]) - a["ppl"]) < 1e-9 * a["ppl"]
PY
# A sweep with a "model" entry: the same numbers as fq-eval model, and the two plots.
cat > "$tmp/sweep.json" <<JSON
{"codecs": ["scalar:bits=2", "fib:k=4,N=256"], "model": "$model"}
JSON
run "$bin" sweep --config "$tmp/sweep.json" -i "$root/data/sample_kv_d64_4seg.h5" -o "$tmp/sw"
run "$bin" model --model "$model" -i "$root/data/sample_kv_d64_4seg.h5" --k-codec scalar:bits=2 \
    --v-codec scalar:bits=2 --json "$tmp/e.json"
[ -s "$tmp/sw/ppl_vs_bits.png" ] && [ -s "$tmp/sw/logit_kl_vs_bits.png" ] || fail "no model plots"
"$py" - "$tmp" <<'PY' || fail "sweep model columns"
import csv, json, sys
t = sys.argv[1]
e = json.load(open(f"{t}/e.json"))
rows = [r for r in csv.DictReader(open(f"{t}/sw/rd.csv")) if r["tensor"] == "attn"]
s2 = next(r for r in rows if r["codec"].startswith("scalar b=2"))
assert abs(float(s2["ppl"]) - e["ppl"]) < 1e-9 * e["ppl"], (s2["ppl"], e["ppl"])
assert abs(float(s2["logit_kl"]) - e["kl"]) < 1e-9 * e["kl"]
assert abs(float(s2["ppl_base"]) - 4.765) < 5e-4
assert json.load(open(f"{t}/sw/rd.json"))["model"]["sequences"] == 4
PY
# Bad input.
expect_error "$bin" 1 model --model "$tmp/none.bin" -i "$tmp/ids.txt"
head -c 5000 /dev/urandom > "$tmp/junk.bin"
expect_error "$bin" 3 model --model "$tmp/junk.bin" -i "$tmp/ids.txt"
head -c 100000 "$model" > "$tmp/cut.bin"
expect_error "$bin" 3 model --model "$tmp/cut.bin" -i "$tmp/ids.txt"
echo 99999 > "$tmp/bad_ids.txt"
expect_error "$bin" 1 model --model "$model" -i "$tmp/bad_ids.txt"
grep -q "outside the model's vocabulary" "$tmp/err" || fail "token range: $(cat "$tmp/err")"
head -c 3001 "$m/tok512.bin" > "$tmp/cut_tok.bin"
expect_error "$bin" 3 model --model "$model" --tokenizer "$tmp/cut_tok.bin" --text "$tmp/t.txt"
"$py" - "$m/tok512.bin" "$tmp/tok300.bin" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
pos, out = 4, [data[:4]]
for _ in range(300):  # a valid tokenizer of 300 tokens: not this model's vocabulary
    n = struct.unpack("<i", data[pos + 4:pos + 8])[0]
    out.append(data[pos:pos + 8 + n])
    pos += 8 + n
open(sys.argv[2], "wb").write(b"".join(out))
PY
expect_error "$bin" 1 model --model "$model" --tokenizer "$tmp/tok300.bin" --text "$tmp/t.txt"
grep -q "vocabulary has 512" "$tmp/err" || fail "vocabulary mismatch: $(cat "$tmp/err")"
expect_error "$bin" 1 model --model "$model" -i "$tmp/ids.txt" -c "$root/codebooks/d128/fib-k2-N16.json"
grep -q "d = 64" "$tmp/err" || fail "d mismatch: $(cat "$tmp/err")"
echo ok

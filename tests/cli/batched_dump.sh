#!/usr/bin/env bash
# A batched dump [batch, heads, tokens, d] written by h5py (scripts/write_kv_dump.py
# --layout bhtd, float16) round-trips through fq-encode / fq-decode with its 4-D shape, and
# gives the same codes, values and metrics as the same data laid out [heads, tokens, d] with
# segment_id; attention is computed within each of the 3 sequences (batch axis there,
# segment_id here), which differs from evaluating them as one sequence (--segment-len).
# Usage: batched_dump.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
apps="$1"
root="$2"
w="$root/scripts/write_kv_dump.py"
run "$py" "$w" --synthetic -o "$tmp/b.h5" --layout bhtd --batch 3 --tokens 40 --head-dim 32 --seed 5
run "$py" "$w" --synthetic -o "$tmp/s.h5" --segments 3 --tokens 120 --head-dim 32 --seed 5
for x in b s; do
    run "$apps/fq-encode" -i "$tmp/$x.h5" -o "$tmp/$x.fq.h5" --k-codec scalar:bits=2 \
        --v-codec int:bits=4,group=8 -q
    run "$apps/fq-decode" -i "$tmp/$x.fq.h5" -o "$tmp/$x.dec.h5" -q
    run "$apps/fq-eval" -i "$tmp/$x.h5" -c "$tmp/$x.fq.h5" --json "$tmp/$x.json"
done
run "$apps/fq-eval" -i "$tmp/s.h5" -c "$tmp/s.fq.h5" --segment-len 120 --json "$tmp/one.json"
"$py" - "$tmp" <<'PY' || fail "batched and segmented layouts disagree"
import json, sys
import h5py, numpy as np
t = sys.argv[1]
b, s = h5py.File(f"{t}/b.dec.h5", "r"), h5py.File(f"{t}/s.dec.h5", "r")
bo = h5py.File(f"{t}/b.h5", "r")
for L in range(2):
    for n in "kv":
        x, y = b[f"layer_{L}/{n}"][()], s[f"layer_{L}/{n}"][()]
        assert x.shape == (3, 2, 40, 32) == bo[f"layer_{L}/{n}"].shape, x.shape
        assert np.array_equal(x.transpose(1, 0, 2, 3).reshape(y.shape), y), (L, n)
cb, cs = h5py.File(f"{t}/b.fq.h5", "r"), h5py.File(f"{t}/s.fq.h5", "r")
assert cb["layer_0/k"].attrs["axes"] == b"bhtd", cb["layer_0/k"].attrs["axes"]
jb, js, jo = (json.load(open(f"{t}/{x}.json")) for x in ("b", "s", "one"))
assert jb["sequences"] == {"count": 3, "source": "segment_id within batch rows"}, jb["sequences"]
assert js["sequences"] == {"count": 3, "source": "segment_id"}, js["sequences"]
assert jo["sequences"] == {"count": 1, "source": "--segment-len 120"}, jo["sequences"]
cols = ["mse", "nmse", "cos_mean", "ip_bias", "ip_rmse", "kl", "top1", "top5", "score_cos",
        "prob_cos", "out_cos"]
for rb, rs in zip(jb["rows"], js["rows"]):
    for c in cols:
        assert rb.get(c) == rs.get(c), (rb["tensor"], rb["layer"], rb["head"], c, rb.get(c), rs.get(c))
att = lambda j: next(r for r in j["rows"] if r["tensor"] == "attn" and r["layer"] == "all")
assert att(jo)["kl"] != att(js)["kl"], "one sequence gives the per-sequence KL"
assert att(js)["queries"] == att(jo)["queries"]
PY
echo ok

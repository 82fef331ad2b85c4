#!/usr/bin/env bash
# fq-train gsrq on the real d = 64 sample: trains on tokens 0:256 of the keys, writes a
# valid gsrq codebook file (rate S log2 K / D, shrinkage per stage), is deterministic across
# thread counts, refuses bad options (exit 1) and a missing input (exit 1 or 2); then
# fq-encode --k-codec gsrq:codebook=FILE and fq-decode of the sample work, and the file
# decodes without the codebook file (it is embedded).
# Usage: train_gsrq.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1"
root="$2"
sample="$root/data/sample_kv_d64.h5"

"$bin/fq-train" gsrq --help >"$tmp/help" || fail "gsrq --help"
grep -q -- "--tokens" "$tmp/help" || fail "--help does not document --tokens"
grep -q "evaluate" "$tmp/help" || fail "--help does not say why --tokens"

run "$bin/fq-train" gsrq -i "$sample" --tensor k --D 8 --K 64 --stages 2 --tokens 0:256 \
    --max-iter 10 -o "$tmp/g.json" -j 1
cp "$tmp/out" "$tmp/summary"
grep -q "rate          1.5000 bits/coord" "$tmp/summary" || fail "rate: $(cat "$tmp/summary")"
grep -q "stage 1 .*shrinkage" "$tmp/summary" || fail "no shrinkage line"
grep -q "content hash  sha256:" "$tmp/summary" || fail "no hash"
run "$bin/fq-train" gsrq -i "$sample" --tensor k --D 8 --K 64 --stages 2 --tokens 0:256 \
    --max-iter 10 -o "$tmp/g2.json" -j 2
cmp -s "$tmp/g.json" "$tmp/g2.json" || fail "-j 1 and -j 2 codebooks differ"
run "$bin/fq-train" gsrq -i "$sample" --tensor k --D 8 --K 64 --stages 2 --tokens 0:256 \
    --max-iter 10 --kmeans plain -o "$tmp/p.json"
"$py" - "$tmp/g.json" "$tmp/p.json" <<'PY' || fail "gsrq codebook file content"
import sys, json
g, p = (json.load(open(f)) for f in sys.argv[1:3])
for f, m in ((g, "gain-shape"), (p, "plain")):
    assert f["format"] == "fq-gsrq-codebook" and f["format_version"] == 1
    assert f["method"] == m and f["D"] == 8 and f["K"] == 64 and f["S"] == 2 and f["d"] == 64
    assert f["rate_bits_per_coord"] == 1.5
    assert f["construction"]["tokens"] == "0:256" and f["construction"]["vectors"] == 5 * 2 * 256
    assert len(f["stages"]) == 2 and len(f["stages"][0]) == 8 and len(f["stages"][0][0]) == 64
    assert len(f["training"]["stages"]) == 2
# seed 004: gain-shape centroids shrink less than k-means centroids (first stage)
sg = g["training"]["stages"][0]["codebook"]["shrinkage"]
sp = p["training"]["stages"][0]["codebook"]["shrinkage"]
assert sg > sp, (sg, sp)
print("shrinkage stage 0: gain-shape %.4f, plain %.4f" % (sg, sp))
PY

# Per-vector weights: a [heads, tokens] dataset beside each selected one.
"$py" - "$sample" "$tmp/w.h5" <<'PY' || fail "making a weighted dump"
import sys, h5py, numpy as np
a = h5py.File(sys.argv[1], "r"); b = h5py.File(sys.argv[2], "w")
x = a["layer_0/k"][()]
b.create_dataset("layer_0/k", data=x)
b.create_dataset("layer_0/w", data=np.log1p(np.linalg.norm(x.astype(np.float32), axis=-1)))
b.create_dataset("layer_0/bad", data=np.zeros(x.shape[:2], np.float32))
PY
run "$bin/fq-train" gsrq -i "$tmp/w.h5" --D 8 --K 16 --stages 1 --weights w -o "$tmp/w.json"
"$py" -c "import json,sys; c=json.load(open(sys.argv[1]))['construction']; assert c['weights']=='w' and c['vectors']==1024, c" "$tmp/w.json" || fail "weights not recorded"
expect_exit 4 "$bin/fq-train" gsrq -i "$tmp/w.h5" --D 8 --K 16 --weights bad -o "$tmp/x.json"
expect_exit 2 "$bin/fq-train" gsrq -i "$tmp/w.h5" --D 8 --K 16 --weights nosuch -o "$tmp/x.json"

expect_exit 1 "$bin/fq-train" gsrq -i "$sample" --tensor q -o "$tmp/x.json"
expect_exit 1 "$bin/fq-train" gsrq -i "$sample" --D 7 -o "$tmp/x.json"
expect_exit 1 "$bin/fq-train" gsrq -i "$sample" --tokens 600:700 -o "$tmp/x.json"
expect_exit 1 "$bin/fq-train" gsrq -i "$sample" -o "$tmp/g.json"   # exists, no --force
[ ! -e "$tmp/x.json" ] || fail "a failed run left an output"

# Encode the sample with it (keys), decode, with and without the codebook file around.
run "$bin/fq-encode" -i "$sample" -o "$tmp/s.fq.h5" --k-codec "gsrq:codebook=$tmp/g.json" \
    --v-codec "int:bits=2,group=32"
grep -q "gsrq D=8 K=64 S=2" "$tmp/out" || fail "summary: $(cat "$tmp/out")"
mv "$tmp/g.json" "$tmp/moved.json"
run "$bin/fq-decode" -i "$tmp/s.fq.h5" -o "$tmp/d.h5"
run "$bin/fq-decode" -i "$tmp/s.fq.h5" -o "$tmp/d2.h5" -c "$tmp/moved.json" --select 'layer_*/k'
expect_exit 3 "$bin/fq-decode" -i "$tmp/s.fq.h5" -o "$tmp/d3.h5" -c "$tmp/p.json" \
    --select 'layer_*/k'
"$py" - "$sample" "$tmp/d.h5" <<'PY' || fail "gsrq decode distortion"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for t in ("k", "v"):
    num = den = 0.0
    for L in range(5):
        x = a[f"layer_{L}/{t}"][()].astype(np.float64)
        y = b[f"layer_{L}/{t}"][()].astype(np.float64)
        num += ((x - y) ** 2).sum(); den += (x ** 2).sum()
    print(t, "nMSE %.4f" % (num / den))
    assert num / den < 0.3, (t, num / den)
PY
echo ok

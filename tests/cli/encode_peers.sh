#!/usr/bin/env bash
# Every peer codec through fq-encode / fq-decode on the real d = 64 sample: exit 0, the
# exact rate in the container, distortion within a loose bound, and (int per_channel with a
# token count not divisible by G) the padded stored rate; -j 1 and -j 2 give the same bytes;
# every shipped K/V scheme config (configs/kv-schemes) encodes the sample.
# Usage: encode_peers.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1"
root="$2"
sample="$root/data/sample_kv_d64.h5"

"$bin/fq-encode" --help >"$tmp/help" || fail "--help"
for form in "scalar+qjl:bits=3" "int:bits=4,group=32" "block:format=q4_0" "gsrq:codebook"; do
    grep -qF -- "$form" "$tmp/help" || fail "--help does not document $form"
done

# check FILE RATE MAX_NMSE: rate attribute of every dataset and nMSE of the decode
check() {
    run "$bin/fq-decode" -i "$1" -o "$tmp/dec.h5" --force
    "$py" - "$sample" "$1" "$tmp/dec.h5" "$2" "$3" <<'PY' || fail "check $*"
import sys, h5py, numpy as np
src, enc, dec = (h5py.File(p, "r") for p in sys.argv[1:4])
rate, bound = float(sys.argv[4]), float(sys.argv[5])
for t in ("k", "v"):
    num = den = 0.0
    for L in range(5):
        p = f"layer_{L}/{t}"
        assert abs(enc[p].attrs["rate"] - rate) < 1e-12, (p, enc[p].attrs["rate"], rate)
        x = src[p][()].astype(np.float64); y = dec[p][()].astype(np.float64)
        num += ((x - y) ** 2).sum(); den += (x ** 2).sum()
    assert num / den < bound, (t, num / den)
PY
}
spec_check() {  # spec_check SPEC RATE MAX_NMSE
    run "$bin/fq-encode" -i "$sample" -o "$tmp/e.fq.h5" --force --k-codec "$1" --v-codec "$1"
    check "$tmp/e.fq.h5" "$2" "$3"
}
spec_check qjl 1.25 2.0
spec_check "scalar+qjl:bits=3" 3.5 0.25     # QJL adds variance: unbiased, not MSE-optimal
spec_check "scalar+qjl:bits=2,rotation=haar,m=128" 3.5 0.6
spec_check "int:bits=4,group=32,grouping=per_token" 5 0.02
spec_check "int:bits=2,group=64,grouping=per_channel" 2.5 0.3
spec_check "block:format=q8_0" 8.5 0.001
spec_check "block:format=q4_0,rotation=hadamard" 4.5 0.03
spec_check "scalar:bits=2,rotation=none" 2.25 0.3

# int per_channel (default for keys) on 500 tokens (not a multiple of G = 32): 16 groups,
# the last one padded; nominal rate b + 32/G, stored rate 8 C ceil(T/G) / (T d).
run "$bin/fq-decode" -i "$tmp/e.fq.h5" -o "$tmp/t500.h5" --force --tokens 0:500 --dtype float32 \
    --select 'layer_0/*'
"$py" - "$tmp/t500.h5" "$tmp/short.h5" <<'PY' || fail "making a 500-token dump"
import sys, h5py
a = h5py.File(sys.argv[1], "r"); b = h5py.File(sys.argv[2], "w")
for t in ("k", "v"):
    b.create_dataset(f"layer_0/{t}", data=a[f"layer_0/{t}"][()])
PY
for j in 1 2; do
    run "$bin/fq-encode" -i "$tmp/short.h5" -o "$tmp/j$j.fq.h5" --k-codec "int:bits=4,group=32" \
        --v-codec "int:bits=4,group=32" --chunk-tokens 100 -j $j
done
cmp -s "$tmp/j1.fq.h5" "$tmp/j2.fq.h5" || fail "-j 1 and -j 2 containers differ"
grep -q "int b=4 G=32 per_channel" "$tmp/out" || fail "K default grouping: $(cat "$tmp/out")"
run "$bin/fq-decode" -i "$tmp/j1.fq.h5" -o "$tmp/j1.h5"
run "$bin/fq-decode" -i "$tmp/j1.fq.h5" -o "$tmp/slice.h5" --tokens 90:130 --heads 1
"$py" - "$tmp/short.h5" "$tmp/j1.fq.h5" "$tmp/j1.h5" "$tmp/slice.h5" <<'PY' || fail "per_channel"
import sys, h5py, numpy as np
src, enc, dec, sl = (h5py.File(p, "r") for p in sys.argv[1:5])
k = enc["layer_0/k"]
assert k.attrs["block_vectors"] == 32 and k["codes"].shape == (2, 16, 64 * (32 + 32 * 4) // 8)
assert k.attrs["block_tokens"] == 128            # --chunk-tokens 100 rounded up to whole groups
assert k.attrs["rate"] == 5.0
assert abs(k.attrs["stored_rate"] - 8 * 1280 * 16 / (500 * 64)) < 1e-12   # 5.12: padding
assert "block_vectors" not in enc["layer_0/v"].attrs and enc["layer_0/v"].attrs["stored_rate"] == 5.0
x = src["layer_0/k"][()]; y = dec["layer_0/k"][()]
assert y.shape == x.shape
# KIVI bound: every element within half a step of its group (step <= range / 15, + float16)
assert np.abs(x - y).max() < (x.max(0) - x.min(0)).max() / 15
assert np.array_equal(sl["layer_0/k"][()][0], y[1, 90:130])
PY

# Every shipped K/V scheme encodes and decodes the sample.
for cfg in "$root"/configs/kv-schemes/*.json; do
    n=$(basename "$cfg" .json); n=${n##*-}
    run "$bin/fq-encode" -i "$sample" -o "$tmp/s.fq.h5" --force --config "$cfg"
    run "$bin/fq-decode" -i "$tmp/s.fq.h5" -o "$tmp/s.h5" --force
    "$py" - "$tmp/s.fq.h5" "$n" <<'PY' || fail "scheme $cfg"
import sys, h5py
f = h5py.File(sys.argv[1], "r"); n = int(sys.argv[2])
for t in ("k", "v"):
    r = f[f"layer_0/{t}"].attrs["rate"]
    assert n + 0.25 - 1e-12 <= r <= n + 0.5 + 1e-12, (t, r)
PY
done
echo ok

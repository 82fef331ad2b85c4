#!/usr/bin/env bash
# fq-encode / fq-decode round trips on the real d = 64 sample and on dumps written by
# Debian's python3-h5py: distortion, default codebook choice, thread-count determinism,
# slices equal to the same slice of a full decode, zero vectors, untouched inputs.
# Usage: encode_roundtrip.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1"
root="$2"
sample="$root/data/sample_kv_d64.h5"

# Small codebooks in a private codebook directory (the shipped ones are not needed).
mkdir -p "$tmp/cb/d64"
run "$bin/fq-train" scalar --d 64 --bits 2 -o "$tmp/cb/d64/scalar-b2.json" -q
run "$bin/fq-train" fib --d 64 --k 2 --N 16 --samples 8000 --restarts 1 -o "$tmp/cb/d64/fib-k2-N16.json" -q
run "$bin/fq-train" fib --d 64 --k 2 --N 4 --samples 8000 --restarts 1 -o "$tmp/cb/d64/fib-k2-N4.json" -q
export FQ_CODEBOOKS="$tmp/cb"

before=$(sha256sum "$sample" | cut -d' ' -f1)

# Default codec: fib, the highest shipped rate <= --rate (2 -> k2 N16; 1.5 -> k2 N4).
run "$bin/fq-encode" -i "$sample" -o "$tmp/fib.fq.h5"
grep -q "^K  *fib k=2 N=16 norm/float16  *5120  *64  *2.2500  *2.2500 " "$tmp/out" ||
    fail "summary: $(cat "$tmp/out")"
run "$bin/fq-encode" -i "$sample" -o "$tmp/fib1.fq.h5" --rate 1.5 -q
[ -s "$tmp/out" ] && fail "-q printed: $(cat "$tmp/out")"
run "$bin/fq-decode" -i "$tmp/fib.fq.h5" -o "$tmp/fib.h5"
run "$bin/fq-decode" -i "$tmp/fib1.fq.h5" -o "$tmp/fib1.h5" -q

# Scalar b = 2 with -j 1 and -j 2: identical bytes; gain header at float32.
run "$bin/fq-encode" -i "$sample" -o "$tmp/s_j1.fq.h5" --k-codec scalar:bits=2 --v-codec scalar:bits=2 -j 1 -q
sleep 1  # a second later: no timestamps in the container either
run "$bin/fq-encode" -i "$sample" -o "$tmp/s_j2.fq.h5" --k-codec scalar:bits=2 --v-codec scalar:bits=2 -j 2 -q
cmp -s "$tmp/s_j1.fq.h5" "$tmp/s_j2.fq.h5" || fail "fq-encode -j 1 and -j 2 outputs differ"
run "$bin/fq-decode" -i "$tmp/s_j1.fq.h5" -o "$tmp/s_j1.h5" -j 1 -q
run "$bin/fq-decode" -i "$tmp/s_j1.fq.h5" -o "$tmp/s_j2.h5" -j 2 -q
same_h5 "$tmp/s_j1.h5" "$tmp/s_j2.h5" || fail "fq-decode -j 1 and -j 2 outputs differ"
run "$bin/fq-encode" -i "$sample" -o "$tmp/gain.fq.h5" --k-codec "scalar:bits=2,header=gain" --header-type float32 --chunk-tokens 100 -q
run "$bin/fq-decode" -i "$tmp/gain.fq.h5" -o "$tmp/gain.h5" --dtype float16 -q

# --config: a description for K, a SPEC for V.
cat >"$tmp/codec.json" <<JSON
{"k": {"codec": "scalar", "codebook": "$tmp/cb/d64/scalar-b2.json", "header": "gain"},
 "v": "fib:k=2,N=4"}
JSON
run "$bin/fq-encode" -i "$sample" -o "$tmp/cfg.fq.h5" --config "$tmp/codec.json"
grep -q "^K  *scalar b=2 gain/float16 " "$tmp/out" && grep -q "^V  *fib k=2 N=4 norm/float16 .* 1.2500 " "$tmp/out" ||
    fail "--config summary: $(cat "$tmp/out")"

# Slice decode = the same slice of the full decode (chunk 100 tokens: crosses blocks).
run "$bin/fq-decode" -i "$tmp/gain.fq.h5" -o "$tmp/slice.h5" --select layer_3/k --tokens 150:420 --heads 1:2 -q

[ "$(sha256sum "$sample" | cut -d' ' -f1)" = "$before" ] || fail "input file modified"

"$py" - "$sample" "$tmp" <<'PY' || fail "distortion / layout checks"
import sys, json
import h5py, numpy as np
sample, tmp = sys.argv[1], sys.argv[2]
src = h5py.File(sample, "r")

def nmse(restored, kind):
    num = den = 0.0
    for L in range(5):
        x = src[f"layer_{L}/{kind}"][()].astype(np.float64)
        y = restored[f"layer_{L}/{kind}"][()].astype(np.float64)
        num += ((x - y) ** 2).sum(); den += (x ** 2).sum()
    return num / den

res = {}
for name in ["fib", "fib1", "s_j1", "gain"]:
    f = h5py.File(f"{tmp}/{name}.h5", "r")
    res[name] = {k: nmse(f, k) for k in "kv"} if name != "gain" else {"k": nmse(f, "k")}
    # layout: same paths (no queries), attributes and copied datasets
    assert "layer_0/q" not in f, name
    for ds in ["token_ids", "positions", "segment_id"]:
        assert np.array_equal(f[ds][()], src[ds][()]), (name, ds)
    for a in src.attrs:
        assert a in f.attrs, (name, a)
    assert f["layer_2/v"].shape == (2, 512, 64)
print(json.dumps(res))
# 2 bits: theory on the unit sphere 0.1145 (scalar), fib (2,16) ~0.105; 1 bit ~0.36
assert 0.09 < res["s_j1"]["k"] < 0.13 and 0.09 < res["s_j1"]["v"] < 0.13, res
assert 0.08 < res["fib"]["k"] < 0.125 and res["fib"]["v"] < 0.125, res
assert res["fib"]["k"] < res["s_j1"]["k"], res
assert 0.25 < res["fib1"]["k"] < 0.45, res
assert res["gain"]["k"] < res["s_j1"]["k"], res          # gain header helps
g = h5py.File(f"{tmp}/gain.h5", "r")
assert g["layer_0/k"].dtype == np.float16 and g["layer_0/v"].dtype == np.float16
# slice = slice of the full decode, bit for bit (both float16 here)
s = h5py.File(f"{tmp}/slice.h5", "r")
assert list(s.keys()) == ["layer_3"] and list(s["layer_3"].keys()) == ["k"], list(s.keys())
sl = s["layer_3/k"][()]
assert sl.shape == (1, 270, 64), sl.shape
full = h5py.File(f"{tmp}/gain.h5", "r")["layer_3/k"][()]
assert sl.dtype == np.float32
assert np.array_equal(sl, full[1:2, 150:420].astype(np.float32)) or \
    np.array_equal(sl.astype(np.float16), full[1:2, 150:420]), "slice differs"
assert "fq_slice" in s["layer_3/k"].attrs
# container: rates and codebook embedded
c = h5py.File(f"{tmp}/fib.fq.h5", "r")
assert c.attrs["fq_format"] == b"fq-compressed" and c.attrs["fq_format_version"] == 2
g0 = c["layer_0/k"]
assert g0.attrs["code_bytes"] == 18 and g0.attrs["code_bits"] == 144.0 and g0.attrs["rate"] == 2.25
cb = json.loads(bytes(c["codebooks/" + g0.attrs["codebook"].decode()[7:]][()]).decode())
assert cb["content_hash"] == g0.attrs["codebook"].decode() and cb["N"] == 16
PY

# Slices against a float32 full decode: exact equality.
run "$bin/fq-decode" -i "$tmp/gain.fq.h5" -o "$tmp/gain32.h5" -q
run "$bin/fq-decode" -i "$tmp/gain.fq.h5" -o "$tmp/slice32.h5" --select 'layer_*/v' --tokens 99:101 -q
"$py" - "$tmp" <<'PY' || fail "float32 slice"
import sys, h5py, numpy as np
t = sys.argv[1]
full, s = h5py.File(f"{t}/gain32.h5", "r"), h5py.File(f"{t}/slice32.h5", "r")
for L in range(5):
    a = s[f"layer_{L}/v"][()]
    assert a.shape == (2, 2, 64) and np.array_equal(a, full[f"layer_{L}/v"][:, 99:101]), L
    assert f"layer_{L}/k" not in s
PY

# Dumps written by python3-h5py (float16 and float32, htd and thd), with zero vectors.
for dt in float16 float32; do
    run "$py" "$root/scripts/write_kv_dump.py" --synthetic --dtype $dt --layers 2 --heads 4 \
        --kv-heads 2 --tokens 300 --head-dim 64 --seed 3 -o "$tmp/syn_$dt.h5"
    "$py" - "$tmp/syn_$dt.h5" <<'PY' || fail "zeroing vectors"
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f["layer_1/k"][0, 17, :] = 0
    f["layer_0/v"][1, 299, :] = 0
PY
    run "$bin/fq-encode" -i "$tmp/syn_$dt.h5" -o "$tmp/syn_$dt.fq.h5" --keep-queries --chunk-tokens 128 -q
    run "$bin/fq-decode" -i "$tmp/syn_$dt.fq.h5" -o "$tmp/syn_$dt.out.h5" -q
    "$py" - "$tmp/syn_$dt.h5" "$tmp/syn_$dt.out.h5" <<'PY' || fail "synthetic $dt"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert np.all(b["layer_1/k"][0, 17] == 0) and np.all(b["layer_0/v"][1, 299] == 0)
assert np.isfinite(b["layer_1/k"][()]).all()
assert np.array_equal(a["layer_0/q"][()], b["layer_0/q"][()]) and b["layer_0/q"].dtype == a["layer_0/q"].dtype
for L in range(2):
    for k in "kv":
        x = a[f"layer_{L}/{k}"][()].astype(np.float64); y = b[f"layer_{L}/{k}"][()]
        e = ((x - y) ** 2).sum() / (x ** 2).sum()
        assert e < 0.2, (L, k, e)
PY
done
run "$py" "$root/scripts/write_kv_dump.py" --synthetic --dtype float16 --layout thd --layers 1 \
    --heads 2 --kv-heads 2 --tokens 50 --head-dim 64 -o "$tmp/thd.h5"
run "$bin/fq-encode" -i "$tmp/thd.h5" -o "$tmp/thd.fq.h5" --axes thd -q
run "$bin/fq-decode" -i "$tmp/thd.fq.h5" -o "$tmp/thd.out.h5" -q
"$py" - "$tmp/thd.h5" "$tmp/thd.out.h5" <<'PY' || fail "thd layout"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert b["layer_0/k"].shape == a["layer_0/k"].shape == (50, 2, 64)
x = a["layer_0/k"][()].astype(np.float64); y = b["layer_0/k"][()]
assert ((x - y) ** 2).sum() / (x ** 2).sum() < 0.2
PY
# bfloat16 (uint16 bit patterns + dtype attribute): read, encoded, restored as float32.
run "$py" "$root/scripts/write_kv_dump.py" --synthetic --dtype bfloat16 --layers 1 \
    --heads 2 --kv-heads 2 --tokens 60 --head-dim 64 -o "$tmp/bf16.h5"
run "$bin/fq-encode" -i "$tmp/bf16.h5" -o "$tmp/bf16.fq.h5" -q
run "$bin/fq-decode" -i "$tmp/bf16.fq.h5" -o "$tmp/bf16.out.h5" -q
"$py" - "$tmp/bf16.h5" "$tmp/bf16.out.h5" "$tmp/bf16.fq.h5" <<'PY' || fail "bfloat16"
import sys, h5py, numpy as np
a, b, c = (h5py.File(p, "r") for p in sys.argv[1:4])
assert c["layer_0/v"].attrs["dtype"] == b"bfloat16"
x = (a["layer_0/v"][()].astype(np.uint32) << 16).view(np.float32).astype(np.float64)
y = b["layer_0/v"][()]
assert y.dtype == np.float32 and "dtype" not in b["layer_0/v"].attrs
assert ((x - y) ** 2).sum() / (x ** 2).sum() < 0.2
PY
echo ok

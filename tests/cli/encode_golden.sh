#!/usr/bin/env bash
# Golden containers: tests/golden/sample-layer0-t128.v1.fq.h5 (format version 1, written by
# fq-encode 0.1.0 before the checksummed layout) and sample-layer0-t128.v2.fq.h5 (version 2),
# both from tests/golden/sample-layer0-t128.h5 (layer 0, tokens 0..127 of the real d = 64
# sample) with
#   fq-encode -i sample-layer0-t128.h5 -o sample-layer0-t128.vN.fq.h5 --chunk-tokens 50 \
#       --k-codec scalar:bits=2 --v-codec scalar:bits=2,header=gain --codebooks /nonexistent
# Both must keep decoding to the same numbers; encoding the same input again must give the
# version 2 golden content (every dataset and attribute but fq_version and the header
# checksum over it); v1 and v2 hold the same datasets and attribute values. A change here is
# a format change and needs a new fq_format_version (docs/FORMAT.md §2).
# Usage: encode_golden.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1"
root="$2"
golden="$root/tests/golden/sample-layer0-t128.v2.fq.h5"
golden1="$root/tests/golden/sample-layer0-t128.v1.fq.h5"
input="$root/tests/golden/sample-layer0-t128.h5"

run "$bin/fq-decode" -i "$golden" -o "$tmp/dec.h5" -q
run "$bin/fq-decode" -i "$golden1" -o "$tmp/dec1.h5" -q
same_h5 "$tmp/dec.h5" "$tmp/dec1.h5" || fail "v1 and v2 goldens decode differently"
run "$bin/fq-encode" -i "$input" -o "$tmp/again.fq.h5" --chunk-tokens 50 \
    --k-codec scalar:bits=2 --v-codec scalar:bits=2,header=gain --codebooks "$tmp/none" -q
"$py" - "$golden" "$tmp/again.fq.h5" "$tmp/dec.h5" "$input" "$golden1" <<'PY' || fail "golden container"
import sys, hashlib, h5py, numpy as np
golden, again, dec, inp, golden1 = (h5py.File(p, "r") for p in sys.argv[1:6])
# 1. decoded numbers, bit for bit (SHA-256 of the float32 arrays, C order)
want = {"layer_0/k": "320fd0d97962652d5b7af3dce048f2e5935b2225bda4169875735a4e582932b7",
        "layer_0/v": "0447fc17a182cb95c5a6a961e249309c68b3aba047e0a68cf13425eb1912f5f9"}
for p, h in want.items():
    x = dec[p][()]
    assert x.dtype == np.float32 and x.shape == (2, 128, 64), (p, x.dtype, x.shape)
    got = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()
    assert got == h, f"{p}: decoded values changed: {got}"
    ref = inp[p][()].astype(np.float64)
    assert ((ref - x) ** 2).sum() / (ref ** 2).sum() < 0.13, p
# 2. re-encoding gives the version 2 golden content; v1 holds the same (strings as text:
#    version 1 stored variable-length strings, version 2 fixed-length ones)
def items(f):
    out = {}
    f.visititems(lambda n, o: out.__setitem__(n, o))
    return out
def unsealed(arr):
    t = bytes(arr)
    return b"{\n" + t[93:] if b'"file_sha256"' in t else t
def text(v):
    return v.decode() if isinstance(v, bytes) else v
def same(x, y, skip=()):
    ga, gb = items(x), items(y)
    assert ga.keys() == gb.keys(), (sorted(ga), sorted(gb))
    for n in ga:
        a, b = ga[n], gb[n]
        assert sorted(a.attrs) == sorted(b.attrs), n
        for k in a.attrs:
            assert np.array_equal(text(a.attrs[k]), text(b.attrs[k])), (n, k)
        if isinstance(a, h5py.Dataset) and n.startswith("codebooks/"):
            # embedded codebook files: equal once the v2 seal line (file_sha256) is dropped
            assert a.dtype == b.dtype and unsealed(a[()]) == unsealed(b[()]), n
        elif isinstance(a, h5py.Dataset):
            assert a.dtype == b.dtype and np.array_equal(a[()], b[()]), n
    assert sorted(set(x.attrs) - set(skip)) == sorted(set(y.attrs) - set(skip))
    for k in set(x.attrs) - set(skip):
        assert np.array_equal(text(x.attrs[k]), text(y.attrs[k])), k
same(golden, again, {"fq_version", "fq_header_sha256"})
same(golden, golden1, {"fq_version", "fq_header_sha256", "fq_format_version"})
assert golden.attrs["fq_format_version"] == 2 and golden1.attrs["fq_format_version"] == 1
PY
echo ok

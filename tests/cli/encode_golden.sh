#!/usr/bin/env bash
# Golden container (format version 1): tests/golden/sample-layer0-t128.v1.fq.h5 was written
# by fq-encode 0.1.0 from tests/golden/sample-layer0-t128.h5 (layer 0, tokens 0..127 of the
# real d = 64 sample) with
#   fq-encode -i sample-layer0-t128.h5 -o sample-layer0-t128.v1.fq.h5 --chunk-tokens 50 \
#       --k-codec scalar:bits=2 --v-codec scalar:bits=2,header=gain --codebooks /nonexistent
# It must keep decoding to the same numbers, and encoding the same input again must give the
# same container content (every dataset and attribute but fq_version): a change here is a
# format change and needs a new fq_format_version (docs/FORMAT.md §2).
# Usage: encode_golden.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1"
root="$2"
golden="$root/tests/golden/sample-layer0-t128.v1.fq.h5"
input="$root/tests/golden/sample-layer0-t128.h5"

run "$bin/fq-decode" -i "$golden" -o "$tmp/dec.h5" -q
run "$bin/fq-encode" -i "$input" -o "$tmp/again.fq.h5" --chunk-tokens 50 \
    --k-codec scalar:bits=2 --v-codec scalar:bits=2,header=gain --codebooks "$tmp/none" -q
"$py" - "$golden" "$tmp/again.fq.h5" "$tmp/dec.h5" "$input" <<'PY' || fail "golden container"
import sys, hashlib, h5py, numpy as np
golden, again, dec, inp = (h5py.File(p, "r") for p in sys.argv[1:5])
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
# 2. re-encoding gives the same container content
def items(f):
    out = {}
    f.visititems(lambda n, o: out.__setitem__(n, o))
    return out
ga, gb = items(golden), items(again)
assert ga.keys() == gb.keys(), (sorted(ga), sorted(gb))
for n in ga:
    a, b = ga[n], gb[n]
    assert sorted(a.attrs) == sorted(b.attrs), n
    for k in a.attrs:
        assert np.array_equal(a.attrs[k], b.attrs[k]), (n, k)
    if isinstance(a, h5py.Dataset):
        assert a.dtype == b.dtype and np.array_equal(a[()], b[()]), n
skip = {"fq_version"}
assert sorted(set(golden.attrs) - skip) == sorted(set(again.attrs) - skip)
for k in set(golden.attrs) - skip:
    assert np.array_equal(golden.attrs[k], again.attrs[k]), k
assert golden.attrs["fq_format_version"] == 1
PY
echo ok

#!/usr/bin/env bash
# Per-layer codec maps and float16 windows, on the 4-sequence d = 64 dump: a config gives
# layer 0 scalar b=4, the last layer's keys fib k=2 N=256, every other dataset fib k=4 N=256,
# and keeps the first 4 and last 16 tokens of each sequence in float16. Checks: each
# dataset's codec; the window tokens (per sequence); window tokens decode bit-exactly and the
# others do not; token slices equal the full decode; the exact rate of each dataset and of
# K, V and K+V, recomputed here from the container's attributes, equals the encode summary
# and fq-eval's; a damaged window byte is refused (exit 3).
# Usage: encode_windows.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1"
root="$2"
dump="$root/data/sample_kv_d64_4seg.h5"
cat >"$tmp/cfg.json" <<'JSON'
{"k": "fib:k=4,N=256", "v": "fib:k=4,N=256",
 "layers": [{"layers": "0", "codec": "scalar:bits=4"},
            {"layers": "-1", "k": "fib:k=2,N=256"}],
 "keep_first": 4, "keep_last": 16}
JSON
run "$bin/fq-encode" -i "$dump" -o "$tmp/w.fq.h5" --config "$tmp/cfg.json"
cp "$tmp/out" "$tmp/summary.txt"
grep -q "^layer_0/k  *scalar b=4" "$tmp/summary.txt" || fail "no per-dataset rows: $(cat "$tmp/summary.txt")"
grep -q "window: first 4 and last 16" "$tmp/summary.txt" || fail "no window line"
run "$bin/fq-decode" -i "$tmp/w.fq.h5" -o "$tmp/w.dec.h5"
run "$bin/fq-decode" -i "$tmp/w.fq.h5" -o "$tmp/slice.h5" --tokens 100:300 --select layer_2/v
run "$bin/fq-eval" -i "$dump" -c "$tmp/w.fq.h5" --json "$tmp/eval.json"
"$py" - "$dump" "$tmp" <<'PY' || fail "windows and per-layer codecs"
import json, re, sys
import h5py, numpy as np
dump, t = sys.argv[1], sys.argv[2]
src, c, dec = h5py.File(dump, "r"), h5py.File(f"{t}/w.fq.h5", "r"), h5py.File(f"{t}/w.dec.h5", "r")
want_window = [s * 128 + i for s in range(4) for i in list(range(4)) + list(range(112, 128))]
bits = {"k": [0.0, 0.0], "v": [0.0, 0.0]}
exact = {}
for L in range(5):
    for n in "kv":
        g = c[f"layer_{L}/{n}"]
        codec = json.loads(g.attrs["codec"])
        want = ("scalar" if L == 0 else "fib")
        assert codec["codec"] == want, (L, n, codec)
        w = g["window_tokens"][()]
        assert list(w) == want_window, (L, n, w[:30])
        assert g.attrs["keep_first"] == 4 and g.attrs["keep_last"] == 16
        H, T, d = int(g.attrs["heads"]), int(g.attrs["tokens"]), int(g.attrs["d"])
        W = len(w)
        assert g["codes"].shape[1] == T - W, g["codes"].shape
        e = g.attrs["code_bits"] * H * (T - W) + 16.0 * H * W * d + 64.0 * W
        exact[f"layer_{L}/{n}"] = e / (H * T * d)
        bits[n][0] += e
        bits[n][1] += H * T * d
        x = src[f"layer_{L}/{n}"][()].astype(np.float32)
        y = dec[f"layer_{L}/{n}"][()]
        assert np.array_equal(x[:, w], y[:, w]), (L, n, "window not exact")
        others = np.setdiff1d(np.arange(T), w)
        assert not np.array_equal(x[:, others], y[:, others]), (L, n)
k2 = json.loads(c["layer_4/k"].attrs["codec"])
cb = json.loads(bytes(c["codebooks/" + k2["codebook"][7:]][()]).decode())
assert cb["k"] == 2 and cb["N"] == 256, (cb["k"], cb["N"])
s = h5py.File(f"{t}/slice.h5", "r")["layer_2/v"][()]
assert np.array_equal(s, dec["layer_2/v"][()][:, 100:300]), "slice differs from the full decode"
# The summary's rates equal the exact ones recomputed here.
text = open(f"{t}/summary.txt").read()
for path, r in exact.items():
    m = re.search(rf"^{path} .*? (\S+) +(\S+)$", text, re.M)
    assert m and abs(float(m.group(1)) - r) < 1e-4, (path, r, m and m.group(0))
tot = (bits["k"][0] + bits["v"][0]) / (bits["k"][1] + bits["v"][1])
m = re.search(r"^K\+V .*? (\S+) +(\S+)$", text, re.M)
assert m and abs(float(m.group(1)) - tot) < 1e-4, (tot, m and m.group(0))
ev = json.load(open(f"{t}/eval.json"))
for n in "kv":
    assert abs(ev["rate"][n]["nominal_bits"] - bits[n][0] / bits[n][1]) < 1e-9, (n, ev["rate"][n])
    assert ev["rate"][n]["window_bits"] > 2, ev["rate"][n]
assert ev["sequences"]["count"] == 4
PY
# Keys with an inner-product estimator (qjl) and a window: evaluated through decoded keys.
run "$bin/fq-encode" -i "$dump" -o "$tmp/q.fq.h5" --k-codec qjl --v-codec fib:k=4,N=256 --keep-first 4
run "$bin/fq-eval" -i "$dump" -c "$tmp/q.fq.h5" --json "$tmp/q.json"
"$py" -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['scores'] == 'decoded keys', j['scores']" "$tmp/q.json" ||
    fail "qjl + window scored from codes"
# A window value beyond the float16 range: refused (exit 4), nothing written.
"$py" - "$dump" "$tmp/big.h5" <<'PY'
import shutil, sys, h5py, numpy as np
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    k = f["layer_0/k"]
    x = k[()].astype(np.float32)
    del f["layer_0/k"]
    x[0, 0, 0] = 1e6
    f["layer_0/k"] = x
PY
expect_error "$bin/fq-encode" 4 -i "$tmp/big.h5" -o "$tmp/big.fq.h5" --keep-first 1 --k-codec float16
[ -e "$tmp/big.fq.h5" ] && fail "a refused encode left an output"
# A flipped byte in a window value: refused, nothing written.
cp "$tmp/w.fq.h5" "$tmp/bad.fq.h5"
"$py" - "$tmp/bad.fq.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    v = f["layer_1/v/window"]
    x = v[()].view(np.uint16)
    x[0, 3, 5] ^= 0x0100
    v[...] = x.view(np.float16)
PY
expect_error "$bin/fq-decode" 3 -i "$tmp/bad.fq.h5" -o "$tmp/bad.h5"
grep -q "window checksum mismatch" "$tmp/err" || fail "window damage: $(cat "$tmp/err")"
[ -e "$tmp/bad.h5" ] && fail "a refused decode left an output"
echo ok

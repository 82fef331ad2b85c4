#!/usr/bin/env bash
# fq-encode / fq-decode failure modes: each a one-line error and its documented exit code
# (1 usage, 2 I/O, 3 corrupt or mismatched file, 4 NaN/Inf), nothing left behind.
# Usage: encode_errors.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1"
root="$2"
sample="$root/data/sample_kv_d64.h5"
mkdir -p "$tmp/cb/d64"
export FQ_CODEBOOKS="$tmp/cb"
run "$bin/fq-train" scalar --d 64 --bits 2 -o "$tmp/s2.json" -q
run "$bin/fq-train" scalar --d 64 --bits 3 -o "$tmp/s3.json" -q
run "$bin/fq-encode" -i "$sample" -o "$tmp/ok.fq.h5" -c "$tmp/s2.json" -q --chunk-tokens 200

# Usage (1): existing output untouched, d mismatch, no codebook for d, bad options.
cp "$tmp/ok.fq.h5" "$tmp/keep.fq.h5"
sum=$(sha256sum "$tmp/keep.fq.h5" | cut -d' ' -f1)
expect_error "$bin/fq-encode" 1 -i "$sample" -o "$tmp/keep.fq.h5" -c "$tmp/s3.json"
grep -q -- "--force" "$tmp/err" || fail "no --force hint: $(cat "$tmp/err")"
[ "$(sha256sum "$tmp/keep.fq.h5" | cut -d' ' -f1)" = "$sum" ] || fail "existing output modified"
expect_error "$bin/fq-decode" 1 -i "$tmp/ok.fq.h5" -o "$tmp/keep.fq.h5"
[ "$(sha256sum "$tmp/keep.fq.h5" | cut -d' ' -f1)" = "$sum" ] || fail "existing output modified"
run "$bin/fq-encode" -i "$sample" -o "$tmp/keep.fq.h5" -c "$tmp/s3.json" --force -q
expect_error "$bin/fq-encode" 1 -i "$root/data/sample_kv.h5" -o "$tmp/d8.fq.h5" -c "$tmp/s2.json"
grep -q "d = 8" "$tmp/err" && grep -q "d = 64" "$tmp/err" || fail "d mismatch message: $(cat "$tmp/err")"
expect_error "$bin/fq-encode" 1 -i "$root/data/sample_kv.h5" -o "$tmp/d8.fq.h5" --no-train
grep -q "fq-train fib --d 8 --k 4 --N 256 --restarts 2 -o $tmp/cb/d8/fib-k4-N256.json" "$tmp/err" ||
    fail "no fq-train command: $(cat "$tmp/err")"
expect_error "$bin/fq-encode" 1 -i "$sample" -o "$tmp/x.fq.h5" --k-codec "fib:rate=2,bogus=1"
expect_error "$bin/fq-encode" 1 -i "$sample" -o "$tmp/x.fq.h5" --k-codec "nosuch:rate=2"
expect_error "$bin/fq-encode" 1 -i "$sample" -o "$tmp/x.fq.h5" --rate 0
echo '{"k": {"codec": "scalar", "codebook": "'"$tmp/s2.json"'", "bits": 2}}' >"$tmp/badcfg.json"
expect_error "$bin/fq-encode" 1 -i "$sample" -o "$tmp/x.fq.h5" --config "$tmp/badcfg.json"
grep -q "unknown key 'bits'" "$tmp/err" || fail "config unknown key: $(cat "$tmp/err")"
echo '{"keys": "scalar:bits=2"}' >"$tmp/badcfg2.json"
expect_error "$bin/fq-encode" 1 -i "$sample" -o "$tmp/x.fq.h5" --config "$tmp/badcfg2.json"
expect_error "$bin/fq-decode" 1 -i "$tmp/ok.fq.h5" -o "$tmp/x.h5" --tokens 500:600
expect_error "$bin/fq-decode" 1 -i "$tmp/ok.fq.h5" -o "$tmp/x.h5" --heads 2:3
expect_error "$bin/fq-decode" 1 -i "$tmp/ok.fq.h5" -o "$tmp/x.h5" --dtype int8

# I/O (2): missing files and datasets.
expect_error "$bin/fq-encode" 2 -i "$tmp/nope.h5" -o "$tmp/x.fq.h5" -c "$tmp/s2.json"
expect_error "$bin/fq-encode" 2 -i "$sample" -o "$tmp/x.fq.h5" -c "$tmp/nope.json"
expect_error "$bin/fq-encode" 2 -i "$sample" -o "$tmp/x.fq.h5" -c "$tmp/s2.json" --select 'no/such/*'
expect_error "$bin/fq-encode" 2 -i "$sample" -o "$tmp/no/dir/x.fq.h5" -c "$tmp/s2.json"
expect_error "$bin/fq-decode" 2 -i "$tmp/nope.fq.h5" -o "$tmp/x.h5"
expect_error "$bin/fq-decode" 2 -i "$tmp/ok.fq.h5" -o "$tmp/x.h5" --select layer_9/k

# Numeric (4): NaN and Inf reported with their first location, no output left.
cp "$sample" "$tmp/nan.h5"
"$py" - "$tmp/nan.h5" <<'PY' || fail "writing NaN"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    f["layer_1/k"][1, 7, 3] = np.nan
    f["layer_3/v"][0, 2, 0] = np.inf
PY
expect_error "$bin/fq-encode" 4 -i "$tmp/nan.h5" -o "$tmp/nan.fq.h5" -c "$tmp/s2.json"
grep -q "layer_1/k: NaN at \[head 1, token 7, dim 3\]" "$tmp/err" || fail "NaN location: $(cat "$tmp/err")"
grep -q "nan.h5" "$tmp/err" || fail "NaN message lacks the file"
expect_error "$bin/fq-encode" 4 -i "$tmp/nan.h5" -o "$tmp/nan.fq.h5" -c "$tmp/s2.json" --select 'layer_3/*'
grep -q "layer_3/v: Inf at \[head 0, token 2, dim 0\]" "$tmp/err" || fail "Inf location: $(cat "$tmp/err")"
ls "$tmp" | grep -q "nan.fq" && fail "a failed run left an output"
# A norm beyond float16 (float32 dump): exit 4 naming the place; a float32 header works.
run "$py" "$root/scripts/write_kv_dump.py" --synthetic --dtype float32 --layers 1 --heads 2 \
    --kv-heads 2 --tokens 40 --head-dim 64 -o "$tmp/big.h5"
"$py" - "$tmp/big.h5" <<'PY' || fail "writing a huge vector"
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f["layer_0/v"][1, 33, :] = 3e4
PY
expect_error "$bin/fq-encode" 4 -i "$tmp/big.h5" -o "$tmp/big.fq.h5" -c "$tmp/s2.json"
grep -q "layer_0/v: tokens \[0, 40): norm .* overflows the float16 header" "$tmp/err" || fail "overflow: $(cat "$tmp/err")"
run "$bin/fq-encode" -i "$tmp/big.h5" -o "$tmp/big.fq.h5" -c "$tmp/s2.json" --header-type float32 -q

# Corrupt or mismatched (3).
corrupt() {  # corrupt NAME PYTHON-STATEMENTS (f = the container opened r+)
    cp "$tmp/ok.fq.h5" "$tmp/$1.fq.h5"
    "$py" - "$tmp/$1.fq.h5" "$2" <<'PY' || fail "corrupting $1"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    exec(sys.argv[2])
PY
}
corrupt byte 'c = f["layer_2/v/codes"]; b = c[1, 300]; b[4] ^= 0x10; c[1, 300] = b'
expect_error "$bin/fq-decode" 3 -i "$tmp/byte.fq.h5" -o "$tmp/x.h5"
grep -q "layer_2/v: checksum mismatch in head 1, tokens \[200, 400)" "$tmp/err" || fail "byte: $(cat "$tmp/err")"
# a slice that does not touch the damaged block still decodes; one that does, fails
run "$bin/fq-decode" -i "$tmp/byte.fq.h5" -o "$tmp/clean_slice.h5" --select layer_2/v --tokens 0:200
expect_error "$bin/fq-decode" 3 -i "$tmp/byte.fq.h5" -o "$tmp/y.h5" --select layer_2/v --tokens 399:400 --heads 1
corrupt table 'f["layer_0/k/block_sha256"][0, 0, 0] ^= 1'
expect_error "$bin/fq-decode" 3 -i "$tmp/table.fq.h5" -o "$tmp/x.h5"
corrupt version 'f.attrs["fq_format_version"] = np.int64(3)'
expect_error "$bin/fq-decode" 3 -i "$tmp/version.fq.h5" -o "$tmp/x.h5"
grep -q "unsupported fq_format_version 3" "$tmp/err" || fail "version: $(cat "$tmp/err")"
corrupt format 'del f.attrs["fq_format"]'
expect_error "$bin/fq-decode" 3 -i "$tmp/format.fq.h5" -o "$tmp/x.h5"
corrupt codebytes 'f["layer_1/k"].attrs["code_bytes"] = np.int64(1 << 40)'
expect_error "$bin/fq-decode" 3 -i "$tmp/codebytes.fq.h5" -o "$tmp/x.h5"
corrupt codebook 'n = [k for k in f["codebooks"]][0]; c = f["codebooks/" + n]; b = c[()]; b[200] ^= 1; c[...] = b'
expect_error "$bin/fq-decode" 3 -i "$tmp/codebook.fq.h5" -o "$tmp/x.h5"
cp "$tmp/ok.fq.h5" "$tmp/trunc.fq.h5"
truncate -s $(( $(stat -c %s "$tmp/trunc.fq.h5") / 2 )) "$tmp/trunc.fq.h5"
expect_error "$bin/fq-decode" 3 -i "$tmp/trunc.fq.h5" -o "$tmp/x.h5"
head -c 1000 /dev/urandom >"$tmp/noise.fq.h5"
expect_error "$bin/fq-decode" 3 -i "$tmp/noise.fq.h5" -o "$tmp/x.h5"
expect_error "$bin/fq-decode" 3 -i "$sample" -o "$tmp/x.h5"
grep -q "not an fq compressed file" "$tmp/err" || fail "dump as container: $(cat "$tmp/err")"
# -c: a matching codebook decodes the same bytes; another one is a mismatch
run "$bin/fq-decode" -i "$tmp/ok.fq.h5" -o "$tmp/embedded.h5" -q
run "$bin/fq-decode" -i "$tmp/ok.fq.h5" -o "$tmp/given.h5" -c "$tmp/s2.json" -q
same_h5 "$tmp/embedded.h5" "$tmp/given.h5" || fail "-c decode differs from embedded"
expect_error "$bin/fq-decode" 3 -i "$tmp/ok.fq.h5" -o "$tmp/x.h5" -c "$tmp/s3.json"
grep -q "codebook hash mismatch" "$tmp/err" || fail "-c mismatch: $(cat "$tmp/err")"
ls "$tmp" | grep -q "^x.h5" && fail "a failed decode left an output"
echo ok

#!/usr/bin/env bash
# The MPI build (issue 15): fq-encode, fq-decode and fq-eval under mpirun with P = 1, 2, 3
# ranks against the serial apps, on the 4-sequence d = 64 dump with float16 windows and a
# centred codec: the containers of every P are the same bytes and hold the serial
# container's codes and attributes; the serial fq-decode restores them to the serial
# decode; fq-decode under MPI writes the serial decode; fq-eval under MPI reports the serial
# JSON; a rank that meets a NaN stops every rank with exit 4, one error line and no output;
# subcommands that do not split refuse to run on several ranks (exit 1).
# Usage: mpi_ranks.sh MPI_APP_DIR SERIAL_APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mpi="$1"
ser="$2"
root="$3"
dump="$root/data/sample_kv_d64_4seg.h5"
for a in fq-encode fq-decode fq-eval; do
    [ -x "$ser/$a" ] || fail "no serial $ser/$a (build the default build first: make build)"
done
launch=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && launch+=(--allow-run-as-root)
enc=(--k-codec fib:rate=2,center=head --v-codec tcq:bits=2 --keep-first 4 --keep-last 16
     --chunk-tokens 64)

run "$ser/fq-encode" -i "$dump" -o "$tmp/s.fq.h5" "${enc[@]}"
run "$ser/fq-decode" -i "$tmp/s.fq.h5" -o "$tmp/s.h5"
run "$ser/fq-eval" -i "$dump" -c "$tmp/s.fq.h5" --json "$tmp/s.json" --last 64
for P in 1 2 3; do
    run "${launch[@]}" -n $P "$mpi/fq-encode" -i "$dump" -o "$tmp/m$P.fq.h5" "${enc[@]}"
    run "$ser/fq-decode" -i "$tmp/m$P.fq.h5" -o "$tmp/m$P.h5"
    same_h5 "$tmp/s.h5" "$tmp/m$P.h5" || fail "P=$P: the MPI container decodes differently"
    run "${launch[@]}" -n $P "$mpi/fq-decode" -i "$tmp/s.fq.h5" -o "$tmp/d$P.h5"
    same_h5 "$tmp/s.h5" "$tmp/d$P.h5" || fail "P=$P: fq-decode under MPI differs"
    run "${launch[@]}" -n $P "$mpi/fq-eval" -i "$dump" -c "$tmp/s.fq.h5" --json "$tmp/e$P.json" \
        --last 64
    "$py" - "$tmp/s.json" "$tmp/e$P.json" <<'PY' || fail "P=$P: fq-eval under MPI differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for j in (a, b):
    j.pop("compressed"), j.pop("original")
assert a == b, [k for k in a if a[k] != b.get(k)]
PY
done
cmp -s "$tmp/m1.fq.h5" "$tmp/m2.fq.h5" && cmp -s "$tmp/m1.fq.h5" "$tmp/m3.fq.h5" ||
    fail "containers differ between rank counts"
"$py" - "$tmp/s.fq.h5" "$tmp/m3.fq.h5" <<'PY' || fail "MPI container content"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
def items(f):
    out = {}
    f.visititems(lambda n, o: out.__setitem__(n, o))
    return out
ia, ib = items(a), items(b)
assert ia.keys() == ib.keys(), set(ia) ^ set(ib)
for n in ia:
    x, y = ia[n], ib[n]
    assert sorted(x.attrs) == sorted(y.attrs), n
    for k in x.attrs:
        assert np.array_equal(x.attrs[k], y.attrs[k]) or k == "fq_header_sha256", (n, k)
    if isinstance(x, h5py.Dataset):
        assert x.dtype == y.dtype and np.array_equal(x[()], y[()]), n
assert "layer_0/k/center" in ia and "layer_0/v/window" in ia
PY

# A NaN in a block of rank 1 or 2: every rank stops, exit 4, one line, nothing left behind.
"$py" - "$dump" "$tmp/nan.h5" <<'PY' || fail "could not write the damaged dump"
import shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    v = f["layer_1/v"][()]
    v[1, 300, 5] = float("nan")
    f["layer_1/v"][...] = v
PY
mkdir "$tmp/outdir"
for P in 2 3; do
    expect_exit 4 "${launch[@]}" -n $P "$mpi/fq-encode" -i "$tmp/nan.h5" -o "$tmp/outdir/bad.fq.h5" \
        --chunk-tokens 64
    [ "$(grep -c '^fq-encode: error: ' "$tmp/err")" -eq 1 ] || fail "P=$P: not one error line: $(cat "$tmp/err")"
    grep -q "layer_1/v: NaN at \[head 1, token 300, dim 5\]" "$tmp/err" || fail "P=$P: $(cat "$tmp/err")"
    [ -z "$(ls -A "$tmp/outdir")" ] || fail "P=$P: output left behind: $(ls "$tmp/outdir")"
done
expect_exit 1 "${launch[@]}" -n 2 "$mpi/fq-eval" source --d 64
grep -q "runs on one rank" "$tmp/err" || fail "fq-eval source under 2 ranks: $(cat "$tmp/err")"
echo "mpi ranks: ok"

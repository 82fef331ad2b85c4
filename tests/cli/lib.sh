# The shared preamble of the CLI shell cases. Source it right after `set -u`:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# It gives
#   tmp                        a fresh directory, removed when the script exits
#   py                         Debian's python3 (with python3-h5py), else python3 on PATH
#   fail MSG...                "FAIL: MSG" on stderr, exit 1
#   run CMD...                 CMD with stdout in $tmp/out and stderr in $tmp/err; fail unless 0
#   expect_exit CODE CMD...    CMD (output in $tmp/out, $tmp/err) must exit with CODE
#   expect_error PROG CODE ARGS...
#                              PROG ARGS must exit with CODE and write one stderr line
#                              "<basename of PROG>: error: ..." (in $tmp/err)
#   same_h5 A B                same datasets (values, dtypes, shapes) and attributes
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
[ -x "$py" ] || py=python3

fail() { echo "FAIL: $*" >&2; exit 1; }

run() { "$@" >"$tmp/out" 2>"$tmp/err" || fail "$* exited $?: $(cat "$tmp/err")"; }

expect_exit() {
    local want="$1"; shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    [ "$got" -eq "$want" ] || fail "$* exited $got, expected $want: $(cat "$tmp/err")"
}

expect_error() {
    local prog=$1 want=$2 app
    shift 2
    app=$(basename "$prog")
    "$prog" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "$app $* exited $rc, expected $want: $(cat "$tmp/err")"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$app $*: stderr is not one line: $(cat "$tmp/err")"
    grep -q "^$app: error: " "$tmp/err" || fail "$app $*: stderr: $(cat "$tmp/err")"
}

# Decoded dumps are compared by content: KvDumpWriter's HDF5 objects carry modification
# times.
same_h5() {
    "$py" - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
def items(f):
    out = {}
    f.visititems(lambda n, o: out.__setitem__(n, o))
    return out
ia, ib = items(a), items(b)
assert ia.keys() == ib.keys(), (ia.keys(), ib.keys())
for n in ia:
    for x, y in [(ia[n], ib[n])]:
        assert sorted(x.attrs) == sorted(y.attrs), n
        for k in x.attrs:
            assert np.array_equal(x.attrs[k], y.attrs[k]), (n, k)
        if isinstance(x, h5py.Dataset):
            assert x.dtype == y.dtype and x.shape == y.shape, n
            assert np.array_equal(x[()], y[()]), n
assert sorted(a.attrs) == sorted(b.attrs)
PY
}

#!/usr/bin/env bash
# fq-train fib: a small run (with and without a tail block), the file's content, and
# byte-identical output with -j 1 and -j 2. Usage: train_fib.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1/fq-train"

small=(--d 16 --k 2 --N 8 --samples 20000 --restarts 2)
"$bin" fib "${small[@]}" -j 1 -o "$tmp/j1.json" >"$tmp/summary" 2>"$tmp/err" ||
    fail "fib run exited $?: $(cat "$tmp/err")"
grep -q "best restart" "$tmp/summary" || fail "summary lacks the best restart"
"$bin" fib "${small[@]}" -j 2 -o "$tmp/j2.json" -q >/dev/null || fail "-j 2 exited $?"
cmp -s "$tmp/j1.json" "$tmp/j2.json" || fail "-j 1 and -j 2 outputs differ"

python3 - "$tmp/j1.json" <<'PY' || fail "file content"
import json, math, sys
doc = json.load(open(sys.argv[1]))
assert doc["family"] == "fib" and doc["d"] == 16 and doc["k"] == 2 and doc["N"] == 8
assert abs(doc["rate_bits_per_coord"] - 1.5) < 1e-15
assert doc["tail"] is None and len(doc["codewords"]) == 8
assert all(len(row) == 2 for row in doc["codewords"])
c = doc["construction"]
assert c["seed"] == 1 and c["restarts"] == 2 and c["train_samples"] == 20000, c
t = doc["training"]["main"]
assert len(t["restarts"]) == 2 and len(t["restarts"][0]["history"]) >= 1
for which in ("train", "val"):
    d = doc["distortion"][which]
    assert 0 < d["mse_per_vector"] < 1, d
    assert abs(d["db_above_bound"] - 10 * math.log10(d["mse_per_vector"] * 4 ** 1.5)) < 1e-9
PY

# k = 3 at d = 16: 5 full blocks and a tail block of 1 coordinate.
"$bin" fib --d 16 --k 3 --N 8 --samples 20000 --restarts 1 -o "$tmp/k3.json" -q >/dev/null ||
    fail "k = 3 run exited $?"
python3 - "$tmp/k3.json" <<'PY' || fail "k = 3 file content"
import json, math, sys
doc = json.load(open(sys.argv[1]))
tail = doc["tail"]
assert tail["k"] == 1 and tail["N"] == 2 and len(tail["codewords"]) == 2, tail
assert abs(doc["rate_bits_per_coord"] - (5 * 3 + 1) / 16) < 1e-15
assert doc["training"]["main"]["shell_choices"], "k = 3 shell choices missing"
PY

# The content hash, recomputed independently over the canonical bytes of docs/FORMAT.md.
for f in "$tmp/j1.json" "$tmp/k3.json"; do
    python3 - "$f" <<'PY' || fail "content hash of $f"
import hashlib, json, struct, sys
doc = json.load(open(sys.argv[1]))
s = lambda t: struct.pack('<q', len(t)) + t.encode()
b = b"fq-codebook/1" + s(doc["family"]) + struct.pack('<qqq', doc["d"], doc["k"], doc["N"])
b += s(doc["rotation"]["kind"]) + struct.pack('<Q', doc["rotation"]["seed"])
b += b"".join(struct.pack('<d', x) for row in doc["codewords"] for x in row)
tail = doc["tail"] or {"k": 0, "N": 0, "codewords": []}
b += struct.pack('<qq', tail["k"], tail["N"])
b += b"".join(struct.pack('<d', x) for row in tail["codewords"] for x in row)
want = "sha256:" + hashlib.sha256(b).hexdigest()
assert doc["content_hash"] == want, (doc["content_hash"], want)
PY
done

# Invalid combinations are usage errors (exit 1).
"$bin" fib --d 16 --k 16 --N 8 -o "$tmp/bad.json" 2>"$tmp/err" >/dev/null
rc=$?
[ "$rc" -eq 1 ] || fail "k = d exited $rc"
"$bin" fib --d 16 --k 2 --N 8 --shells 2 -o "$tmp/bad.json" 2>"$tmp/err" >/dev/null
rc=$?
[ "$rc" -eq 1 ] || fail "--shells with k = 2 exited $rc"
"$bin" fib --d 16 --k 2 --N 8 --samples -5 -o "$tmp/bad.json" 2>"$tmp/err" >/dev/null
rc=$?
[ "$rc" -eq 1 ] || fail "--samples -5 exited $rc"
[ -e "$tmp/bad.json" ] && fail "a failed run left an output file"
echo "ok"

#!/usr/bin/env bash
# fq-eval plan on the d = 64 sample (calibrate on tokens 0:256, apply to 256:512): the plan
# never exceeds its budget (1.5, 2.25, 3.25 bits, and with a float16 window), is
# deterministic, applies with fq-encode --config (whose total rate is within the budget), is
# never worse than the best uniform codec on the calibration tokens, and, on a dump whose
# layer 2 keys carry a large common vector, beats the uniform codec and codes that layer's
# keys differently. A budget below every candidate is refused (exit 1).
# Usage: plan.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1"
root="$2"
run "$py" "$root/scripts/slice_dump.py" -i "$root/data/sample_kv_d64.h5" -o "$tmp/cal.h5" --tokens 0:256
run "$py" "$root/scripts/slice_dump.py" -i "$root/data/sample_kv_d64.h5" -o "$tmp/ev.h5" --tokens 256:512
for b in 1.5 2.25 3.25; do
    run "$bin/fq-eval" plan -i "$tmp/cal.h5" --budget $b -o "$tmp/p$b.json" --json "$tmp/r$b.json"
    run "$bin/fq-encode" -i "$tmp/ev.h5" -o "$tmp/e$b.fq.h5" --config "$tmp/p$b.json"
    cp "$tmp/out" "$tmp/s$b.txt"
done
run "$bin/fq-eval" plan -i "$tmp/cal.h5" --budget 2.25 -o "$tmp/again.json" -j 1 -q
cmp -s "$tmp/p2.25.json" "$tmp/again.json" || fail "the plan depends on the run or thread count"
run "$bin/fq-eval" plan -i "$tmp/cal.h5" --budget 4 --keep-last 16 -o "$tmp/pw.json" --json "$tmp/rw.json"
run "$bin/fq-encode" -i "$tmp/ev.h5" -o "$tmp/ew.fq.h5" --config "$tmp/pw.json"
cp "$tmp/out" "$tmp/sw.txt"
"$py" - "$tmp" <<'PY' || fail "plan budgets"
import json, re, sys
t = sys.argv[1]
for b, name in [(1.5, "1.5"), (2.25, "2.25"), (3.25, "3.25"), (4.0, "w")]:
    r = json.load(open(f"{t}/r{name}.json"))
    assert r["total_rate"] <= b + 1e-9, (b, r["total_rate"])
    assert r["uniform"] is None or r["measured"] <= r["uniform"]["measured"] + 1e-12, r
    total = float(re.search(r"^K\+V .*? (\S+) +\S+$", open(f"{t}/s{name}.txt").read(), re.M).group(1))
    assert total <= b + 1e-4, (b, total)
assert json.load(open(f"{t}/pw.json"))["keep_last"] == 16
PY
# A large common vector on the keys of layer 2 (invisible to softmax, hard on a universal code).
"$py" - "$tmp" <<'PY'
import sys, h5py, numpy as np
t = sys.argv[1]
for name in ("cal", "ev"):
    with h5py.File(f"{t}/{name}.h5", "r+") as f:
        k = f["layer_2/k"][()].astype(np.float32)
        c = np.random.default_rng(7).standard_normal(64).astype(np.float32)
        c *= 20 * np.linalg.norm(k, axis=-1).mean() / np.linalg.norm(c)
        f["layer_2/k"][...] = (k + c).astype(np.float16)
PY
echo '["fib:k=2,N=16", "fib:k=2,N=64", "fib:k=2,N=256", "fib:k=3,N=64", "fib:k=4,N=16", "fib:k=4,N=256", "fib:k=8,N=256"]' > "$tmp/fibs.json"
run "$bin/fq-eval" plan -i "$tmp/cal.h5" --budget 2.25 --candidates "$tmp/fibs.json" -o "$tmp/pb.json" --json "$tmp/rb.json"
"$py" - "$tmp/rb.json" <<'PY' || fail "biased layer"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["measured"] < 0.9 * r["uniform"]["measured"], (r["measured"], r["uniform"])
k2 = next(c for c in r["choice"] if c["dataset"] == "layer_2/k")
assert k2["codec"] != r["uniform"]["codec"], k2
PY
# A candidate computed in memory (scalar b = 5 is not shipped): the plan names it by its
# SPEC, so fq-encode can apply it.
echo '["scalar:bits=5", "fib:k=4,N=256"]' > "$tmp/c5.json"
run "$bin/fq-eval" plan -i "$tmp/cal.h5" --budget 6 --candidates "$tmp/c5.json" -o "$tmp/p5.json"
run "$bin/fq-encode" -i "$tmp/ev.h5" -o "$tmp/e5.fq.h5" --config "$tmp/p5.json"
expect_error "$bin/fq-eval" 1 plan -i "$tmp/cal.h5" --budget 0.1 -o "$tmp/low.json"
[ -e "$tmp/low.json" ] && fail "a refused plan was written"
echo ok

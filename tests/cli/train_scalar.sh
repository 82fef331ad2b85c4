#!/usr/bin/env bash
# fq-train scalar: the exact Lloyd-Max codebook (SPEC 4.1 table: d = 64, b = 2 -> 0.11453),
# overwrite refusal, option validation, --config, determinism across thread counts.
# Usage: train_scalar.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1/fq-train"

"$bin" scalar --d 64 --bits 2 -o "$tmp/s.json" >"$tmp/summary" 2>"$tmp/err" ||
    fail "scalar run exited $?: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && fail "stderr not empty (not a terminal): $(cat "$tmp/err")"
grep -q "dB above bound" "$tmp/summary" || fail "summary lacks dB above bound"
python3 - "$tmp/s.json" <<'PY' || fail "file content"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["format"] == "fq-codebook" and doc["format_version"] == 1, doc["format"]
assert doc["family"] == "scalar", doc["family"]
assert doc["d"] == 64 and doc["k"] == 1 and doc["N"] == 4
assert doc["rate_bits_per_coord"] == 2.0
total = doc["distortion"]["val"]["mse_per_vector"]
assert abs(total - 0.11453) < 1e-4, total
assert len(doc["codewords"]) == 4 and doc["tail"] is None
assert doc["content_hash"].startswith("sha256:") and len(doc["content_hash"]) == 71
PY

# Existing output: refused without --force (exit 1), accepted with it.
expect_error "$bin" 1 scalar --d 64 --bits 2 -o "$tmp/s.json"
grep -q -- "--force" "$tmp/err" || fail "overwrite error does not mention --force"
"$bin" scalar --d 64 --bits 2 -o "$tmp/s.json" --force -q >/dev/null || fail "--force exited $?"

# Validation by CLI11 and by the library.
expect_error "$bin" 1 scalar --d 64 --bits 9 -o "$tmp/b9.json"
expect_error "$bin" 1 scalar --d 64 --bits 2 --rotation hadamard2 -o "$tmp/r.json"
expect_error "$bin" 1 scalar --d 100 --bits 2 --rotation hadamard -o "$tmp/h.json"
expect_error "$bin" 1 scalar --d 64 --bits 2
expect_error "$bin" 1 scalar --d 64 --bits 2 --rotation-seed -1 -o "$tmp/neg.json"
expect_error "$bin" 1 scalar --d 64 --bits 2 --no-such-option -o "$tmp/x.json"
expect_error "$bin" 2 scalar --d 64 --bits 2 -o "$tmp/no/such/dir/x.json"
[ -e "$tmp/b9.json" ] && fail "a failed run left an output file"

# Determinism: same bytes whatever the thread count.
"$bin" scalar --d 128 --bits 3 -j 1 -o "$tmp/j1.json" -q >/dev/null || fail "-j 1 exited $?"
"$bin" scalar --d 128 --bits 3 -j 2 -o "$tmp/j2.json" -q >/dev/null || fail "-j 2 exited $?"
cmp -s "$tmp/j1.json" "$tmp/j2.json" || fail "-j 1 and -j 2 outputs differ"

# --config: keys are the option names; explicit options override; unknown keys are errors.
cat >"$tmp/cfg.json" <<JSON
{"d": 128, "bits": 1, "rotation-seed": 5, "output": "$tmp/cfg-out.json"}
JSON
"$bin" scalar --config "$tmp/cfg.json" --bits 3 -q >/dev/null || fail "--config exited $?"
python3 - "$tmp/cfg-out.json" <<'PY' || fail "--config content"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["d"] == 128 and doc["N"] == 8 and doc["rotation"]["seed"] == 5, doc["N"]
PY
cmp -s "$tmp/cfg-out.json" <("$bin" scalar --d 128 --bits 3 --rotation-seed 5 -o "$tmp/direct.json" -q >/dev/null && cat "$tmp/direct.json") ||
    fail "config run differs from the equivalent command line"
echo '{"d": 64, "bitz": 2}' >"$tmp/bad.json"
expect_error "$bin" 1 scalar --config "$tmp/bad.json" -o "$tmp/bad-out.json"
grep -q "unknown key 'bitz'" "$tmp/err" || fail "unknown config key: $(cat "$tmp/err")"
echo '{"d": 64, "k": 2}' >"$tmp/bad2.json"
expect_error "$bin" 1 scalar --config "$tmp/bad2.json" -o "$tmp/bad-out.json"
echo "ok"

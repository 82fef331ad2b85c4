#!/usr/bin/env bash
# The seeded mutation fuzzer (tests/fuzz/fuzz_files.py) on its fixed seed: 300 damaged
# containers, codebook files and dumps through fq-decode, fq-eval and fq-encode; every one
# must exit 0 with the clean output or exit 2/3 (dumps: also 4) with one stderr line, never
# crash or run past the timeout. A failure prints the command that reproduces the case.
# Usage: fuzz_files.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$py" "$2/tests/fuzz/fuzz_files.py" --bin "$1" --seed 1 --cases 300 -j 1 --timeout 10 ||
    fail "fuzz_files: a damaged input broke the rule (above)"
echo ok

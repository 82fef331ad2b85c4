#!/usr/bin/env bash
# fq-train --help and --version: exit 0, output on stdout, every option listed with its
# default. Usage: train_help.sh APP_DIR REPO_ROOT
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bin="$1/fq-train"

"$bin" --help >"$tmp/help" 2>"$tmp/err" || fail "--help exited $?"
[ -s "$tmp/err" ] && fail "--help wrote to stderr"
for opt in --d --k --N --bits --radial --seed --samples --val-samples --restarts --max-iter \
           --tol --jitter --shells --rotation --rotation-seed -o,--output --force --config \
           -j,--threads -v,--verbose -q,--quiet --version; do
    grep -q -- "$opt" "$tmp/help" || fail "--help does not list $opt"
done
# Defaults shown (CLI11 2.1 prints "--opt TYPE=default"), taken from train::FibParams.
for pair in "--d:128" "--k:4" "--N:256" "--restarts:8" "--max-iter:200" "--tol:1e-05" \
            "--jitter:0.25" "--radial:source" "--rotation:haar" "--bits:2" "--seed:1"; do
    opt=${pair%%:*}
    def=${pair#*:}
    grep -E -q -- "^ *$opt .*=$def( |\$)" "$tmp/help" || fail "--help does not show $opt default $def"
done
grep -q "fib" "$tmp/help" && grep -q "scalar" "$tmp/help" || fail "subcommands missing"

"$bin" fib --help >"$tmp/fibhelp" || fail "fib --help exited $?"
grep -q -- "--shells" "$tmp/fibhelp" || fail "fib --help does not list --shells"

"$bin" --version >"$tmp/version" || fail "--version exited $?"
grep -q "^fq-train [0-9]" "$tmp/version" || fail "--version prints $(cat "$tmp/version")"

# No subcommand: a usage error.
"$bin" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "no subcommand exited $rc, expected 1"
echo "ok"

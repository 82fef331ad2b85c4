#!/usr/bin/env python3
"""Seeded mutation fuzzer for every file an fq program reads.

Builds small clean inputs (a KV dump, its container, codebook files of every loader), then
for each case mutates one of them (random bytes anywhere, random bytes in the first 4 KiB,
or a truncation), runs the program that reads it, and checks the rule of docs/FORMAT.md
"Damaged files":

  * exit 0 with output identical to the clean input's output, or
  * exit 2 or 3 with exactly one line on stderr (for an input dump also exit 4, its
    numbers refused: NaN, Inf, a norm beyond the header type);
  * never a signal, never longer than the timeout.

A mutated *input dump* carries no checksum, so exit 0 with a different output is accepted
there (counted as "changed"); for containers and codebook files a different output is a
"silent change" and a failure.

  fuzz_files.py --bin BUILD/apps --seed 1 --cases 300 -j 1    # the test suite's run
  fuzz_files.py --bin BUILD/apps --seed 7 --cases 100000 -j 2  # bench/README.md's long run
  fuzz_files.py --bin BUILD/apps --seed 1 --only 123 --keep D  # one case, its files kept

Exit status 0 when every case follows the rule, 1 otherwise (the failing cases are listed
with the command that reproduces each).
"""
import argparse
import concurrent.futures as cf
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

OUTCOMES_OK = ("identical", "changed", "exit 2", "exit 3", "exit 4")
OUTCOMES_BAD = ("silent change", "signal", "hang", "other exit", "stderr not one line")


def make_dump(path, rng, d=64, heads=2, tokens=24, layers=2):
    with h5py.File(path, "w") as f:
        for layer in range(layers):
            for t in ("q", "k", "v"):
                x = rng.standard_normal((heads, tokens, d)).astype(np.float16)
                if t == "k":
                    x += np.float16(2.0)  # a per-channel offset, as real keys have
                f.create_dataset(f"layer_{layer}/{t}", data=x)
        f.create_dataset("segment_id", data=np.repeat(np.arange(2), tokens // 2).astype(np.int64))


def run(cmd, timeout, env):
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=env)
    except subprocess.TimeoutExpired:
        return None, b"", b"", time.monotonic() - t0
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def h5_digest(path, workdir):
    """Content digest of an HDF5 file: every object's name, attributes, dtype, shape, values
    (decoded dumps carry modification times, so bytes are not compared), with the case's
    directory replaced by a placeholder."""
    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        def attrs(o):
            for k in sorted(o.attrs):
                h.update(k.encode())
                v = repr(np.asarray(o.attrs[k]).tolist()).replace(workdir, "{dir}")
                h.update(v.encode())

        attrs(f)
        names = []
        f.visititems(lambda n, o: names.append(n))
        for n in sorted(names):
            o = f[n]
            h.update(n.encode())
            attrs(o)
            if isinstance(o, h5py.Dataset):
                h.update(str(o.dtype).encode() + str(o.shape).encode())
                h.update(np.ascontiguousarray(o[()]).tobytes())
    return h.hexdigest()


class Target:
    """One program reading one kind of file: its clean input and how to run and compare."""

    def __init__(self, name, clean, cmd, output, checksummed):
        self.name, self.clean, self.cmd, self.output = name, clean, cmd, output
        self.checksummed = checksummed  # a different output is a failure
        self.reference = None

    def result(self, workdir, stdout):
        if self.output is None:
            return hashlib.sha256(stdout.replace(workdir.encode(), b"{dir}")).hexdigest()
        out = os.path.join(workdir, self.output)
        if not os.path.exists(out):
            return "no output"
        return h5_digest(out, workdir)


def setup(bindir, base, env, timeout):
    """Clean inputs in base/clean and the targets reading them."""
    b = lambda prog: os.path.join(bindir, prog)
    clean = os.path.join(base, "clean")
    os.makedirs(clean)
    rng = np.random.default_rng(20261201)
    dump = os.path.join(clean, "dump.h5")
    make_dump(dump, rng)
    cb = os.path.join(clean, "fib.json")
    gsrq = os.path.join(clean, "gsrq.json")
    tcq = os.path.join(clean, "tcq.json")
    fq = os.path.join(clean, "dump.fq.h5")
    steps = [
        [b("fq-train"), "fib", "--d", "64", "--k", "2", "--N", "16", "-o", cb, "-q"],
        [b("fq-train"), "gsrq", "-i", dump, "--tensor", "k", "--D", "8", "--K", "16",
         "--stages", "1", "-o", gsrq, "-q"],
        [b("fq-train"), "tcq", "--d", "64", "--L", "6", "--bits", "2", "--max-iter", "3",
         "--train-vectors", "256", "-o", tcq, "-q"],
        [b("fq-encode"), "-i", dump, "-o", fq, "--k-codec", "fib:rate=2,center=head", "--v-codec",
         "scalar:bits=2", "--keep-last", "2", "-q"],
    ]
    for cmd in steps:
        rc, _, err, _ = run(cmd, 600, env)
        if rc != 0:
            sys.exit(f"fuzz_files: setup failed: {' '.join(cmd)}: {err.decode(errors='replace')}")
    # Each target reads its (possibly mutated) input from the path "{in}" in a case directory
    # and writes to "{out}" there: the clean run uses the same names, so reports that echo a
    # path compare equal.
    return [
        Target("container → fq-decode", fq,
               [b("fq-decode"), "-i", "{in}", "-o", "{dir}/out.h5", "-q"], "out.h5", True),
        Target("container → fq-eval", fq,
               [b("fq-eval"), "-i", dump, "-c", "{in}", "--json", "-", "-q"], None, True),
        Target("fib codebook → fq-encode", cb,
               [b("fq-encode"), "-i", dump, "-o", "{dir}/out.h5", "--select", "layer_0/k",
                "-c", "{in}", "-q"], "out.h5", True),
        Target("gsrq codebook → fq-encode", gsrq,
               [b("fq-encode"), "-i", dump, "-o", "{dir}/out.h5", "--select", "layer_0/k",
                "--k-codec", "gsrq:codebook={in}", "-q"], "out.h5", True),
        Target("tcq codebook → fq-encode", tcq,
               [b("fq-encode"), "-i", dump, "-o", "{dir}/out.h5", "--select", "layer_0/k",
                "--k-codec", "{in}", "-q"], "out.h5", True),
        Target("dump → fq-encode", dump,
               [b("fq-encode"), "-i", "{in}", "-o", "{dir}/out.h5", "--rate", "2", "-q"],
               "out.h5", False),
        Target("dump → fq-eval", dump,
               [b("fq-eval"), "-i", "{in}", "-c", fq, "--json", "-", "-q"], None, False),
    ]


def mutate(data, rng):
    kind = rng.choice(("bytes", "head", "truncate"))
    b = bytearray(data)
    if kind == "truncate":
        return kind, bytes(b[: rng.randrange(len(b))])
    span = len(b) if kind == "bytes" else min(len(b), 4096)
    for _ in range(rng.randint(1, 8)):
        b[rng.randrange(span)] = rng.randrange(256)
    return kind, bytes(b)


def run_target(t, workdir, timeout, env, data):
    os.makedirs(workdir, exist_ok=True)
    name = os.path.basename(t.clean)
    src = os.path.join(workdir, name)
    with open(src, "wb") as f:
        f.write(data)
    os.chmod(src, 0o444)  # a program must never modify its input
    cmd = [a.replace("{in}", src).replace("{dir}", workdir) for a in t.cmd]
    rc, out, err, secs = run(cmd, timeout, env)
    return cmd, rc, out, err, secs


def classify(t, workdir, rc, out, err, data, original):
    if rc is None:
        return "hang"
    if rc < 0:
        return "signal"
    if rc == 0:
        if t.result(workdir, out) == t.reference:
            return "identical"
        return "silent change" if t.checksummed or data == original else "changed"
    # exit 4 (a NaN or an overflow in the numbers) is a verdict on a dump's values, which
    # carry no checksum: accepted for dumps only.
    if rc in (2, 3) or (rc == 4 and not t.checksummed):
        lines = err.decode(errors="replace").rstrip("\n").split("\n")
        return f"exit {rc}" if len(lines) == 1 and lines[0] else "stderr not one line"
    return "other exit"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="directory of the fq programs (BUILD/apps)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per run")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--only", type=int, default=None, help="run this case number only")
    ap.add_argument("--keep", default=None, help="keep the work directory here")
    ap.add_argument("--json", default=None, help="write the counts here")
    args = ap.parse_args()

    env = dict(os.environ, OMP_NUM_THREADS="1",
               FQ_CACHE_DIR=os.environ.get("FQ_CACHE_DIR", ""))
    base = args.keep or tempfile.mkdtemp(prefix="fq-fuzz-")
    if args.keep:
        shutil.rmtree(base, ignore_errors=True)
        os.makedirs(base)
    env["FQ_CACHE_DIR"] = env["FQ_CACHE_DIR"] or os.path.join(base, "cache")
    env["TMPDIR"] = base
    try:
        targets = setup(args.bin, base, env, args.timeout)
        originals = {}
        for i, t in enumerate(targets):
            with open(t.clean, "rb") as f:
                originals[t.name] = f.read()
            wd = os.path.join(base, f"ref{i}")
            cmd, rc, out, err, _ = run_target(t, wd, 600, env, originals[t.name])
            if rc != 0:
                sys.exit(f"fuzz_files: clean run failed: {' '.join(cmd)}: {err.decode()}")
            t.reference = t.result(wd, out)
            shutil.rmtree(wd)

        def one(case):
            rng = random.Random(args.seed * 1_000_003 + case)
            t = targets[case % len(targets)]
            kind, data = mutate(originals[t.name], rng)
            wd = os.path.join(base, f"case{case}")
            cmd, rc, out, err, secs = run_target(t, wd, args.timeout, env, data)
            outcome = classify(t, wd, rc, out, err, data, originals[t.name])
            if args.only is None:
                shutil.rmtree(wd, ignore_errors=True)
            return case, t.name, kind, outcome, rc, err.decode(errors="replace"), secs, cmd

        cases = [args.only] if args.only is not None else range(args.cases)
        counts, bad, slowest = {}, [], 0.0
        t0 = time.monotonic()
        with cf.ThreadPoolExecutor(max_workers=args.jobs) as ex:
            for case, name, kind, outcome, rc, err, secs, cmd in ex.map(one, cases):
                row = counts.setdefault(name, {})
                row[outcome] = row.get(outcome, 0) + 1
                slowest = max(slowest, secs)
                if outcome in OUTCOMES_BAD:
                    bad.append((case, name, kind, outcome, rc, err.strip()[:300], cmd))
        elapsed = time.monotonic() - t0

        cols = list(OUTCOMES_OK + OUTCOMES_BAD)
        print(f"seed {args.seed}, {len(cases)} cases, {elapsed:.1f} s, slowest run {slowest:.2f} s")
        print("| target | cases | " + " | ".join(cols) + " |")
        print("|---|---:|" + "---:|" * len(cols))
        for name, row in counts.items():
            print(f"| {name} | {sum(row.values())} | " +
                  " | ".join(str(row.get(c, 0)) for c in cols) + " |")
        for case, name, kind, outcome, rc, err, cmd in bad[:20]:
            print(f"FAIL case {case} ({name}, {kind}): {outcome} (exit {rc}): {err}\n"
                  f"  reproduce: {sys.argv[0]} --bin {args.bin} --seed {args.seed} "
                  f"--only {case} --keep /tmp/fq-fuzz-case")
        if len(bad) > 20:
            print(f"... and {len(bad) - 20} more failures")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"seed": args.seed, "cases": len(cases), "seconds": elapsed,
                           "counts": counts, "failures": len(bad)}, f, indent=1)
        return 1 if bad else 0
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes codebooks/README.md: the index of shipped universal codebooks, from the files
themselves (rate, validation distortion, dB above the Shannon bound) and
codebooks/timings.tsv (training wall time recorded by scripts/make-codebooks.sh)."""
import glob
import json
import os
import re

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(root)

timings = {}
if os.path.exists("codebooks/timings.tsv"):
    for line in open("codebooks/timings.tsv").read().splitlines()[1:]:
        name, secs = line.split("\t")
        timings[name] = secs


# Independent check: every codebook re-measured by `fq-eval source` on fresh samples
# (docs/results/source-d<d>.json), free of the selection bias of the validation number.
fresh = {}
for d in (64, 128):
    path = f"docs/results/source-d{d}.json"
    if os.path.exists(path):
        rep = json.load(open(path))
        for row in rep["rows"]:
            fresh[(d, row["codebook"])] = (row["total_mse"], row["total_mse_se"], rep["samples"])


def sort_key(path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def command(cb, path):
    if cb["family"] == "scalar":
        bits = cb["construction"]["bits"] if "bits" in cb["construction"] else round(cb["rate_bits_per_coord"])
        return f"fq-train scalar --d {cb['d']} --bits {bits} -o {path}"
    c = cb["construction"]
    extra = "" if c["restarts"] == 8 else f" --restarts {c['restarts']}"
    return f"fq-train fib --d {cb['d']} --k {cb['k']} --N {cb['N']}{extra} -o {path}"


print("# Shipped universal codebooks\n")
print("Each file depends only on (d, k, N) and the construction, never on a model: it was trained")
print("on samples of the spherical-Beta source (SPEC 2) and is shared by every layer, head and")
print("token. `total MSE` is the validation distortion of a unit vector (sum over coordinates, on")
print("an independent validation sample for fib; exact for scalar); `dB` is 10 log10(MSE / 4^-b)")
print("above the Shannon bound at the rate b. `init` is the structured initialisation alone and")
print("`random init` N training samples as codewords (both on the training sample, total MSE).")
print("`fresh MSE` is an independent re-measurement by `fq-eval source` on new source samples")
print("(docs/results/source-d<d>.json, ± one standard error): the validation number picked the")
print("best restart, so it is slightly optimistic (by up to ~2 standard errors).")
print("Regenerate everything with `make codebooks` (scripts/make-codebooks.sh); the times are")
print("wall seconds on the 2-core build machine, measured by that script (d = 32, 80, 96, 256")
print("were trained at low priority beside other work, so their times are upper bounds).\n")
print("For any other head dimension fq-encode (and fq-eval sweep) trains the fib codebook it needs")
print("on the fly, once, with the same options (the bytes `fq-train` writes), and caches it in")
print("`$FQ_CACHE_DIR`, else `~/.cache/fq` (`lib/fq/io/codebook_store.hpp`: `trained_fib`). Measured")
print("on this machine: d = 8, k = 4, N = 256 (`--rate 2`) in 8.7-9.2 s; d = 32 k = 4 N = 256 in")
print("9.6 s; the slowest ladder entries take 1-3 minutes (k = 3 N = 512, k >= 16).\n")
DIMS = (32, 64, 80, 96, 128, 256)
for d in DIMS:
    files = sorted(glob.glob(f"codebooks/d{d}/*.json"), key=sort_key)
    if not files:
        continue
    print(f"## d = {d}\n")
    print("| file | family | k | N | rate (bits/coord) | total MSE | dB above bound | fresh MSE | init | random init | restarts | time (s) | command |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    tcq = []
    for path in files:
        cb = json.load(open(path))
        if cb.get("family") == "tcq":
            tcq.append((path, cb))
            continue
        val = cb["distortion"]["val"]
        tr = cb.get("training", {}).get("main", {})
        blocks = cb["d"] // cb["k"]
        init = f"{tr['init_distortion'] * blocks:.4f}" if "init_distortion" in tr else ""
        rnd = f"{tr['random_init_distortion'] * blocks:.4f}" if "random_init_distortion" in tr else ""
        restarts = cb["construction"].get("restarts", "")
        name = os.path.basename(path)[:-5]
        fm = f"{fresh[(d, name)][0]:.5f} ± {fresh[(d, name)][1]:.5f}" if (d, name) in fresh else ""
        print(f"| {os.path.basename(path)} | {cb['family']} | {cb['k']} | {cb['N']} | "
              f"{cb['rate_bits_per_coord']:.4g} | {val['mse_per_vector']:.5f} | "
              f"{val['db_above_bound']:+.2f} | {fm} | {init} | {rnd} | {restarts} | {timings.get(path, '')} | "
              f"`{command(cb, path)}` |")
    print()
    if tcq:
        print(f"### tcq (trellis-coded quantizer, L state bits, K bits per step of V numbers)\n")
        print("Rate exactly K / V bits per coordinate plus the norm header. `total MSE`: validation,")
        print("total squared error of a unit vector with the codec's two-pass tail-biting search.")
        print("Beside them for reference: the 8-dimensional E8P lattice codebook of QuIP# sits")
        print("1.65 dB above the bound at 2 bits. Times: wall seconds of scripts/make-codebooks.sh on")
        print("this 2-core machine while other jobs ran (upper bounds).\n")
        print("| file | L | K | V | rate (bits/coord) | total MSE | dB above bound | init (random table) | iterations | time (s) | command |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for path, cb in tcq:
            val = cb["distortion"]["val"]
            init = cb["distortion"]["init"]["mse_per_vector"]
            its = len(cb["training"]["iterations"])
            cmd = f"fq-train tcq --d {cb['d']} --L {cb['L']} --K {cb['K']} --V {cb['V']}"
            # L = 16 runs on fewer vectors and iterations than the defaults (256 steps per
            # state, 30 iterations): say so in the command.
            cons = cb["construction"]
            if cons["train_vectors"] != 256 * 2 ** cb["L"] * cb["V"] // cb["d"]:
                cmd += f" --train-vectors {cons['train_vectors']}"
            if cons["max_iter"] != 30:
                cmd += f" --max-iter {cons['max_iter']}"
            cmd += f" -o {path}"
            print(f"| {os.path.basename(path)} | {cb['L']} | {cb['K']} | {cb['V']} | "
                  f"{cb['rate_bits_per_coord']:.4g} | {val['mse_per_vector']:.5f} | "
                  f"{val['db_above_bound']:+.2f} | {init:.5f} | {its} | {timings.get(path, '')} | `{cmd}` |")
        print()

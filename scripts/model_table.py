#!/usr/bin/env python3
"""The end-to-end table of docs/results/model-d64.md: fq-eval model on the d = 64 model
(data/models/fq_stories_d64) for scalar b = 1..4 and every shipped fib codebook of d = 64
(K and V both), on the sample's 512 tokens (one sequence) and on the four 128-token
segments. Usage: scripts/model_table.py [BUILD_DIR] > docs/results/model-d64.md"""
import glob
import json
import os
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build")
fq_eval = os.path.join(build, "apps", "fq-eval")
model = os.path.join(root, "data/models/fq_stories_d64/fq_stories_d64.bin")
inputs = [("sample (1 x 512)", "data/sample_kv_d64.h5"), ("4 segments (4 x 128)", "data/sample_kv_d64_4seg.h5")]


def run(spec, dump):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run([fq_eval, "model", "--model", model, "-i", os.path.join(root, dump), "--k-codec",
                        spec, "--v-codec", spec, "--json", f.name, "-q"], check=True,
                       stdout=subprocess.DEVNULL)
        return json.load(open(f.name))


codecs = [(f"scalar b={b}", f"scalar:bits={b}") for b in range(1, 5)]
for path in sorted(glob.glob(os.path.join(root, "codebooks/d64/fib-*.json"))):
    cb = json.load(open(path))
    codecs.append((f"fib k={cb['k']} N={cb['N']}", path))
rows = []
for name, spec in codecs:
    for label, dump in inputs:
        r = run(spec, dump)
        rows.append((name, label, r))
rows.sort(key=lambda x: (x[1], x[2]["rate"]["bits_per_coordinate"], x[0]))

print("# fq-eval model: the d = 64 model with its KV cache compressed\n")
print("Every key and value of every layer passes through the codec as it is written to the cache;")
print("`ppl` is the perplexity with the compressed cache, `ppl exact` without (float32 cache),")
print("`ratio` ppl / ppl exact with its paired standard error, `KL` the mean logit KL(p_exact ||")
print("p_codec) in nats, `top-1` the agreement of the argmax. `bits` = bits per coordinate of the")
print("cache, norm header included; `x f16` = 16 / bits. Regenerate: `scripts/model_table.py`.\n")
for label, _ in inputs:
    sub = [r for r in rows if r[1] == label]
    base = sub[0][2]
    print(f"## {label}: perplexity with the exact cache {base['ppl_base']:.4f} ± {base['ppl_base_se']:.3f}\n")
    print("| codec | bits | x f16 | ppl | ratio ± SE | ppl - exact ± SE | KL (nats) | KL p99 | top-1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, _, r in sub:
        print(f"| {name} | {r['rate']['bits_per_coordinate']:.4g} | {r['rate']['compression_vs_float16']:.2f} | "
              f"{r['ppl']:.4f} | {r['ratio']:.4f} ± {r['ratio_se']:.4f} | {r['diff']:.4f} ± {r['diff_se']:.4f} | "
              f"{r['kl']:.4f} | {r['kl_p99']:.3f} | {r['top1']:.4f} |")
    print()

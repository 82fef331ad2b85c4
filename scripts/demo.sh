#!/usr/bin/env bash
# The main job on the shipped sample (README quick start): compress the real d = 64 KV dump
# with the default shipped FibQuant codebook (2 bits per coordinate), restore it, and
# evaluate the fidelity (MSE, cosine, attention KL, attention-output cosine, rate).
# Usage: scripts/demo.sh [BUILD_DIR]   (set FQ_DEMO_SWEEP=1 to also write the sweep report)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
apps="$build/apps"
out="$root/out/demo"
mkdir -p "$out"
cd "$root"
input=data/sample_kv_d64.h5

echo "== fq-encode: $input at 2 bits per coordinate"
"$apps/fq-encode" -i "$input" -o "$out/sample.fq.h5" --rate 2 --keep-queries --force
echo
echo "== fq-decode: back to a float16 dump"
"$apps/fq-decode" -i "$out/sample.fq.h5" -o "$out/sample.decoded.h5" --dtype float16 --force
echo
echo "== fq-eval: fidelity of the compressed dump"
"$apps/fq-eval" -i "$input" -c "$out/sample.fq.h5"
echo
echo "== fq-eval model: the same codec inside the model that produced the dump"
"$apps/fq-eval" model --model data/models/fq_stories_d64/fq_stories_d64.bin -i "$input" --rate 2
if [ "${FQ_DEMO_SWEEP:-0}" = 1 ]; then
    echo
    echo "== fq-eval sweep: rate-distortion report in $out/report"
    "$apps/fq-eval" sweep --config configs/rd-default.json -i "$input" -o "$out/report"
fi

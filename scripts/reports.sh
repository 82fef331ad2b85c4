#!/usr/bin/env bash
# Regenerate the peer-codec reports of issue 5 (documented in docs/results/README.md).
#
#   scripts/reports.sh [peers|seed002|center|all]      (default all; run from anywhere)
#
# Environment: FQ_BUILD (build directory with apps/, default build-rep; configure it with
# cmake -S . -B build-rep -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build-rep),
# PY (python with h5py + numpy, default /usr/bin/python3), WORK (scratch directory for the
# held-out slice, synthetic dumps and compressed files, default $FQ_BUILD/reports), J
# (threads, default 2). WORK defaults to out/reports (git-ignored).
#
# peers   -> docs/results/sweep-peers-d64/: GSRQ codebooks trained on tokens 0:256 of
#            data/sample_kv_d64.h5 (K and V separately, into out/gsrq-d64/*.json, the paths
#            configs/rd-peers.json names; their content hashes are in rd.json); the sweep
#            configs/rd-peers.json evaluated on the held-out dump of tokens 256:512
#            (rd.csv, rd.json, plots, index.html, stdout.txt); the peer table at ~1, ~2 and
#            ~4 bits per coordinate (peer-table.md, peer-table.csv); gsrq training logs with
#            the centroid shrinkage (gsrq-train/*.log).
# seed002 -> docs/results/seed002/: configs/kv-schemes/{KV,KQV,QKQV}-4.json through
#            fq-encode --config + fq-eval -c --json on the sample (held-out half 256:512 and
#            the whole dump) and on synthetic dumps (gaussian, student-t nu=3, low-rank
#            r=32; 2 layers, 4 query heads, 2 KV heads, 512 tokens, d=64, seed 1):
#            <dataset>-<scheme>.json, seed002.csv, table.md (included in docs/results/seed002.md).
# center  -> docs/results/center-d64/: per-head centring (issue 11) for every family at about
#            2 bits per coordinate (block q4_0 at 4.5): keys only, values only, both, neither,
#            by fq-eval sweep on the held-out tokens 256:512 of the sample and on the
#            4-sequence dump; gsrq and faiss-pq trained on tokens 0:256 of the sample, plainly
#            and centred (fq-train --center head) for the centred variants (config.json,
#            <dump>/rd.json, center.md, center.csv).
set -euo pipefail
cd "$(dirname "$0")/.."
FQ_BUILD=${FQ_BUILD:-build-rep}
PY=${PY:-/usr/bin/python3}
WORK=${WORK:-out/reports}
J=${J:-2}
what=${1:-all}
APPS=$FQ_BUILD/apps
for a in fq-train fq-encode fq-eval; do
    [[ -x $APPS/$a ]] || { echo "missing $APPS/$a: build first (see the header)" >&2; exit 1; }
done
mkdir -p "$WORK"

SAMPLE=data/sample_kv_d64.h5
HELDOUT=$WORK/sample-t256-512.h5
# The sample's second story starts at token 254: tokens 256:512 are one clean context, not
# seen by the GSRQ training (tokens 0:256).
$PY scripts/slice_dump.py -i $SAMPLE --tokens 256:512 -o "$HELDOUT"

peers() {
    local out=docs/results/sweep-peers-d64
    local gs=out/gsrq-d64   # the paths configs/rd-peers.json names (git-ignored, ~6 MB)
    local logs=$out/gsrq-train
    mkdir -p "$gs" $logs
    for t in k v; do
        for s in 1 2 4; do
            $APPS/fq-train gsrq -i $SAMPLE --tensor $t --D 8 --K 256 --stages $s \
                --kmeans gain-shape --tokens 0:256 -j "$J" -v --force -o $gs/$t-gs-S$s.json \
                > $logs/$t-gs-S$s.log 2>&1
        done
        $APPS/fq-train gsrq -i $SAMPLE --tensor $t --D 8 --K 256 --stages 2 \
            --kmeans plain --tokens 0:256 -j "$J" -v --force -o $gs/$t-plain-S2.json \
            > $logs/$t-plain-S2.log 2>&1
    done
    $APPS/fq-eval sweep --config configs/rd-peers.json -i "$HELDOUT" -o $out -j "$J" \
        > $out/stdout.txt
    $PY - $out <<'EOF'
# The peer table: per family, the configuration nearest to 1, 2 and 4 bits per coordinate
# (achieved, headers included; ties -> best attention-output cosine).
import csv, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/rd.csv")))
by = {}
for r in rows:
    by.setdefault(r["codec"], {})[r["tensor"]] = r
fams = ["fib", "scalar", "qjl", "scalar+qjl", "int", "block", "gsrq"]
f = lambda x, n=4: "" if x == "" else f"{float(x):.{n}g}"
hdr = ["target", "family", "codec", "bits K/V", "out cos", "KL nats", "nMSE K", "nMSE V",
       "MSE K", "MSE V"]
lines = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
table = []
for target in (1, 2, 4):
    for fam in fams:
        cands = [(c, t) for c, t in by.items() if t["attn"]["family"] == fam and "plain" not in c]
        if not cands:
            continue
        def key(ct):
            a = ct[1]["attn"]
            return (abs(float(a["achieved_bits"]) - target), -float(a["out_cos"]))
        c, t = min(cands, key=key)
        b = float(t["attn"]["achieved_bits"])
        if abs(b - target) > max(0.5, 0.25 * target):   # nothing near this rate
            continue
        a, k, v = t["attn"], t["k"], t["v"]
        row = [f"~{target}", fam, c, f"{f(k['achieved_bits'])}/{f(v['achieved_bits'])}",
               f"{float(a['out_cos']):.4f} ± {float(a['out_cos_se']):.4f}",
               f"{float(a['kl']):.4g} ± {float(a['kl_se']):.2g}",
               f(k["nmse"]), f(v["nmse"]), f(k["mse"]), f(v["mse"])]
        table.append(row)
        lines.append("| " + " | ".join(row) + " |")
# the plain k-means control at 2 bits
for c, t in by.items():
    if "plain" in c:
        a, k, v = t["attn"], t["k"], t["v"]
        row = ["~2", "gsrq (control)", c, f"{f(k['achieved_bits'])}/{f(v['achieved_bits'])}",
               f"{float(a['out_cos']):.4f} ± {float(a['out_cos_se']):.4f}",
               f"{float(a['kl']):.4g} ± {float(a['kl_se']):.2g}",
               f(k["nmse"]), f(v["nmse"]), f(k["mse"]), f(v["mse"])]
        table.append(row)
        lines.append("| " + " | ".join(row) + " |")
open(f"{out}/peer-table.md", "w").write("\n".join(lines) + "\n")
with open(f"{out}/peer-table.csv", "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(hdr)
    w.writerows(table)
# Who wins where: per metric, the configurations on the lower (errors) or upper (fidelities)
# envelope over achieved bits, i.e. not beaten by any configuration at <= their rate.
metrics = [("attn", "out_cos", +1), ("attn", "kl", -1), ("k", "nmse", -1), ("v", "nmse", -1),
           ("k", "mse", -1), ("v", "mse", -1)]
W = ["| metric | Pareto-optimal configurations (bits: codec, value), by rate |", "|---|---|"]
for tensor, col, sign in metrics:
    pts = sorted(((float(t[tensor]["achieved_bits"]), sign * float(t[tensor][col]), c)
                  for c, t in by.items()), key=lambda p: (p[0], -p[1]))
    front, best = [], -float("inf")
    for b, y, c in pts:
        if y > best:
            front.append(f"{b:.3g}: {c} ({sign * y:.4g})")
            best = y
    W.append(f"| {col} {tensor} | " + "; ".join(front) + " |")
open(f"{out}/winners.md", "w").write("\n".join(W) + "\n")
print("\n".join(lines))
print()
print("\n".join(W))
EOF
    # GSRQ in-sample (tokens 0:256, the training tokens) for the train/held-out gap.
    local ins=$WORK/sample-t0-256.h5
    $PY scripts/slice_dump.py -i $SAMPLE --tokens 0:256 -o "$ins"
    echo "split,codebooks,bits,out_cos,out_cos_se,kl,kl_se,nmse_k,nmse_v" > $out/gsrq-train-vs-heldout.csv
    for cb in gs-S1 gs-S2 gs-S4 plain-S2; do
        for split in t0-256 t256-512; do
            $APPS/fq-encode -i "$WORK/sample-$split.h5" --k-codec gsrq:codebook=$gs/k-$cb.json \
                --v-codec gsrq:codebook=$gs/v-$cb.json -o "$WORK/gsrq-$cb-$split.fq.h5" -j "$J" -q --force
            $APPS/fq-eval -i "$WORK/sample-$split.h5" -c "$WORK/gsrq-$cb-$split.fq.h5" -j "$J" -q \
                --json "$WORK/gsrq-$cb-$split.json" > /dev/null
            $PY -c '
import json, sys
j = json.load(open(sys.argv[1]))
r = {x["tensor"]: x for x in j["rows"] if x["layer"] == "all"}
a = r["attn"]
print(",".join(str(v) for v in [sys.argv[2], sys.argv[3], a["nominal_bits"], a["out_cos"],
      a["out_cos_se"], a["kl"], a["kl_se"], r["k"]["nmse"], r["v"]["nmse"]]))' \
                "$WORK/gsrq-$cb-$split.json" $split $cb >> $out/gsrq-train-vs-heldout.csv
        done
    done
    cat $out/gsrq-train-vs-heldout.csv
}

seed002() {
    local out=docs/results/seed002
    mkdir -p $out
    local dists="gaussian student-t low-rank"
    for dist in $dists; do
        $PY scripts/write_kv_dump.py --synthetic --distribution $dist --head-dim 64 --tokens 512 \
            --layers 2 --heads 4 --kv-heads 2 --seed 1 -o "$WORK/synth-$dist.h5"
    done
    cp $SAMPLE "$WORK/sample-all.h5"
    for ds in sample-t256-512 sample-all $(for x in $dists; do echo synth-$x; done); do
        for scheme in KV KQV QKQV; do
            $APPS/fq-encode -i "$WORK/$ds.h5" --config configs/kv-schemes/$scheme-4.json \
                -o "$WORK/$ds-$scheme-4.fq.h5" -j "$J" -q --force
            $APPS/fq-eval -i "$WORK/$ds.h5" -c "$WORK/$ds-$scheme-4.fq.h5" -j "$J" -q \
                --json $out/$ds-$scheme-4.json > /dev/null
        done
    done
    $PY - $out <<'EOF'
# KL +- standard error per scheme and dataset; differences vs KQV in units of the combined
# standard error sqrt(se_a^2 + se_b^2) (the same queries under each scheme: a conservative
# error for a paired difference when the per-query errors are positively correlated).
import csv, json, math, sys
out = sys.argv[1]
dss = ["sample-t256-512", "sample-all", "synth-gaussian", "synth-student-t", "synth-low-rank"]
res = {}
for ds in dss:
    for s in ("KV", "KQV", "QKQV"):
        j = json.load(open(f"{out}/{ds}-{s}-4.json"))
        rows = {(r["tensor"], r["layer"], r["head"]): r for r in j["rows"]}
        a = rows[("attn", "all", "all")]
        res[ds, s] = dict(kl=a["kl"], kl_se=a["kl_se"], out_cos=a["out_cos"],
                          out_cos_se=a["out_cos_se"], top1=a["top1"],
                          bits_k=j["rate"]["k"]["achieved_bits"],
                          bits_v=j["rate"]["v"]["achieved_bits"],
                          queries=a["queries"], scores=j.get("scores", ""))
with open(f"{out}/seed002.csv", "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["dataset", "scheme", "bits_k", "bits_v", "queries", "kl", "kl_se", "out_cos",
                "out_cos_se", "top1", "scores"])
    for (ds, s), r in res.items():
        w.writerow([ds, s, r["bits_k"], r["bits_v"], r["queries"], r["kl"], r["kl_se"],
                    r["out_cos"], r["out_cos_se"], r["top1"], r["scores"]])
L = ["| dataset | KL KV | KL KQV | KL QKQV | KV − KQV (z) | QKQV − KQV (z) | KQV lowest by > 2 SE? |",
     "|---|---|---|---|---|---|---|"]
for ds in dss:
    kv, kqv, qk = res[ds, "KV"], res[ds, "KQV"], res[ds, "QKQV"]
    fmt = lambda r: f"{r['kl']:.3e} ± {r['kl_se']:.1e}"
    def z(a, b):
        d = a["kl"] - b["kl"]
        return d, d / math.hypot(a["kl_se"], b["kl_se"])
    d1, z1 = z(kv, kqv)
    d2, z2 = z(qk, kqv)
    verdict = "yes" if z1 > 2 and z2 > 2 else "no"
    L.append(f"| {ds} | {fmt(kv)} | {fmt(kqv)} | {fmt(qk)} | {d1:+.2e} ({z1:+.1f}) | "
             f"{d2:+.2e} ({z2:+.1f}) | {verdict} |")
L += ["", "| dataset | out cos KV | out cos KQV | out cos QKQV | bits K/V: KV, KQV, QKQV |",
      "|---|---|---|---|---|"]
for ds in dss:
    c = [res[ds, s] for s in ("KV", "KQV", "QKQV")]
    L.append(f"| {ds} | " + " | ".join(f"{r['out_cos']:.5f} ± {r['out_cos_se']:.1e}" for r in c)
             + " | " + ", ".join(f"{r['bits_k']:.3g}/{r['bits_v']:.3g}" for r in c) + " |")
open(f"{out}/table.md", "w").write("\n".join(L) + "\n")
print("\n".join(L))
EOF
    # Replicates: synthetic dumps with seeds 1..5 (seed 1 = the table above). The per-query
    # standard errors treat queries as independent although they share keys (a lower bound,
    # docs/EVAL.md); the spread over independent dumps is the honest error of a difference.
    for dist in $dists; do
        for seed in 2 3 4 5; do
            local ds=synth-$dist-s$seed
            $PY scripts/write_kv_dump.py --synthetic --distribution $dist --head-dim 64 \
                --tokens 512 --layers 2 --heads 4 --kv-heads 2 --seed $seed -o "$WORK/$ds.h5"
            for scheme in KV KQV QKQV; do
                $APPS/fq-encode -i "$WORK/$ds.h5" --config configs/kv-schemes/$scheme-4.json \
                    -o "$WORK/$ds-$scheme-4.fq.h5" -j "$J" -q --force
                $APPS/fq-eval -i "$WORK/$ds.h5" -c "$WORK/$ds-$scheme-4.fq.h5" -j "$J" -q \
                    --json $out/$ds-$scheme-4.json > /dev/null
            done
        done
    done
    $PY - $out <<'EOF'
import json, math, statistics as st, sys
out = sys.argv[1]
kl = lambda ds, s: next(r["kl"] for r in json.load(open(f"{out}/{ds}-{s}-4.json"))["rows"]
                        if r["tensor"] == "attn" and r["layer"] == "all")
L = ["| dataset (5 seeds) | mean KL KV | mean KL KQV | mean KL QKQV | KV − KQV: mean ± SE over seeds (z) | QKQV − KQV: mean ± SE (z) | seeds with KQV lowest |",
     "|---|---|---|---|---|---|---|"]
for dist in ("gaussian", "student-t", "low-rank"):
    names = [f"synth-{dist}"] + [f"synth-{dist}-s{s}" for s in (2, 3, 4, 5)]
    v = {s: [kl(n, s) for n in names] for s in ("KV", "KQV", "QKQV")}
    def diff(a):
        d = [x - y for x, y in zip(v[a], v["KQV"])]
        m, se = st.mean(d), st.stdev(d) / math.sqrt(len(d))
        return f"{m:+.2e} ± {se:.1e} ({m / se:+.1f})"
    wins = sum(1 for i in range(5) if v["KQV"][i] < v["KV"][i] and v["KQV"][i] < v["QKQV"][i])
    L.append(f"| {dist} | {st.mean(v['KV']):.3e} | {st.mean(v['KQV']):.3e} | "
             f"{st.mean(v['QKQV']):.3e} | {diff('KV')} | {diff('QKQV')} | {wins}/5 |")
open(f"{out}/replicates.md", "w").write("\n".join(L) + "\n")
print("\n".join(L))
# The sample is one dump: per-layer consistency instead of seeds.
L = ["", "| sample dump | layer | KL KV | KL KQV | KL QKQV | KQV lowest |", "|---|---|---|---|---|---|"]
for ds in ("sample-t256-512", "sample-all"):
    rows = {s: {r["layer"]: r for r in json.load(open(f"{out}/{ds}-{s}-4.json"))["rows"]
                if r["tensor"] == "attn" and r["head"] == "all" and r["layer"] != "all"}
            for s in ("KV", "KQV", "QKQV")}
    for layer in sorted(rows["KV"], key=int):
        k = [rows[s][layer]["kl"] for s in ("KV", "KQV", "QKQV")]
        L.append(f"| {ds} | {layer} | {k[0]:.3e} | {k[1]:.3e} | {k[2]:.3e} | "
                 f"{'yes' if k[1] < min(k[0], k[2]) else 'no'} |")
open(f"{out}/replicates.md", "a").write("\n".join(L) + "\n")
print("\n".join(L))
EOF
}

center() {
    local out=docs/results/center-d64
    local cb=$WORK/center-codebooks
    mkdir -p $out $cb
    for t in k v; do
        for c in none head; do
            $APPS/fq-train gsrq -i $SAMPLE --tensor $t --D 8 --K 256 --stages 2 --center $c \
                --tokens 0:256 -j "$J" -q --force -o $cb/$t-gsrq-$c.json
            if $APPS/fq-train faiss-pq --help > /dev/null 2>&1; then
                $APPS/fq-train faiss-pq -i $SAMPLE --tensor $t --M 16 --nbits 8 --center $c \
                    --tokens 0:256 -j "$J" -q --force -o $cb/$t-pq-$c.json
            fi
        done
    done
    $PY - $cb $out/config.json <<'EOF'
# Every family at about 2 bits, in four variants: neither, K, V, both centred.
import json, os, sys
cb, path = sys.argv[1:]
fams = [("fib k=4 N=256", "fib:rate=2"), ("scalar b=2", "scalar:bits=2"),
        ("tcq bits=2", "tcq:bits=2"), ("qjl m=128", "qjl:m=128"),
        ("scalar+qjl b=2", "scalar+qjl:bits=2"), ("int b=2 G=64 (KIVI)", "int:bits=2,group=64"),
        ("block q4_0", "block:format=q4_0"), ("gsrq D=8 K=256 S=2", "gsrq"),
        ("faiss-pq M=16 nbits=8", "faiss-pq")]
def spec(fam, t, centred):
    c = "head" if centred else "none"
    if fam in ("gsrq", "faiss-pq"):
        kind = "gsrq" if fam == "gsrq" else "pq"
        return f"{fam}:codebook={cb}/{t}-{kind}-{c}.json" + (",center=head" if centred else "")
    return fam + (",center=head" if centred else "")
codecs = []
for label, fam in fams:
    if fam == "faiss-pq" and not os.path.exists(f"{cb}/k-pq-none.json"):
        continue
    for variant, ck, cv in (("none", 0, 0), ("K", 1, 0), ("V", 0, 1), ("K+V", 1, 1)):
        codecs.append({"k": spec(fam, "k", ck), "v": spec(fam, "v", cv),
                       "label": f"{label} | centred {variant}"})
json.dump({"comment": "Per-head centring (issue 11), written by scripts/reports.sh center.",
           "codecs": codecs, "targets": [0.99, 0.95]}, open(path, "w"), indent=1)
EOF
    local d dump
    for d in heldout 4seg; do
        dump=$HELDOUT
        [[ $d == 4seg ]] && dump=data/sample_kv_d64_4seg.h5
        $APPS/fq-eval sweep --config $out/config.json -i "$dump" -o $WORK/center-$d -j "$J" -q \
            > /dev/null
        mkdir -p $out/$d
        cp $WORK/center-$d/rd.json $out/$d/rd.json
    done
    $PY - $out <<'EOF'
# The effect of centring per family: keys (nMSE K, attention KL), values (nMSE V, output
# cosine), both; on each dump.
import json, sys
out = sys.argv[1]
lines, csv = [], ["dump,family,centred,bits_k,bits_v,nmse_k,nmse_v,kl,kl_se,out_cos,out_cos_se"]
for d, title in (("heldout", "held-out tokens 256:512 of the sample"),
                 ("4seg", "the 4-sequence dump (4 x 512 tokens)")):
    rows = json.load(open(f"{out}/{d}/rd.json"))["rows"]
    by = {}
    for r in rows:
        fam, variant = r["codec"].split(" | centred ")
        by.setdefault(fam, {}).setdefault(variant, {})[r["tensor"]] = r
    lines += [f"### {title}", "",
              "| family | centred | bits K / V | nMSE K | nMSE V | attention KL | output cosine |",
              "|---|---|---|---|---|---|---|"]
    for fam, vs in by.items():
        base = vs["none"]
        for v in ("none", "K", "V", "K+V"):
            t = vs[v]
            a, k, vv = t["attn"], t["k"], t["v"]
            rel = lambda x, y: "" if v == "none" else f" ({x / y:.2f}x)"
            lines.append(
                f"| {fam} | {v} | {k['achieved_bits']:.4g} / {vv['achieved_bits']:.4g} | "
                f"{k['nmse']:.4g}{rel(k['nmse'], base['k']['nmse'])} | "
                f"{vv['nmse']:.4g}{rel(vv['nmse'], base['v']['nmse'])} | "
                f"{a['kl']:.4g} ± {a['kl_se']:.2g}{rel(a['kl'], base['attn']['kl'])} | "
                f"{a['out_cos']:.4f} ± {a['out_cos_se']:.4f} |")
            csv.append(f"{d},{fam},{v},{k['achieved_bits']},{vv['achieved_bits']},{k['nmse']},"
                       f"{vv['nmse']},{a['kl']},{a['kl_se']},{a['out_cos']},{a['out_cos_se']}")
    lines.append("")
open(f"{out}/center.md", "w").write("\n".join(lines))
open(f"{out}/center.csv", "w").write("\n".join(csv) + "\n")
print("\n".join(lines))
EOF
}

case $what in
    peers) peers ;;
    seed002) seed002 ;;
    center) center ;;
    all) peers; seed002; center ;;
    *) echo "usage: $0 [peers|seed002|center|all]" >&2; exit 1 ;;
esac

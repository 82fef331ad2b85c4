#!/usr/bin/env python3
"""Write a KV dump in fq's default layout (h5py + numpy only).

Layout written (see lib/fq/io/kv_dump.hpp and data/README.md):

    layer_<L>/q   [n_heads,    tokens, head_dim]   queries (optional)
    layer_<L>/k   [n_kv_heads, tokens, head_dim]   keys, after RoPE (what sits in the cache)
    layer_<L>/v   [n_kv_heads, tokens, head_dim]   values
    token_ids, positions, segment_id   [tokens] int32 (optional)

with root attributes n_layers, n_heads, n_kv_heads, head_dim, tokens, storage_dtype and
layout, plus any you pass. Element types (--dtype):

    float16   numpy float16 (h5py stores an IEEE half HDF5 type)
    float32   numpy float32
    bfloat16  the bfloat16 bit patterns as uint16, with dataset attribute dtype="bfloat16"
              (numpy has no bfloat16; rounding is to nearest, ties to even)

--layout thd stores [tokens, heads, head_dim] instead (read it with fq's axis option
"thd"), to exercise other layouts. --layout bhtd stores a batch of independent sequences
[batch, heads, tokens, head_dim] (Hugging Face's past_key_values layout; fq reads 4-D
datasets as bhtd), with token_ids, positions and segment_id [batch, tokens].
--segments S (htd, thd) cuts the tokens into S independent sequences marked by segment_id.

From a HuggingFace model (torch needed only there, not by this script):

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(name)
    model = AutoModelForCausalLM.from_pretrained(name, torch_dtype=torch.float16)
    ids = tok(text, return_tensors="pt").input_ids                  # [1, tokens]
    with torch.no_grad():
        out = model(ids, use_cache=True)
    pkv = out.past_key_values
    # Older transformers: a tuple per layer of (k, v); newer: a DynamicCache, whose
    # pkv.to_legacy_cache() gives that tuple. Each k, v is [batch, n_kv_heads, tokens, head_dim],
    # keys already rotated by RoPE.
    # The whole batch, as it is ([batch, heads, tokens, head_dim] per layer):
    write_past_key_values("my_dump.h5", pkv.to_legacy_cache(), dtype="float16",
                          token_ids=ids.numpy(),
                          attrs={"model_name": name,
                                 "n_heads": model.config.num_attention_heads})
    # or one sequence of it, [heads, tokens, head_dim] per layer:
    layers = [{"k": k[0].float().numpy(), "v": v[0].float().numpy()} for k, v in pkv]
    # Queries are not cached; capture them with a forward hook if you want them ("q").
    write_kv_dump("my_dump.h5", layers, dtype="float16",
                  token_ids=ids[0].numpy(),
                  attrs={"model_name": name, "n_heads": model.config.num_attention_heads})

With --synthetic it writes a seeded random dump (keys with outlier channels and varying
norms, like real ones); --with-reference also stores the float32 values before rounding
to the storage dtype under reference/layer_<L>/{q,k,v} (always [heads, tokens, head_dim]),
so that tests can check what a reader gets back.
"""

import argparse
import os
import sys

import h5py
import numpy as np


def to_bfloat16_bits(x):
    """float32 array -> uint16 bfloat16 bit patterns, round to nearest even (NaN kept)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    bits = x.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    rounded[nan] = ((bits[nan] >> 16) | 0x40).astype(np.uint16)  # keep it a (quiet) NaN
    return rounded


def from_bfloat16_bits(b):
    """uint16 bfloat16 bit patterns -> float32 (exact)."""
    return (np.asarray(b, dtype=np.uint32) << 16).view(np.float32)


def _stored(x, dtype):
    """(array to store, its float32 value as a reader sees it)."""
    x = np.asarray(x, dtype=np.float32)
    if dtype == "float32":
        return x, x
    if dtype == "float16":
        h = x.astype(np.float16)
        return h, h.astype(np.float32)
    if dtype == "bfloat16":
        b = to_bfloat16_bits(x)
        return b, from_bfloat16_bits(b)
    raise ValueError(f"unsupported dtype {dtype!r}")


def write_kv_dump(path, layers, dtype="float16", layout="htd", attrs=None, token_ids=None,
                  with_reference=False, segments=1):
    """Write `layers` to the HDF5 file `path` in fq's default layout.

    layers: list over layers of dicts with keys "q" (optional), "k", "v", each a numpy
    array [heads, tokens, head_dim] ([batch, heads, tokens, head_dim] for layout "bhtd";
    float32 or anything numpy converts to it).
    dtype: "float16", "float32" or "bfloat16". layout: "htd", "thd" or "bhtd" (stored axis
    order). attrs: extra root attributes. token_ids: optional [tokens] (bhtd: [batch, tokens])
    integers; positions and segment_id are written alongside: `segments` equal runs of
    tokens (positions restart in each), and for bhtd one sequence per batch row. The file is
    written under a temporary name and renamed into place.
    """
    if layout not in ("htd", "thd", "bhtd"):
        raise ValueError(f"unsupported layout {layout!r}")
    first = layers[0]
    batched = layout == "bhtd"
    shape = np.shape(first["k"])
    batch = shape[0] if batched else 1
    kv_heads, tokens, head_dim = shape[1:] if batched else shape
    n_heads = np.shape(first["q"])[-3] if first.get("q") is not None else kv_heads
    if tokens % segments != 0:
        raise ValueError(f"{tokens} tokens do not split into {segments} equal segments")
    tmp = f"{path}.tmp.{os.getpid()}"
    with h5py.File(tmp, "w") as f:
        for li, layer in enumerate(layers):
            for name in ("q", "k", "v"):
                x = layer.get(name)
                if x is None:
                    continue
                x = np.asarray(x, dtype=np.float32)
                want = 4 if batched else 3
                if x.ndim != want or x.shape[-2:] != (tokens, head_dim) or (
                        batched and x.shape[0] != batch):
                    raise ValueError(f"layer {li} {name}: shape {x.shape}, expected "
                                     f"[{'batch, ' if batched else ''}heads, {tokens}, "
                                     f"{head_dim}]")
                data, seen = _stored(x, dtype)
                if layout == "thd":
                    data = np.ascontiguousarray(np.transpose(data, (1, 0, 2)))
                ds = f.create_dataset(f"layer_{li}/{name}", data=data)
                if dtype == "bfloat16":
                    ds.attrs["dtype"] = "bfloat16"
                if with_reference:
                    f.create_dataset(f"reference/layer_{li}/{name}", data=x)
                    f.create_dataset(f"reference_stored/layer_{li}/{name}", data=seen)
        if token_ids is not None:
            seg_len = tokens // segments
            positions = np.arange(tokens, dtype=np.int32) % seg_len
            segment_id = np.arange(tokens, dtype=np.int32) // seg_len
            if batched:
                positions = np.tile(positions, (batch, 1))
                segment_id = np.tile(segment_id, (batch, 1))
            f.create_dataset("token_ids", data=np.asarray(token_ids, dtype=np.int32))
            f.create_dataset("positions", data=positions)
            f.create_dataset("segment_id", data=segment_id)
        f.attrs["n_layers"] = np.int64(len(layers))
        f.attrs["n_heads"] = np.int64(n_heads)
        f.attrs["n_kv_heads"] = np.int64(kv_heads)
        f.attrs["head_dim"] = np.int64(head_dim)
        f.attrs["tokens"] = np.int64(tokens)
        f.attrs["n_segments"] = np.int64(segments * batch)
        if batched:
            f.attrs["batch"] = np.int64(batch)
        f.attrs["storage_dtype"] = dtype
        f.attrs["layout"] = layout
        for key, value in (attrs or {}).items():
            f.attrs[key] = value
    os.replace(tmp, path)


def write_past_key_values(path, past_key_values, dtype="float16", token_ids=None,
                          queries=None, attrs=None):
    """Write a Hugging Face cache as it is: past_key_values a sequence over layers of (k, v)
    pairs (a legacy cache tuple, or DynamicCache.to_legacy_cache()), each tensor
    [batch, n_kv_heads, tokens, head_dim] (torch tensors or numpy arrays); queries an
    optional list over layers of [batch, n_heads, tokens, head_dim]. Every batch row is one
    independent sequence (fq reads 4-D datasets as bhtd)."""
    def arr(t):
        if hasattr(t, "detach"):  # torch, without importing it
            t = t.detach().float().cpu().numpy()
        return np.asarray(t, dtype=np.float32)

    layers = []
    for li, (k, v) in enumerate(past_key_values):
        layer = {"k": arr(k), "v": arr(v)}
        if queries is not None:
            layer["q"] = arr(queries[li])
        layers.append(layer)
    write_kv_dump(path, layers, dtype=dtype, layout="bhtd", attrs=attrs, token_ids=token_ids)


def synthetic_layers(n_layers, n_heads, n_kv_heads, tokens, head_dim, seed):
    """Seeded random q/k/v with a few real-looking traits: keys have two outlier channels
    with a signed offset and token-to-token norm spread; values are near isotropic."""
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(n_layers):
        q = rng.standard_normal((n_heads, tokens, head_dim)).astype(np.float32) * 2.0
        k = rng.standard_normal((n_kv_heads, tokens, head_dim)).astype(np.float32)
        k[:, :, head_dim - 2:] += 4.0  # outlier channels
        k *= rng.lognormal(0.0, 0.3, (n_kv_heads, tokens, 1)).astype(np.float32)
        v = rng.standard_normal((n_kv_heads, tokens, head_dim)).astype(np.float32) * 0.5
        layers.append({"q": q, "k": k, "v": v})
    return layers


def seed002_layers(distribution, n_layers, n_heads, n_kv_heads, tokens, head_dim, seed,
                   rank=32, nu=3.0):
    """The synthetic regimes of seed 002 (KV-cache quantisation inspired by TurboQuant):
    'gaussian' iid N(0, 1) q, k, v; 'student-t' iid Student-t with nu = 3 degrees of freedom
    (fat tails); 'low-rank' vectors confined to a random rank-r subspace (r = 32 by default,
    min(r, d)) per head plus 1% isotropic noise. Queries follow the same law as the keys."""
    rng = np.random.default_rng(seed)

    def draw(heads):
        if distribution == "gaussian":
            return rng.standard_normal((heads, tokens, head_dim))
        if distribution == "student-t":
            return rng.standard_t(nu, (heads, tokens, head_dim))
        r = min(rank, head_dim)
        basis = rng.standard_normal((heads, r, head_dim)) / np.sqrt(r)
        coef = rng.standard_normal((heads, tokens, r))
        return np.einsum("htr,hrd->htd", coef, basis) + 0.01 * rng.standard_normal(
            (heads, tokens, head_dim))

    return [{"q": draw(n_heads).astype(np.float32), "k": draw(n_kv_heads).astype(np.float32),
             "v": draw(n_kv_heads).astype(np.float32)} for _ in range(n_layers)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--output", required=True, help="HDF5 file to write")
    p.add_argument("--synthetic", action="store_true",
                   help="write a seeded random dump (the only data source of this CLI)")
    p.add_argument("--dtype", choices=("float16", "float32", "bfloat16"), default="float16")
    p.add_argument("--layout", choices=("htd", "thd", "bhtd"), default="htd",
                   help="stored axis order (default %(default)s)")
    p.add_argument("--batch", type=int, default=1,
                   help="batch rows for --layout bhtd (each an independent sequence)")
    p.add_argument("--segments", type=int, default=1,
                   help="independent sequences (segment_id), equal runs of tokens")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4, help="query heads")
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--head-dim", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--distribution", default="realistic",
                   choices=("realistic", "gaussian", "student-t", "low-rank"),
                   help="realistic: outlier key channels and norm spread; the others are "
                        "seed 002's regimes (default %(default)s)")
    p.add_argument("--rank", type=int, default=32, help="subspace rank of --distribution low-rank")
    p.add_argument("--with-reference", action="store_true",
                   help="also store the float32 originals under reference/")
    a = p.parse_args(argv)
    if not a.synthetic:
        p.error("only --synthetic is available from the command line; import "
                "write_kv_dump() to write a model's own tensors")
    if a.distribution == "realistic":
        layers = synthetic_layers(a.layers, a.heads, a.kv_heads, a.tokens, a.head_dim, a.seed)
    else:
        layers = seed002_layers(a.distribution, a.layers, a.heads, a.kv_heads, a.tokens,
                                a.head_dim, a.seed, rank=a.rank)
    token_ids = np.random.default_rng(a.seed + 1).integers(0, 512, a.tokens)
    if a.layout == "bhtd":
        # Batch rows b: the synthetic tokens of rows [b T, (b + 1) T) of a batch x T draw.
        if a.batch < 1:
            p.error("--batch must be >= 1")
        big = synthetic_layers(a.layers, a.heads, a.kv_heads, a.tokens * a.batch, a.head_dim,
                               a.seed) if a.distribution == "realistic" else seed002_layers(
            a.distribution, a.layers, a.heads, a.kv_heads, a.tokens * a.batch, a.head_dim,
            a.seed, rank=a.rank)
        layers = [{n: x.reshape(x.shape[0], a.batch, a.tokens, a.head_dim).transpose(1, 0, 2, 3)
                   for n, x in layer.items()} for layer in big]
        token_ids = np.random.default_rng(a.seed + 1).integers(0, 512, (a.batch, a.tokens))
    elif a.batch != 1:
        p.error("--batch goes with --layout bhtd")
    write_kv_dump(a.output, layers, dtype=a.dtype, layout=a.layout, token_ids=token_ids,
                  segments=a.segments,
                  attrs={"model_name": "synthetic-" + a.distribution, "seed": np.int64(a.seed),
                         "n_heads": np.int64(a.heads), "n_kv_heads": np.int64(a.kv_heads),
                         "head_dim": np.int64(a.head_dim)},
                  with_reference=a.with_reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Write a llama2.c legacy checkpoint in the Hugging Face Llama layout (numpy only).

    scripts/llama2c_to_hf.py MODEL.bin OUT_DIR [--dtype float32|float16|bfloat16]

writes OUT_DIR/config.json and OUT_DIR/model.safetensors (tensor names of
LlamaForCausalLM). llama2.c rotates adjacent pairs (2i, 2i+1) of each head; Hugging Face
rotates (i, i + hd/2) ("rotate half"). The rows of wq and wk are permuted within each head
so that rotate-half on the permuted projections computes exactly the same attention scores
(the permutation Hugging Face's own conversion script applies): the model's logits are
unchanged. The tokenizer is not converted (fq-eval model reads llama2.c's tok512.bin).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np


def read_llama2c(path):
    with open(path, "rb") as f:
        data = f.read()
    dim, hidden, layers, heads, kv_heads, vocab, seq_len = struct.unpack("<7i", data[:28])
    tied = vocab > 0
    vocab = abs(vocab)
    hd = dim // heads
    kv = hd * kv_heads
    x = np.frombuffer(data, dtype="<f4", offset=28)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        out = x[pos:pos + n].reshape(shape)
        pos += n
        return out

    w = {"emb": take(vocab, dim), "attn_norm": take(layers, dim), "wq": take(layers, dim, dim),
         "wk": take(layers, kv, dim), "wv": take(layers, kv, dim), "wo": take(layers, dim, dim),
         "ffn_norm": take(layers, dim), "w1": take(layers, hidden, dim),
         "w2": take(layers, dim, hidden), "w3": take(layers, hidden, dim),
         "final_norm": take(dim)}
    take(seq_len, hd // 2)
    take(seq_len, hd // 2)
    if not tied:
        w["cls"] = take(vocab, dim)
    if pos != x.size:
        raise ValueError(f"{path}: {x.size - pos} floats left over: not a llama2.c checkpoint")
    cfg = dict(dim=dim, hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads,
               vocab=vocab, seq_len=seq_len, tied=tied)
    return cfg, w


def permute(w, n_heads):
    """Rows of one projection [n_heads hd, dim]: per head, interleaved pairs -> halves."""
    rows, cols = w.shape
    hd = rows // n_heads
    return w.reshape(n_heads, hd // 2, 2, cols).transpose(0, 2, 1, 3).reshape(rows, cols)


def to_bf16_bits(a):
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    code = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}[dtype]
    for name, a in tensors.items():
        a = np.asarray(a, dtype=np.float32)
        raw = (a.astype("<f4") if dtype == "float32" else
               a.astype("<f2") if dtype == "float16" else to_bf16_bits(a).astype("<u2")).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="llama2.c legacy checkpoint (.bin)")
    p.add_argument("out", help="output directory (created)")
    p.add_argument("--dtype", choices=("float32", "float16", "bfloat16"), default="float32")
    a = p.parse_args(argv)
    cfg, w = read_llama2c(a.model)
    os.makedirs(a.out, exist_ok=True)
    t = {"model.embed_tokens.weight": w["emb"]}
    for l in range(cfg["layers"]):
        q = f"model.layers.{l}."
        t[q + "input_layernorm.weight"] = w["attn_norm"][l]
        t[q + "self_attn.q_proj.weight"] = permute(w["wq"][l], cfg["heads"])
        t[q + "self_attn.k_proj.weight"] = permute(w["wk"][l], cfg["kv_heads"])
        t[q + "self_attn.v_proj.weight"] = w["wv"][l]
        t[q + "self_attn.o_proj.weight"] = w["wo"][l]
        t[q + "post_attention_layernorm.weight"] = w["ffn_norm"][l]
        t[q + "mlp.gate_proj.weight"] = w["w1"][l]
        t[q + "mlp.up_proj.weight"] = w["w3"][l]
        t[q + "mlp.down_proj.weight"] = w["w2"][l]
    t["model.norm.weight"] = w["final_norm"]
    if not cfg["tied"]:
        t["lm_head.weight"] = w["cls"]
    write_safetensors(os.path.join(a.out, "model.safetensors"), t, a.dtype)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
              "hidden_size": cfg["dim"], "intermediate_size": cfg["hidden"],
              "num_hidden_layers": cfg["layers"], "num_attention_heads": cfg["heads"],
              "num_key_value_heads": cfg["kv_heads"], "vocab_size": cfg["vocab"],
              "max_position_embeddings": cfg["seq_len"], "rms_norm_eps": 1e-5,
              "rope_theta": 10000.0, "hidden_act": "silu",
              "tie_word_embeddings": cfg["tied"], "torch_dtype": a.dtype,
              "bos_token_id": 1, "eos_token_id": 2}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

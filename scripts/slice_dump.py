#!/usr/bin/python3
"""Copy a token range of a KV dump into a new dump (h5py + numpy only).

    scripts/slice_dump.py -i data/sample_kv_d64.h5 --tokens 256:512 -o heldout.h5

Every layer_L/{q,k,v} dataset (axes heads x tokens x d, fq's default `htd` layout) is cut to
tokens [a, b); 1-D per-token datasets (token_ids, positions, segment_id) are cut alike; the
root, group and dataset attributes are copied verbatim, plus root attributes
`sliced_from` (input path) and `sliced_tokens` ("a:b"), and `tokens` / `segment_len` are
updated when present. Used by scripts/reports.sh to evaluate on tokens the GSRQ codebooks
were not trained on (the sample's second story starts at token 254, so 256:512 is a clean
context of one story).
"""
import argparse

import h5py
import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-i", "--input", required=True)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--tokens", required=True, help="a:b, tokens [a, b)")
    a = p.parse_args()
    t0, t1 = (int(x) for x in a.tokens.split(":"))
    with h5py.File(a.input, "r") as src, h5py.File(a.output, "w") as dst:
        T = None
        for k, v in src.attrs.items():
            dst.attrs[k] = v

        def copy(name, obj):
            nonlocal T
            if isinstance(obj, h5py.Group):
                g = dst.require_group(name)
                for k, v in obj.attrs.items():
                    g.attrs[k] = v
                return
            data = obj[()]
            if obj.ndim == 3 and name.split("/")[-1] in ("q", "k", "v"):
                T = obj.shape[1]
                data = data[:, t0:t1, :]
            elif obj.ndim == 1:
                data = data[t0:t1]
            else:
                raise SystemExit(f"{name}: do not know how to slice shape {obj.shape}")
            if data.size == 0:
                raise SystemExit(f"{name}: empty slice {a.tokens}")
            d = dst.create_dataset(name, data=np.ascontiguousarray(data))
            for k, v in obj.attrs.items():
                d.attrs[k] = v

        src.visititems(copy)
        if T is not None and not (0 <= t0 < t1 <= T):
            raise SystemExit(f"token range {a.tokens} outside [0, {T})")
        n = t1 - t0
        for key in ("tokens", "segment_len"):
            if key in dst.attrs:
                dst.attrs[key] = n
        dst.attrs["sliced_from"] = a.input
        dst.attrs["sliced_tokens"] = a.tokens


if __name__ == "__main__":
    main()

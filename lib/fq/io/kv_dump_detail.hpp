// Internals shared by io/kv_dump.cpp (reading) and io/kv_dump_writer.cpp (writing): the
// stored element types and the mapping of a Slab onto a dataset's stored axis order. Not
// part of the public interface: include it from those two files only.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fq/io/kv_dump.hpp"

namespace fq::io::detail {

inline std::string_view strip_slash(std::string_view s) {
    while (!s.empty() && s.front() == '/') s.remove_prefix(1);
    return s;
}

// How the elements of a vector dataset are stored, and so how they are read and widened.
enum class Stored { f32, f64, f16, bf16 };

// "float32", "float64", "float16", "bfloat16".
const char* dtype_name(Stored s);
// The inverse of dtype_name; UsageError "<where>: unsupported output dtype ..." otherwise.
Stored stored_from_name(const std::string& where, const std::string& name);

// File-order start/count of a slab, and the strides (in elements of a dense file-order
// buffer of that slab) of the h, t and d axes.
struct FileSlab {
    std::vector<hsize_t> start, count;
    std::size_t sh = 0, st = 0, sd = 0;
};

// `row`: the batch row of a batched order (count 1 on the b axis).
FileSlab file_slab(const AxisOrder& axes, const Slab& slab, int d, std::int64_t row = 0);

// Cuts a slab over the concatenated tokens of a batched dataset (batch rows of T tokens)
// into one piece per batch row touched: fn(row, local slab within that row, offset of the
// piece's first token within the slab). Without a batch (batch = 1), one piece.
template <class F>
void for_each_batch_piece(const Slab& slab, int batch, std::int64_t T, F&& fn) {
    if (batch <= 1 || T <= 0) {
        fn(std::int64_t{0}, slab, std::int64_t{0});
        return;
    }
    for (std::int64_t b = slab.t0 / T; b < batch && b * T < slab.t1; ++b) {
        const std::int64_t lo = std::max(slab.t0, b * T), hi = std::min(slab.t1, (b + 1) * T);
        if (lo >= hi) continue;
        fn(b, Slab{slab.h0, slab.h1, lo - b * T, hi - b * T}, lo - slab.t0);
    }
}

// A piece (heads, n, d) and its place in a slab buffer (heads, nt, d) at token offset at:
// scatter_piece copies the piece into the slab buffer, gather_piece the other way.
inline void scatter_piece(float* slab_buf, const float* piece, int heads, std::int64_t nt,
                          std::int64_t n, std::int64_t at, int d) {
    const auto dd = static_cast<std::size_t>(d), count = static_cast<std::size_t>(n) * dd;
    for (int h = 0; h < heads; ++h)
        std::copy_n(piece + static_cast<std::size_t>(h) * count, count,
                    slab_buf + (static_cast<std::size_t>(h) * nt + at) * dd);
}
inline void gather_piece(const float* slab_buf, float* piece, int heads, std::int64_t nt,
                         std::int64_t n, std::int64_t at, int d) {
    const auto dd = static_cast<std::size_t>(d), count = static_cast<std::size_t>(n) * dd;
    for (int h = 0; h < heads; ++h)
        std::copy_n(slab_buf + (static_cast<std::size_t>(h) * nt + at) * dd, count,
                    piece + static_cast<std::size_t>(h) * count);
}

// Visits every element of a slab as (canonical [h, t, d] offset, file-order offset).
template <class F>
void for_each_element(const FileSlab& f, const Slab& slab, int d, F&& fn) {
    std::size_t c = 0;
    for (int h = 0; h < slab.heads(); ++h)
        for (std::int64_t t = 0; t < slab.tokens(); ++t) {
            const std::size_t base =
                static_cast<std::size_t>(h) * f.sh + static_cast<std::size_t>(t) * f.st;
            for (int i = 0; i < d; ++i, ++c) fn(c, base + static_cast<std::size_t>(i) * f.sd);
        }
}

// UsageError "<where>: slab heads [...) x tokens [...) outside H x T" unless the slab lies
// within heads x tokens.
void check_slab(const std::string& where, const Slab& s, int heads, std::int64_t tokens);

}  // namespace fq::io::detail

// Internals shared by io/kv_dump.cpp (reading) and io/kv_dump_writer.cpp (writing): the
// stored element types and the mapping of a Slab onto a dataset's stored axis order. Not
// part of the public interface: include it from those two files only.
#pragma once

#include <hdf5.h>

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

FileSlab file_slab(const AxisOrder& axes, const Slab& slab, int d);

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

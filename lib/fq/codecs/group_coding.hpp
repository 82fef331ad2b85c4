// Coding whole heads with any codec, the one place that handles codecs coding groups of
// G = codec.block_vectors() > 1 vectors (codecs/codec.hpp: int per_channel): each head's T
// vectors are padded to R = ceil(T / G) whole groups by repeating its last vector, so a
// head's codes are R rows of code_bytes() bytes; decoding drops the padding again.
// Work is cut into fixed chunks of about k_group_chunk_vectors vectors (core::parallel_chunks),
// so codes and values never depend on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fq/codecs/codec.hpp"
#include "fq/codecs/head_center.hpp"

namespace fq::codecs {

inline constexpr std::size_t k_group_chunk_vectors = 512;

// Code rows per head: ceil(T / G).
std::size_t group_rows(const Codec& codec, std::size_t T);

// x: (heads, T, d) row-major float -> codes: (heads, group_rows(T), code_bytes()) bytes.
// scratch: reused buffer for the padded copy (untouched when G = 1 or G divides T).
void encode_heads(const Codec& codec, const float* x, std::size_t heads, std::size_t T,
                  std::uint8_t* codes, std::vector<float>& scratch);

// codes: (heads, group_rows(T), code_bytes()) -> x: (heads, T, d) row-major float (the
// padding of a last partial group dropped). scratch as above.
void decode_heads(const Codec& codec, const std::uint8_t* codes, std::size_t heads, std::size_t T,
                  float* x, std::vector<float>& scratch);

// A codec applied to whole heads, with per-head centring or not (codec descriptions with
// "center": "head", codecs/head_center.hpp).
struct HeadCodec {
    const Codec* codec = nullptr;
    bool center = false;
};

// What a round trip stored: the code rows (heads, group_rows(T), code_bytes()) and, when
// centred, the means subtracted (heads, d) as float16 bit patterns.
struct HeadCodes {
    std::vector<std::uint8_t> codes;
    std::vector<std::uint16_t> center;
    // Bits stored: code bytes and the centre.
    double bits() const {
        return 8.0 * static_cast<double>(codes.size()) + 16.0 * static_cast<double>(center.size());
    }
};

// In-memory round trip of x: (heads, T, d) into y: (heads, T, d), as fq-encode then
// fq-decode would do it: centred (the means over every token except those listed in `exact`,
// sorted token indices the caller keeps exactly; nullptr = none) when hc.center, then
// encode_heads and decode_heads. Throws NumericError as the codec does.
HeadCodes round_trip_heads(const HeadCodec& hc, const float* x, std::size_t heads, std::size_t T,
                           float* y, const std::vector<std::int64_t>* exact = nullptr);

}  // namespace fq::codecs

#include "fq/codecs/group_coding.hpp"

#include <algorithm>
#include <cstring>

#include "fq/core/parallel.hpp"

namespace fq::codecs {

namespace {

std::size_t group_of(const Codec& codec) {
    return std::max<std::size_t>(1, codec.block_vectors());
}

}  // namespace

std::size_t group_rows(const Codec& codec, std::size_t T) {
    const std::size_t G = group_of(codec);
    return (T + G - 1) / G;
}

void encode_heads(const Codec& codec, const float* x, std::size_t heads, std::size_t T,
                  std::uint8_t* codes, std::vector<float>& scratch) {
    const std::size_t G = group_of(codec), d = static_cast<std::size_t>(codec.dim());
    const std::size_t R = group_rows(codec, T), cb = codec.code_bytes();
    const float* xs = x;
    if (R * G != T && T > 0) {
        scratch.resize(heads * R * G * d);
        for (std::size_t h = 0; h < heads; ++h) {
            float* dst = scratch.data() + h * R * G * d;
            std::copy(x + h * T * d, x + (h + 1) * T * d, dst);
            for (std::size_t i = T; i < R * G; ++i)
                std::copy(dst + (T - 1) * d, dst + T * d, dst + i * d);
        }
        xs = scratch.data();
    }
    core::parallel_chunks(heads * R, std::max<std::size_t>(1, k_group_chunk_vectors / G),
                          [&](std::size_t, std::size_t b, std::size_t end) {
                              codec.encode(xs + b * G * d, (end - b) * G, codes + b * cb);
                          });
}

void decode_heads(const Codec& codec, const std::uint8_t* codes, std::size_t heads, std::size_t T,
                  float* x, std::vector<float>& scratch) {
    const std::size_t G = group_of(codec), d = static_cast<std::size_t>(codec.dim());
    const std::size_t R = group_rows(codec, T), cb = codec.code_bytes();
    const bool direct = R * G == T;
    if (!direct) scratch.resize(heads * R * G * d);
    float* out = direct ? x : scratch.data();
    core::parallel_chunks(heads * R, std::max<std::size_t>(1, k_group_chunk_vectors / G),
                          [&](std::size_t, std::size_t b, std::size_t end) {
                              codec.decode(codes + b * cb, (end - b) * G, out + b * G * d);
                          });
    if (!direct)
        for (std::size_t h = 0; h < heads; ++h)
            std::memcpy(x + h * T * d, scratch.data() + h * R * G * d, T * d * sizeof(float));
}

}  // namespace fq::codecs

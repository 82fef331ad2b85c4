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

HeadCodes round_trip_heads(const HeadCodec& hc, const float* x, std::size_t heads, std::size_t T,
                           float* y, const std::vector<std::int64_t>* exact) {
    const Codec& codec = *hc.codec;
    const auto d = static_cast<std::size_t>(codec.dim());
    HeadCodes out;
    out.codes.resize(heads * group_rows(codec, T) * codec.code_bytes());
    std::vector<float> scratch;
    if (!hc.center) {
        encode_heads(codec, x, heads, T, out.codes.data(), scratch);
        decode_heads(codec, out.codes.data(), heads, T, y, scratch);
        return out;
    }
    HeadMeans means(heads, d);
    if (exact == nullptr || exact->empty()) {
        means.add(x, T);
    } else {  // one token at a time, skipping the exact ones (token order kept)
        std::vector<float> v(heads * d);
        std::size_t e = 0;
        for (std::size_t t = 0; t < T; ++t) {
            if (e < exact->size() && (*exact)[e] == static_cast<std::int64_t>(t)) {
                ++e;
                continue;
            }
            for (std::size_t h = 0; h < heads; ++h)
                std::copy_n(x + (h * T + t) * d, d, v.data() + h * d);
            means.add(v.data(), 1);
        }
    }
    out.center = means.float16();
    std::vector<float> xc(x, x + heads * T * d);
    subtract_center(xc.data(), heads, T, d, out.center.data());
    encode_heads(codec, xc.data(), heads, T, out.codes.data(), scratch);
    decode_heads(codec, out.codes.data(), heads, T, y, scratch);
    add_center(y, heads, T, d, out.center.data());
    return out;
}

}  // namespace fq::codecs

// codecs/group_coding: whole heads coded with a group codec (int per_channel, G vectors per
// code) against a plain per-head loop written here: pad with the last vector, encode,
// decode, drop the padding. Also G = 1 and T a multiple of G, and every thread count.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "fq/codecs/group_coding.hpp"
#include "fq/codecs/int_quant.hpp"
#include "fq/core/parallel.hpp"

#include "test_support.hpp"

using namespace fq;

namespace {

struct Naive {
    std::vector<std::uint8_t> codes;
    std::vector<float> decoded;
};

Naive naive(const codecs::Codec& c, const std::vector<float>& x, std::size_t heads, std::size_t T) {
    const std::size_t G = c.block_vectors(), d = static_cast<std::size_t>(c.dim());
    const std::size_t R = (T + G - 1) / G;
    Naive out;
    out.codes.resize(heads * R * c.code_bytes());
    out.decoded.resize(heads * T * d);
    for (std::size_t h = 0; h < heads; ++h) {
        std::vector<float> p(R * G * d);
        for (std::size_t t = 0; t < R * G; ++t)
            std::memcpy(&p[t * d], &x[(h * T + std::min(t, T - 1)) * d], d * sizeof(float));
        c.encode(p.data(), R * G, &out.codes[h * R * c.code_bytes()]);
        std::vector<float> y(R * G * d);
        c.decode(&out.codes[h * R * c.code_bytes()], R * G, y.data());
        std::memcpy(&out.decoded[h * T * d], y.data(), T * d * sizeof(float));
    }
    return out;
}

}  // namespace

TEST_SUITE("group_coding") {
    TEST_CASE("encode_heads / decode_heads equal a plain per-head loop, any thread count") {
        for (const auto grouping :
             {codecs::IntGrouping::per_channel, codecs::IntGrouping::per_token}) {
            codecs::IntQuantParams p;
            p.d = 16;
            p.bits = 3;
            p.group = grouping == codecs::IntGrouping::per_channel ? 8 : 16;
            p.grouping = grouping;
            const codecs::IntQuantCodec codec(p);
            for (const std::size_t T :
                 {std::size_t{1}, std::size_t{8}, std::size_t{13}, std::size_t{700}}) {
                CAPTURE(T);
                const std::size_t heads = 3;
                const std::vector<float> x = test::randn(heads * T * 16, 11 + T);
                const Naive want = naive(codec, x, heads, T);
                REQUIRE(codecs::group_rows(codec, T) * heads * codec.code_bytes() ==
                        want.codes.size());
                for (const int threads : {1, 2}) {
                    core::set_threads(threads);
                    std::vector<std::uint8_t> codes(want.codes.size());
                    std::vector<float> y(x.size()), scratch;
                    codecs::encode_heads(codec, x.data(), heads, T, codes.data(), scratch);
                    codecs::decode_heads(codec, codes.data(), heads, T, y.data(), scratch);
                    CHECK(codes == want.codes);
                    CHECK(y == want.decoded);
                }
                core::set_threads(0);
            }
        }
    }
}

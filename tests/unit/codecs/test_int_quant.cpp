// Tests of codecs/int_quant: exact rates of known KIVI configurations, agreement with a naive
// reference (float16 zero point / scale found by scanning every float16, rounding by hand),
// the half-step error bound for every b and G in both groupings, constant groups, blocks of
// G tokens for per-channel groups, thread independence.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "fq/codecs/bitpack.hpp"
#include "fq/codecs/int_quant.hpp"
#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"

#include "test_support.hpp"

using namespace fq;
using namespace fq::codecs;

namespace {

// KV-like data: Gaussian, a few outlier channels, per-vector scales.
std::vector<float> kv_like(std::size_t n, int d, std::uint64_t seed) {
    core::Rng rng(seed, 3);
    std::vector<float> x(n * d);
    for (std::size_t i = 0; i < n; ++i) {
        const double s = std::exp(0.5 * rng.normal());
        for (int j = 0; j < d; ++j)
            x[i * d + j] = static_cast<float>(s * rng.normal() * (j % 17 == 3 ? 20 : 1));
    }
    return x;
}

// Largest float16 <= v and smallest float16 >= v, by scanning all finite float16 values.
double half_floor(double v) {
    double best = -std::numeric_limits<double>::infinity();
    for (std::uint32_t h = 0; h < 65536; ++h) {
        const double f = core::half_to_float(static_cast<std::uint16_t>(h));
        if (std::isfinite(f) && f <= v && f > best) best = f;
    }
    return best;
}
double half_ceil(double v) {
    double best = std::numeric_limits<double>::infinity();
    for (std::uint32_t h = 0; h < 65536; ++h) {
        const double f = core::half_to_float(static_cast<std::uint16_t>(h));
        if (std::isfinite(f) && f >= v && f < best) best = f;
    }
    return best;
}

// Naive per-token reconstruction of one group of G values.
std::vector<float> naive_group(const float* v, int G, int b) {
    double lo = v[0], hi = v[0];
    for (int i = 0; i < G; ++i) {
        lo = std::min<double>(lo, v[i]);
        hi = std::max<double>(hi, v[i]);
    }
    const int L = (1 << b) - 1;
    const double m = half_floor(lo), s = half_ceil((hi - m) / L);
    std::vector<float> out(G);
    for (int i = 0; i < G; ++i) {
        long q = s > 0 ? std::lround(std::floor((v[i] - m) / s + 0.5)) : 0;
        q = std::max(0L, std::min<long>(q, L));
        out[i] = static_cast<float>(m + q * s);
    }
    return out;
}

}  // namespace

TEST_SUITE("int_quant") {
    TEST_CASE("rates of known configurations, to the bit") {
        const IntQuantCodec a(IntQuantParams{128, 4, 32, IntGrouping::per_token});
        CHECK(a.code_bits() == 640.0);  // 4 * 128 + 4 groups * 32
        CHECK(a.code_bytes() == 80);
        CHECK(a.rate() == 5.0);
        CHECK(a.block_vectors() == 1);
        const IntQuantCodec b(IntQuantParams{64, 3, 32, IntGrouping::per_token});
        CHECK(b.code_bits() == 256.0);  // 2 groups * (32 + 96)
        CHECK(b.code_bytes() == 32);
        const IntQuantCodec c(IntQuantParams{128, 2, 64, IntGrouping::per_channel});
        CHECK(c.block_vectors() == 64);
        CHECK(c.code_bits() == 128.0 * (2 + 32.0 / 64));  // 320 bits per vector
        CHECK(c.code_bytes() == 128 * (32 + 128) / 8);    // one block of 64 tokens
        const IntQuantCodec e(IntQuantParams{128, 8, 128, IntGrouping::per_token});
        CHECK(e.rate() == 8.25);
        CHECK_THROWS_AS(IntQuantCodec(IntQuantParams{96, 4, 64, IntGrouping::per_token}),
                        UsageError);
        CHECK_THROWS_AS(IntQuantCodec(IntQuantParams{64, 9, 32, IntGrouping::per_token}),
                        UsageError);
    }

    TEST_CASE("per-token decode equals the naive reference") {
        const int d = 64, G = 32;
        const std::size_t n = 6;
        const auto x = kv_like(n, d, 4);
        for (int b : {2, 3, 4, 8}) {
            const IntQuantCodec c(IntQuantParams{d, b, G, IntGrouping::per_token});
            std::vector<std::uint8_t> codes(n * c.code_bytes());
            c.encode(x.data(), n, codes.data());
            std::vector<float> y(n * d);
            c.decode(codes.data(), n, y.data());
            for (std::size_t v = 0; v < n; ++v)
                for (int g = 0; g < d / G; ++g) {
                    const auto want = naive_group(&x[v * d + g * G], G, b);
                    for (int i = 0; i < G; ++i) CHECK(y[v * d + g * G + i] == want[i]);
                }
        }
    }

    TEST_CASE("every element is reconstructed within half a step (all b, G, groupings)") {
        const int d = 128;
        const std::size_t n = 128;
        const auto x = kv_like(n, d, 9);
        for (auto grouping : {IntGrouping::per_token, IntGrouping::per_channel})
            for (int b : {2, 3, 4, 8})
                for (int G : {32, 64, 128}) {
                    const IntQuantCodec c(IntQuantParams{d, b, G, grouping});
                    const std::size_t nb = n / c.block_vectors();
                    std::vector<std::uint8_t> codes(nb * c.code_bytes());
                    c.encode(x.data(), n, codes.data());
                    std::vector<float> y(n * d);
                    c.decode(codes.data(), n, y.data());
                    // Read each group's scale s16 from the code: group g starts at bit
                    // g * (32 + G b), its scale at +16.
                    double worst = 0;
                    for (std::size_t blk = 0; blk < nb; ++blk) {
                        const std::uint8_t* code = &codes[blk * c.code_bytes()];
                        const int groups = grouping == IntGrouping::per_token ? d / G : d;
                        for (int g = 0; g < groups; ++g) {
                            const double s = core::half_to_float(static_cast<std::uint16_t>(
                                read_bits(code, g * c.group_bits() + 16, 16)));
                            for (int i = 0; i < G; ++i) {
                                const std::size_t at = grouping == IntGrouping::per_token
                                                           ? blk * d + g * G + i
                                                           : (blk * G + i) * d + g;
                                const double err = std::fabs(static_cast<double>(x[at]) - y[at]);
                                // half a step, plus the float rounding of the output
                                worst = std::max(worst, err / (s / 2 + 1e-7 * std::fabs(x[at])));
                            }
                        }
                    }
                    CAPTURE(b);
                    CAPTURE(G);
                    CHECK(worst <= 1.0);
                }
    }

    TEST_CASE("constant and zero groups, per-channel blocks, n not a multiple of G") {
        const int d = 32, G = 32;
        std::vector<float> x(d, 0.1f);  // 0.1 is not a float16: reconstructed within s16/2
        const IntQuantCodec c(IntQuantParams{d, 4, G, IntGrouping::per_token});
        std::vector<std::uint8_t> code(c.code_bytes());
        c.encode(x.data(), 1, code.data());
        std::vector<float> y(d);
        c.decode(code.data(), 1, y.data());
        const double s =
            core::half_to_float(static_cast<std::uint16_t>(read_bits(code.data(), 16, 16)));
        CHECK(s > 0);
        for (float v : y) CHECK(std::fabs(v - 0.1) <= s / 2 + 1e-9);
        std::vector<float> z(d, 0.0f);
        c.encode(z.data(), 1, code.data());
        c.decode(code.data(), 1, y.data());
        for (float v : y) CHECK(v == 0.0f);
        const IntQuantCodec pc(IntQuantParams{d, 2, 4, IntGrouping::per_channel});
        std::vector<float> xs(6 * d, 1.0f);
        std::vector<std::uint8_t> codes(2 * pc.code_bytes());
        CHECK_THROWS_AS(pc.encode(xs.data(), 6, codes.data()), UsageError);
        CHECK_NOTHROW(pc.encode(xs.data(), 4, codes.data()));
    }

    TEST_CASE("per-channel code of a block equals per-token coding of the transposed block") {
        // A per-channel block of G tokens is, channel by channel, the same group coding.
        const int d = 32, G = 32;
        const auto x = kv_like(G, d, 12);
        const IntQuantCodec pc(IntQuantParams{d, 3, G, IntGrouping::per_channel});
        const IntQuantCodec pt(IntQuantParams{G, 3, G, IntGrouping::per_token});
        std::vector<std::uint8_t> codes(pc.code_bytes());
        pc.encode(x.data(), G, codes.data());
        for (int ch = 0; ch < d; ++ch) {
            std::vector<float> col(G);
            for (int t = 0; t < G; ++t) col[t] = x[t * d + ch];
            std::vector<std::uint8_t> one(pt.code_bytes());
            pt.encode(col.data(), 1, one.data());
            CHECK(read_bits(codes.data(), ch * pc.group_bits(), 32) ==
                  read_bits(one.data(), 0, 32));
            for (int t = 0; t < G; ++t)
                CHECK(read_bits(codes.data(), ch * pc.group_bits() + 32 + 3 * t, 3) ==
                      read_bits(one.data(), 32 + 3 * t, 3));
        }
    }

    TEST_CASE("codes do not depend on the thread count") {
        const int d = 128;
        const std::size_t n = 512;
        const auto x = kv_like(n, d, 21);
        for (auto grouping : {IntGrouping::per_token, IntGrouping::per_channel}) {
            const IntQuantCodec c(IntQuantParams{d, 3, 32, grouping});
            const std::size_t B = c.block_vectors(), nb = n / B;
            const auto out = fq::test::codes_per_thread_count(c, x.data(), nb, 3);
            CHECK(out[0] == out[1]);
        }
    }
}

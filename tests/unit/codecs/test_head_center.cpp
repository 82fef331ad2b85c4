// codecs/head_center and round_trip_heads with centring, against plain loops written here:
// the per-head mean in double over the tokens (skipping those kept exactly), rounded to
// float16; subtracting it, coding with the plain per-vector codec, adding it back.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "fq/codecs/group_coding.hpp"
#include "fq/codecs/head_center.hpp"
#include "fq/codecs/int_quant.hpp"
#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/core/parallel.hpp"

#include "test_support.hpp"

using namespace fq;

namespace {

// (heads, d) float16 means of x: (heads, T, d) over the tokens not in `skip`.
std::vector<std::uint16_t> plain_means(const std::vector<float>& x, std::size_t heads,
                                       std::size_t T, std::size_t d,
                                       const std::vector<std::int64_t>& skip = {}) {
    std::vector<std::uint16_t> out(heads * d);
    for (std::size_t h = 0; h < heads; ++h)
        for (std::size_t j = 0; j < d; ++j) {
            double s = 0;
            std::size_t n = 0;
            for (std::size_t t = 0; t < T; ++t) {
                bool skipped = false;
                for (std::int64_t k : skip) skipped = skipped || k == static_cast<std::int64_t>(t);
                if (skipped) continue;
                s += x[(h * T + t) * d + j];
                ++n;
            }
            out[h * d + j] = core::float_to_half(static_cast<float>(s / static_cast<double>(n)));
        }
    return out;
}

// Keys with per-channel offsets (channel j of head h offset by 3 (h + 1) sin(j)).
std::vector<float> offset_keys(std::size_t heads, std::size_t T, std::size_t d,
                               std::uint64_t seed) {
    std::vector<float> x = test::randn(heads * T * d, seed);
    for (std::size_t h = 0; h < heads; ++h)
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t j = 0; j < d; ++j)
                x[(h * T + t) * d + j] +=
                    static_cast<float>(3.0 * static_cast<double>(h + 1) * std::sin(double(j)));
    return x;
}

}  // namespace

TEST_SUITE("head_center") {
    TEST_CASE("HeadMeans equals the plain mean, whatever the slabs") {
        const std::size_t heads = 3, T = 101, d = 8;
        const std::vector<float> x = offset_keys(heads, T, d, 5);
        codecs::HeadMeans whole(heads, d);
        whole.add(x.data(), T);
        CHECK(whole.tokens() == T);
        CHECK(whole.float16() == plain_means(x, heads, T, d));
        // Slabs of 1, 7 and the rest tokens: (heads, n, d) copies, in token order.
        codecs::HeadMeans parts(heads, d);
        for (const auto& [t0, t1] : {std::pair<std::size_t, std::size_t>{0, 1}, {1, 8}, {8, T}}) {
            std::vector<float> s(heads * (t1 - t0) * d);
            for (std::size_t h = 0; h < heads; ++h)
                std::memcpy(&s[h * (t1 - t0) * d], &x[(h * T + t0) * d],
                            (t1 - t0) * d * sizeof(float));
            parts.add(s.data(), t1 - t0);
        }
        CHECK(parts.float16() == whole.float16());
        // No tokens: zeros; a mean beyond float16: NumericError.
        CHECK(codecs::HeadMeans(2, 4).float16() == std::vector<std::uint16_t>(8, 0));
        codecs::HeadMeans big(1, 2);
        const float huge[2] = {1e6f, 0.0f};
        big.add(huge, 1);
        CHECK_THROWS_AS(big.float16(), NumericError);
    }

    TEST_CASE("subtract_center / add_center / add_center_scores equal plain loops") {
        const std::size_t heads = 2, T = 5, d = 4;
        std::vector<float> x = offset_keys(heads, T, d, 9);
        const std::vector<std::uint16_t> c = plain_means(x, heads, T, d);
        std::vector<float> y = x;
        codecs::subtract_center(y.data(), heads, T, d, c.data());
        for (std::size_t h = 0; h < heads; ++h)
            for (std::size_t t = 0; t < T; ++t)
                for (std::size_t j = 0; j < d; ++j)
                    CHECK(y[(h * T + t) * d + j] ==
                          x[(h * T + t) * d + j] - core::half_to_float(c[h * d + j]));
        codecs::add_center(y.data(), heads, T, d, c.data());
        for (std::size_t i = 0; i < x.size(); ++i) CHECK(std::fabs(y[i] - x[i]) <= 1e-6f);
        // Scores of 3 queries against T keys of head 1.
        const std::vector<float> q = test::randn(3 * d, 4);
        std::vector<double> s(3 * T, 0.5);
        codecs::add_center_scores(q.data(), 3, c.data() + d, d, T, s.data());
        for (std::size_t i = 0; i < 3; ++i) {
            double dot = 0;
            for (std::size_t j = 0; j < d; ++j)
                dot += double(q[i * d + j]) * double(core::half_to_float(c[d + j]));
            for (std::size_t t = 0; t < T; ++t) CHECK(s[i * T + t] == 0.5 + dot);
        }
    }

    TEST_CASE("round_trip_heads centres on the coded tokens and restores the mean") {
        const std::size_t heads = 2, T = 37, d = 16;
        const std::vector<float> x = offset_keys(heads, T, d, 21);
        codecs::IntQuantParams p;
        p.d = 16;
        p.bits = 2;
        p.group = 16;
        p.grouping = codecs::IntGrouping::per_token;
        const codecs::IntQuantCodec codec(p);
        const std::vector<std::int64_t> exact = {0, 1, 2, 30, 36};
        for (const bool with_exact : {false, true}) {
            CAPTURE(with_exact);
            const std::vector<std::int64_t> skip = with_exact ? exact : std::vector<std::int64_t>{};
            const std::vector<std::uint16_t> c = plain_means(x, heads, T, d, skip);
            // Plain: subtract, code vector by vector, add back.
            std::vector<float> want(x.size());
            std::vector<std::uint8_t> want_codes(heads * T * codec.code_bytes());
            for (std::size_t h = 0; h < heads; ++h)
                for (std::size_t t = 0; t < T; ++t) {
                    float v[16], r[16];
                    for (std::size_t j = 0; j < d; ++j)
                        v[j] = x[(h * T + t) * d + j] - core::half_to_float(c[h * d + j]);
                    std::uint8_t* code = &want_codes[(h * T + t) * codec.code_bytes()];
                    codec.encode(v, 1, code);
                    codec.decode(code, 1, r);
                    for (std::size_t j = 0; j < d; ++j)
                        want[(h * T + t) * d + j] = r[j] + core::half_to_float(c[h * d + j]);
                }
            for (const int threads : {1, 2}) {
                core::set_threads(threads);
                std::vector<float> y(x.size());
                const codecs::HeadCodes got = codecs::round_trip_heads(
                    {&codec, true}, x.data(), heads, T, y.data(), with_exact ? &exact : nullptr);
                CHECK(got.center == c);
                CHECK(got.codes == want_codes);
                CHECK(y == want);
                CHECK(got.bits() == 8.0 * double(want_codes.size()) + 16.0 * heads * d);
            }
            core::set_threads(0);
        }
        // Not centred: the plain round trip, no centre stored.
        std::vector<float> y(x.size()), z(x.size()), scratch;
        const codecs::HeadCodes plain =
            codecs::round_trip_heads({&codec, false}, x.data(), heads, T, y.data());
        CHECK(plain.center.empty());
        std::vector<std::uint8_t> codes(plain.codes.size());
        codecs::encode_heads(codec, x.data(), heads, T, codes.data(), scratch);
        codecs::decode_heads(codec, codes.data(), heads, T, z.data(), scratch);
        CHECK(plain.codes == codes);
        CHECK(y == z);
    }
}

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "fq/core/half.hpp"
#include "fq/core/rng.hpp"

using namespace fq::core;

namespace {

bool half_is_nan(std::uint16_t h) {
    return (h & 0x7C00u) == 0x7C00u && (h & 0x3FFu) != 0;
}

// The value of a finite or infinite half from its definition.
double half_value(std::uint16_t h) {
    const int e = (h >> 10) & 0x1F;
    const int m = h & 0x3FF;
    const double s = (h & 0x8000u) ? -1.0 : 1.0;
    if (e == 31) return s * std::numeric_limits<double>::infinity();
    if (e == 0) return s * std::ldexp(m, -24);
    return s * std::ldexp(1024 + m, e - 25);
}

// Reference rounding by search: positive finite halves are ordered like their bit patterns,
// so bracket |f| between two neighbours and pick the nearer, ties to the even pattern.
std::uint16_t reference_half(float f) {
    const double v = std::abs(static_cast<double>(f));
    const std::uint16_t sign = std::signbit(f) ? 0x8000 : 0;
    if (v >= 65520.0) return sign | 0x7C00;  // 65504 + half an ulp and above
    std::uint32_t lo = 0, hi = 0x7BFF;       // largest pattern with value <= v
    while (lo < hi) {
        const std::uint32_t mid = (lo + hi + 1) / 2;
        if (half_value(static_cast<std::uint16_t>(mid)) <= v)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (lo == 0x7BFF) return sign | 0x7BFF;
    const double dlo = v - half_value(static_cast<std::uint16_t>(lo));
    const double dhi = half_value(static_cast<std::uint16_t>(lo + 1)) - v;  // exact in double
    std::uint32_t r = lo;
    if (dhi < dlo || (dhi == dlo && (lo & 1u))) r = lo + 1;
    return static_cast<std::uint16_t>(sign | r);
}

float random_float(Rng& rng) {
    // Mostly values in the half range (exponents -30..17) plus a few arbitrary bit patterns.
    const std::uint64_t u = rng.next_u64();
    if ((u & 0xF) == 0) return std::bit_cast<float>(static_cast<std::uint32_t>(u >> 32));
    const auto mant = static_cast<std::uint32_t>(u >> 41);  // 23 bits
    const auto exp = static_cast<std::uint32_t>(127 - 30 + ((u >> 4) % 48));
    const std::uint32_t sign = static_cast<std::uint32_t>((u >> 10) & 1u) << 31;
    return std::bit_cast<float>(sign | (exp << 23) | mant);
}

}  // namespace

TEST_CASE("half: exhaustive round trip and exact values") {
    int mismatches = 0, wrong_values = 0;
    for (std::uint32_t i = 0; i < 65536; ++i) {
        const auto h = static_cast<std::uint16_t>(i);
        const float f = half_to_float(h);
        const std::uint16_t back = float_to_half(f);
        if (half_is_nan(h)) {
            // NaN stays NaN with its sign and payload; a signalling NaN comes back quiet.
            if (!std::isnan(f) || back != (h | 0x0200u)) ++mismatches;
        } else {
            if (back != h) ++mismatches;
            if (static_cast<double>(f) != half_value(h) || std::signbit(f) != bool(h & 0x8000u))
                ++wrong_values;
        }
    }
    CHECK(mismatches == 0);
    CHECK(wrong_values == 0);
}

TEST_CASE("half: rounding, ties, overflow, subnormals") {
    CHECK(float_to_half(1.0f) == 0x3C00);
    CHECK(float_to_half(1.0f + 0x1p-11f) == 0x3C00);             // tie, 1 is even
    CHECK(float_to_half(1.0f + 3 * 0x1p-11f) == 0x3C02);         // tie, rounds up to even
    CHECK(float_to_half(1.0f + 0x1p-11f + 0x1p-20f) == 0x3C01);  // just above the tie
    CHECK(float_to_half(1.0f + 0x1p-11f - 0x1p-20f) == 0x3C00);  // just below it
    CHECK(float_to_half(65504.0f) == 0x7BFF);
    CHECK(half_to_float(0x7BFF) == 65504.0f);
    CHECK(float_to_half(65519.996f) == 0x7BFF);
    CHECK(float_to_half(65520.0f) == 0x7C00);  // tie between 65504 and 2^16 goes to even: inf
    CHECK(float_to_half(-65520.0f) == 0xFC00);
    CHECK(float_to_half(std::numeric_limits<float>::max()) == 0x7C00);
    CHECK(float_to_half(std::numeric_limits<float>::infinity()) == 0x7C00);
    CHECK(float_to_half(-std::numeric_limits<float>::infinity()) == 0xFC00);
    CHECK(float_to_half(0x1p-24f) == 0x0001);  // smallest subnormal
    CHECK(half_to_float(0x0001) == 0x1p-24f);
    CHECK(float_to_half(0x1p-25f) == 0x0000);  // tie to even: zero
    CHECK(float_to_half(-0x1p-25f) == 0x8000);
    CHECK(float_to_half(0x1.8p-25f) == 0x0001);           // above the tie
    CHECK(float_to_half(3 * 0x1p-25f) == 0x0002);         // 1.5 ulp: tie to even 2
    CHECK(float_to_half(5 * 0x1p-25f) == 0x0002);         // 2.5 ulp: tie to even 2
    CHECK(float_to_half(0x1p-14f) == 0x0400);             // smallest normal
    CHECK(float_to_half(0x1p-14f - 0x1p-25f) == 0x0400);  // tie between 0x3FF and 0x400
    CHECK(float_to_half(0x1p-14f - 0x1p-24f) == 0x03FF);
    CHECK(float_to_half(std::numeric_limits<float>::denorm_min()) == 0x0000);
    CHECK(float_to_half(-0.0f) == 0x8000);
    CHECK(std::signbit(half_to_float(0x8000)));
    const std::uint16_t qnan = float_to_half(std::numeric_limits<float>::quiet_NaN());
    CHECK(half_is_nan(qnan));
    CHECK(half_is_nan(float_to_half(std::bit_cast<float>(0x7F800001u))));  // tiny payload
    CHECK(half_is_nan(float_to_half(std::bit_cast<float>(0xFF800001u))));
    CHECK(std::isnan(half_to_float(0x7E00)));
}

TEST_CASE("half: agrees with a reference search and the compiler on random floats") {
    Rng rng(5, 0);
    int ref_mismatch = 0;
    for (int i = 0; i < 200000; ++i) {
        const float f = random_float(rng);
        if (std::isnan(f)) continue;
        if (float_to_half(f) != reference_half(f)) ++ref_mismatch;
    }
    CHECK(ref_mismatch == 0);
#if defined(__FLT16_MAX__)
    // GCC's _Float16 conversion (libgcc soft-float or F16C) is an independent RNE implementation.
    int cc_mismatch = 0;
    int nan_mismatch = 0;
    std::vector<float> fs(1 << 16);
    std::vector<std::uint16_t> hs(fs.size());
    for (int block = 0; block < 48; ++block) {  // about 3.1 million floats
        for (auto& f : fs) f = random_float(rng);
        floats_to_halves(fs.data(), fs.size(), hs.data());
        for (std::size_t i = 0; i < fs.size(); ++i) {
            const auto c = std::bit_cast<std::uint16_t>(static_cast<_Float16>(fs[i]));
            if (std::isnan(fs[i]))
                nan_mismatch += half_is_nan(hs[i]) && half_is_nan(c) ? 0 : 1;
            else
                cc_mismatch += hs[i] == c ? 0 : 1;
        }
    }
    CHECK(cc_mismatch == 0);
    CHECK(nan_mismatch == 0);
    // And back: half -> float agrees for every pattern.
    int back_mismatch = 0;
    for (std::uint32_t i = 0; i < 65536; ++i) {
        const auto h = static_cast<std::uint16_t>(i);
        if (half_is_nan(h)) continue;
        const float c = static_cast<float>(std::bit_cast<_Float16>(h));
        back_mismatch +=
            std::bit_cast<std::uint32_t>(c) == std::bit_cast<std::uint32_t>(half_to_float(h)) ? 0
                                                                                              : 1;
    }
    CHECK(back_mismatch == 0);
#else
    MESSAGE("_Float16 unavailable: compiler cross-check skipped");
#endif
}

TEST_CASE("half: batch conversions equal the scalar ones") {
    std::vector<float> f = {0.0f, -1.5f, 3.14159f, 1e-6f, 7e4f, -2e-8f};
    std::vector<std::uint16_t> h(f.size());
    std::vector<float> g(f.size());
    floats_to_halves(f.data(), f.size(), h.data());
    halves_to_floats(h.data(), h.size(), g.data());
    for (std::size_t i = 0; i < f.size(); ++i) {
        CHECK(h[i] == float_to_half(f[i]));
        CHECK(std::bit_cast<std::uint32_t>(g[i]) ==
              std::bit_cast<std::uint32_t>(half_to_float(h[i])));
    }
}

TEST_CASE("half: halves_to_floats equals half_to_float on every bit pattern, any offset") {
    // The batch conversion has a vector path (F16C, groups of 8, exact) and takes groups with
    // an Inf or NaN one by one: every pattern, from every start offset 0..7 and with a tail.
    std::vector<std::uint16_t> all(65536 + 11);
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint16_t>(i * 40503u);
    for (std::size_t i = 0; i < 65536; ++i) all[i] = static_cast<std::uint16_t>(i);
    for (std::size_t offset = 0; offset < 8; ++offset) {
        const std::size_t n = all.size() - offset;
        std::vector<float> got(n);
        halves_to_floats(all.data() + offset, n, got.data());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < n; ++i)
            differ += std::bit_cast<std::uint32_t>(got[i]) !=
                      std::bit_cast<std::uint32_t>(half_to_float(all[offset + i]));
        CAPTURE(offset);
        CHECK(differ == 0);
    }
}

TEST_CASE(
    "half: floats_to_halves equals float_to_half on every float exponent and tie, any offset") {
    // The batch conversion has a vector path (F16C, groups of 8, round to nearest even) and
    // takes groups with a NaN one by one. Every float exponent (0..255) with mantissas at and
    // around the half rounding boundaries (ties, one ulp either side), both signs, random
    // mantissas, NaN payloads and infinities; from every start offset 0..7, with a tail.
    std::vector<float> all;
    const std::uint32_t mantissas[] = {0u,        1u,        0xFFFu,    0x1000u,   0x1001u,
                                       0x2000u,   0x3000u,   0x7FFFFFu, 0x400000u, 0x401000u,
                                       0x7FF000u, 0x7FEFFFu, 0x7FF001u, 0x3FF000u, 0x001FFFu};
    fq::core::Rng rng(14, 2);
    for (std::uint32_t sign : {0u, 0x80000000u})
        for (std::uint32_t e = 0; e < 256; ++e) {
            for (std::uint32_t m : mantissas)
                all.push_back(std::bit_cast<float>(sign | (e << 23) | m));
            for (int r = 0; r < 64; ++r)
                all.push_back(std::bit_cast<float>(
                    sign | (e << 23) | static_cast<std::uint32_t>(rng.next_u64() & 0x7FFFFFu)));
        }
    for (std::size_t i = 0; i < 37; ++i) all.push_back(static_cast<float>(i) * 0.37f - 5.0f);
    for (std::size_t offset = 0; offset < 8; ++offset) {
        const std::size_t n = all.size() - offset;
        std::vector<std::uint16_t> got(n);
        floats_to_halves(all.data() + offset, n, got.data());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < n; ++i) differ += got[i] != float_to_half(all[offset + i]);
        CAPTURE(offset);
        CHECK(differ == 0);
    }
}

TEST_CASE("bfloat16: exhaustive round trip, rounding and NaN") {
    int mismatches = 0, wrong_values = 0;
    for (std::uint32_t i = 0; i < 65536; ++i) {
        const auto b = static_cast<std::uint16_t>(i);
        const float f = bfloat16_to_float(b);
        wrong_values += std::bit_cast<std::uint32_t>(f) == (i << 16) ? 0 : 1;
        const std::uint16_t back = float_to_bfloat16(f);
        const bool nan = (b & 0x7F80u) == 0x7F80u && (b & 0x7Fu) != 0;
        if (nan)
            mismatches += (back == (b | 0x40u)) ? 0 : 1;  // quiet NaN, payload kept
        else
            mismatches += back == b ? 0 : 1;
    }
    CHECK(mismatches == 0);
    CHECK(wrong_values == 0);
    CHECK(float_to_bfloat16(1.0f) == 0x3F80);
    CHECK(float_to_bfloat16(std::bit_cast<float>(0x3F808000u)) == 0x3F80);  // tie, even stays
    CHECK(float_to_bfloat16(std::bit_cast<float>(0x3F818000u)) == 0x3F82);  // tie, rounds up
    CHECK(float_to_bfloat16(std::bit_cast<float>(0x3F808001u)) == 0x3F81);  // above the tie
    CHECK(float_to_bfloat16(std::bit_cast<float>(0x3F807FFFu)) == 0x3F80);  // below the tie
    CHECK(float_to_bfloat16(std::numeric_limits<float>::max()) == 0x7F80);  // overflows to inf
    CHECK(float_to_bfloat16(std::bit_cast<float>(0x7F7F7FFFu)) == 0x7F7F);  // largest that fits
    CHECK(float_to_bfloat16(-std::numeric_limits<float>::infinity()) == 0xFF80);
    CHECK(float_to_bfloat16(std::bit_cast<float>(0x00008000u)) == 0x0000);  // subnormal tie
    CHECK(float_to_bfloat16(std::bit_cast<float>(0x00018000u)) == 0x0002);
    const std::uint16_t n1 = float_to_bfloat16(std::bit_cast<float>(0x7F800001u));
    CHECK(((n1 & 0x7F80u) == 0x7F80u && (n1 & 0x7Fu) != 0));  // payload below 16 bits: still NaN
}

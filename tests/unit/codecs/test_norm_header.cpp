// codecs/norm_header: unit_directions (the eight-at-a-time paths, AVX-512 and plain) equals
// a plain loop bit for bit: nu = sqrt of the double sum of squares in coordinate order,
// z = float(x / nu), z = 0 for a zero vector.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fq/codecs/norm_header.hpp"
#include "fq/core/rng.hpp"

TEST_CASE("norm header: unit_directions equals the plain loop, every d and count") {
    fq::core::Rng rng(14, 3);
    for (int d : {1, 3, 7, 8, 9, 16, 31, 64, 80, 96, 128, 130, 256}) {
        for (std::size_t n : {1u, 7u, 8u, 9u, 17u, 40u}) {
            const auto du = static_cast<std::size_t>(d);
            std::vector<float> x(n * du);
            for (std::size_t i = 0; i < x.size(); ++i) {
                // Mixed magnitudes (sums whose rounding depends on the order), zero vectors,
                // and tiny and huge values.
                const double scale = std::pow(10.0, static_cast<int>(rng.next_u64() % 13) - 6);
                x[i] = static_cast<float>(rng.normal() * scale);
            }
            if (n > 3)
                for (std::size_t j = 0; j < du; ++j) x[3 * du + j] = 0.0f;  // a zero vector
            if (n > 5) x[5 * du] = 3e38f;                                   // squares beyond float
            std::vector<double> nu(n);
            std::vector<float> z(n * du);
            fq::codecs::unit_directions(x.data(), n, d, nu.data(), z.data());
            std::size_t differ = 0;
            for (std::size_t i = 0; i < n; ++i) {
                double s = 0;
                for (std::size_t j = 0; j < du; ++j) {
                    const volatile double v = x[i * du + j];
                    const volatile double sq = v * v;
                    s = s + sq;
                }
                const double want = std::sqrt(s);
                differ += std::bit_cast<std::uint64_t>(nu[i]) != std::bit_cast<std::uint64_t>(want);
                const double inv = want > 0 ? 1.0 / want : 0.0;
                for (std::size_t j = 0; j < du; ++j) {
                    const float zj = static_cast<float>(x[i * du + j] * inv);
                    differ += std::bit_cast<std::uint32_t>(z[i * du + j]) !=
                              std::bit_cast<std::uint32_t>(zj);
                }
            }
            CAPTURE(d);
            CAPTURE(n);
            CHECK(differ == 0);
        }
    }
}

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "fq/codecs/nearest.hpp"
#include "fq/core/rng.hpp"

using fq::codecs::BlockCodebook;
using fq::codecs::NearestCodeword;

namespace {

BlockCodebook random_codebook(int k, int N, std::uint64_t seed) {
    fq::core::Rng rng(seed);
    BlockCodebook cb{k, N, std::vector<double>(static_cast<std::size_t>(k) * N)};
    for (auto& c : cb.codewords) c = rng.normal() * 0.3;
    return cb;
}

// Brute force: the plain definition, argmin_n ||y - c_n||^2, lowest index on ties.
std::uint32_t brute(const BlockCodebook& cb, const double* y) {
    double best = 1e300;
    std::uint32_t bi = 0;
    for (int n = 0; n < cb.N; ++n) {
        double d2 = 0;
        for (int t = 0; t < cb.k; ++t)
            d2 += (y[t] - cb.codeword(n)[t]) * (y[t] - cb.codeword(n)[t]);
        if (d2 < best) {
            best = d2;
            bi = static_cast<std::uint32_t>(n);
        }
    }
    return bi;
}

}  // namespace

TEST_SUITE("nearest") {
    TEST_CASE("double search equals brute force up to float near ties, exact distances") {
        for (int k : {1, 2, 3, 4, 8, 16}) {
            for (int N : {2, 3, 17, 256, 300}) {
                const auto cb = random_codebook(k, N, 100 + k * 1000 + N);
                const NearestCodeword search(cb);
                const std::size_t n = 333;  // not a multiple of the internal batch
                fq::core::Rng rng(7);
                std::vector<double> y(n * k);
                for (auto& v : y) v = rng.normal() * 0.3;
                std::vector<std::uint32_t> idx(n);
                std::vector<double> d2(n);
                search.assign(y.data(), n, idx.data(), d2.data());
                int mismatches = 0;
                for (std::size_t i = 0; i < n; ++i) {
                    const auto b = brute(cb, y.data() + i * k);
                    auto dist = [&](std::uint32_t c) {
                        double ref = 0;
                        for (int t = 0; t < k; ++t) {
                            const double diff = y[i * k + t] - cb.codeword(c)[t];
                            ref += diff * diff;
                        }
                        return ref;
                    };
                    if (idx[i] != b) {
                        ++mismatches;
                        CHECK(dist(idx[i]) - dist(b) < 1e-6);
                    }
                    REQUIRE(d2[i] == doctest::Approx(dist(idx[i])).epsilon(1e-14));
                }
                CHECK(mismatches <= 1);
            }
        }
    }

    TEST_CASE("float search agrees with brute force except on float-level near ties") {
        for (int k : {1, 2, 4, 8}) {
            const int N = 256;
            const auto cb = random_codebook(k, N, 5 + k);
            const NearestCodeword search(cb);
            const std::size_t n = 1000;
            fq::core::Rng rng(11);
            std::vector<float> y(n * k);
            std::vector<double> yd(n * k);
            for (std::size_t i = 0; i < y.size(); ++i) {
                y[i] = static_cast<float>(rng.normal() * 0.3);
                yd[i] = y[i];
            }
            std::vector<std::uint32_t> idx(n);
            search.assign(y.data(), n, idx.data());
            int mismatches = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const auto b = brute(cb, yd.data() + i * k);
                if (idx[i] == b) continue;
                ++mismatches;
                // A mismatch must be a near tie: distances equal to float precision.
                auto dist = [&](std::uint32_t c) {
                    double s = 0;
                    for (int t = 0; t < k; ++t)
                        s += (yd[i * k + t] - cb.codeword(c)[t]) *
                             (yd[i * k + t] - cb.codeword(c)[t]);
                    return s;
                };
                CHECK(dist(idx[i]) - dist(b) < 1e-5);
            }
            CHECK(mismatches <= 2);
        }
    }

    TEST_CASE("ties go to the lowest index, k = 1 handles unsorted codebooks and midpoints") {
        const BlockCodebook cb{1, 4, {0.5, -0.5, 1.5, -1.5}};
        const NearestCodeword search(cb);
        const std::vector<float> y{0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 0.6f, -0.4f};
        std::vector<std::uint32_t> idx(y.size());
        search.assign(y.data(), y.size(), idx.data());
        // 0 is equidistant from 0.5 (index 0) and -0.5 (index 1): lowest index 0.
        CHECK(idx[0] == 0);
        CHECK(idx[1] == 0);  // 1.0 between 0.5 (0) and 1.5 (2)
        CHECK(idx[2] == 1);  // -1.0 between -0.5 (1) and -1.5 (3)
        CHECK(idx[3] == 2);
        CHECK(idx[4] == 3);
        CHECK(idx[5] == 0);
        CHECK(idx[6] == 1);
        const BlockCodebook dup{2, 3, {0.1, 0.2, 0.1, 0.2, -0.3, 0.0}};
        const NearestCodeword s2(dup);
        const std::vector<float> y2{0.1f, 0.2f};
        std::uint32_t i2 = 9;
        s2.assign(y2.data(), 1, &i2);
        CHECK(i2 == 0);
    }
}

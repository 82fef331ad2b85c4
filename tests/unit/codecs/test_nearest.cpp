#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "fq/codecs/nearest.hpp"
#include "fq/codecs/nearest_kernel.hpp"
#include "fq/core/rng.hpp"

#include "test_support.hpp"

using fq::codecs::BlockCodebook;
using fq::codecs::NearestCodeword;
using fq::test::random_codebook;

namespace {

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

// ---- The fused kernels (nearest_kernel.hpp) against the plain loops they are defined by ----

namespace {

using fq::codecs::detail::available_search_isas;
using fq::codecs::detail::search_isa_name;
using fq::codecs::detail::SearchIsa;

// The definition, written plainly: s accumulated left to right in float, one rounding per
// operation (volatile keeps the compiler from fusing or reordering anything), dist = norm - 2 s,
// strict < from +inf.
std::uint32_t plain_nearest(const float* cw, const float* norms, int N, int k, const float* y) {
    float best = std::numeric_limits<float>::infinity();
    std::uint32_t bi = 0;
    for (int n = 0; n < N; ++n) {
        volatile float s = y[0] * cw[n * k];
        for (int j = 1; j < k; ++j) {
            volatile float p = y[j] * cw[n * k + j];
            s = s + p;
        }
        volatile float twice = 2.0f * s;
        const float dist = norms[n] - twice;
        if (dist < best) {
            best = dist;
            bi = static_cast<std::uint32_t>(n);
        }
    }
    return bi;
}

struct Case {
    std::vector<float> cw, norms, y;
};

// Random codewords and rows of scale `scale`, norms from the codewords in double as
// NearestCodeword computes them.
Case random_case(int k, int N, std::size_t n, double scale, std::uint64_t seed) {
    fq::core::Rng rng(seed);
    Case c;
    c.cw.resize(static_cast<std::size_t>(k) * N);
    for (auto& v : c.cw) v = static_cast<float>(rng.normal() * scale);
    c.norms.resize(N);
    for (int i = 0; i < N; ++i) {
        double s = 0;
        for (int j = 0; j < k; ++j) s += double(c.cw[i * k + j]) * c.cw[i * k + j];
        c.norms[i] = static_cast<float>(s);
    }
    c.y.resize(n * k);
    for (auto& v : c.y) v = static_cast<float>(rng.normal() * scale);
    return c;
}

void check_every_isa(const Case& c, int N, int k, const char* what) {
    const std::size_t n = c.y.size() / k;
    std::vector<std::uint32_t> want(n);
    for (std::size_t i = 0; i < n; ++i)
        want[i] = plain_nearest(c.cw.data(), c.norms.data(), N, k, c.y.data() + i * k);
    for (const SearchIsa isa : available_search_isas()) {
        std::vector<std::uint32_t> got(n, 12345);
        fq::codecs::detail::nearest_rows(isa, c.cw.data(), c.norms.data(), N, k, c.y.data(), n,
                                         got.data());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < n; ++i) differ += got[i] != want[i];
        INFO(what, " isa ", search_isa_name(isa), " k ", k, " N ", N, " n ", n);
        CHECK(differ == 0);
    }
}

}  // namespace

TEST_SUITE("nearest") {
    TEST_CASE("fused search equals the plain loop bit for bit, every k, N and instruction set") {
        MESSAGE("instruction sets on this CPU: ", available_search_isas().size());
        std::uint64_t seed = 1;
        for (int k : {2, 3, 4, 5, 7, 8, 11, 16, 17, 32}) {
            for (int N : {1, 2, 3, 4, 16, 17, 64, 256, 300, 512, 4096}) {
                // Rows not a multiple of any pass (4..64 rows), and a single row.
                const std::size_t n = N >= 4096 ? 77 : 203;
                check_every_isa(random_case(k, N, n, 0.3, seed++), N, k, "random");
                check_every_isa(random_case(k, N, 1, 0.3, seed++), N, k, "one row");
            }
        }
    }

    TEST_CASE("fused search: ties, duplicates, huge and tiny magnitudes, infinite distances") {
        for (int k : {2, 3, 4, 8, 16, 32}) {
            const int N = 64;
            // Duplicated codewords and rows on the codewords and on midpoints: exact ties.
            Case c = random_case(k, N, 160, 0.5, 900 + k);
            for (int i = N / 2; i < N; ++i)
                for (int j = 0; j < k; ++j) c.cw[i * k + j] = c.cw[(i - N / 2) * k + j];
            for (int i = N / 2; i < N; ++i) c.norms[i] = c.norms[i - N / 2];
            for (std::size_t r = 0; r < 160; ++r)
                for (int j = 0; j < k; ++j) {
                    const int a = static_cast<int>(r % N), b = static_cast<int>((r * 7) % N);
                    c.y[r * k + j] =
                        r % 3 == 0 ? c.cw[a * k + j] : 0.5f * (c.cw[a * k + j] + c.cw[b * k + j]);
                }
            check_every_isa(c, N, k, "ties");
            // Grid values: many exactly equal distances.
            Case g = random_case(k, N, 160, 1.0, 950 + k);
            for (auto& v : g.cw) v = std::round(v * 2.0f) * 0.5f;
            for (auto& v : g.y) v = std::round(v * 2.0f) * 0.5f;
            for (int i = 0; i < N; ++i) {
                double s = 0;
                for (int j = 0; j < k; ++j) s += double(g.cw[i * k + j]) * g.cw[i * k + j];
                g.norms[i] = static_cast<float>(s);
            }
            check_every_isa(g, N, k, "grid");
            // Huge (products overflow to inf, distances to -inf / inf / NaN) and tiny
            // (subnormal products) magnitudes, and zero rows.
            check_every_isa(random_case(k, N, 100, 1e18, 970 + k), N, k, "huge");
            check_every_isa(random_case(k, N, 100, 1e-22, 980 + k), N, k, "tiny");
            Case z = random_case(k, N, 50, 0.3, 990 + k);
            std::fill(z.y.begin(), z.y.end(), 0.0f);
            check_every_isa(z, N, k, "zero rows");
            // Every distance +inf: index 0.
            Case inf = random_case(k, N, 20, 0.3, 995 + k);
            std::fill(inf.norms.begin(), inf.norms.end(), std::numeric_limits<float>::infinity());
            check_every_isa(inf, N, k, "infinite norms");
            std::vector<std::uint32_t> got(20);
            fq::codecs::detail::nearest_rows(available_search_isas().back(), inf.cw.data(),
                                             inf.norms.data(), N, k, inf.y.data(), 20, got.data());
            for (auto v : got) CHECK(v == 0);
        }
    }

    TEST_CASE("NearestCodeword uses the fused search: same indices as the plain loop") {
        for (int k : {2, 4, 8}) {
            const auto cb = random_codebook(k, 256, 40 + k);
            const NearestCodeword search(cb);
            Case c = random_case(k, 256, 1000, 0.3, 60 + k);
            c.cw.assign(cb.codewords.begin(), cb.codewords.end());
            for (int i = 0; i < 256; ++i) {
                double s = 0;
                for (int j = 0; j < k; ++j) s += cb.codewords[i * k + j] * cb.codewords[i * k + j];
                c.norms[i] = static_cast<float>(s);
            }
            std::vector<std::uint32_t> idx(1000);
            search.assign(c.y.data(), 1000, idx.data());
            for (std::size_t i = 0; i < 1000; ++i)
                REQUIRE(idx[i] ==
                        plain_nearest(c.cw.data(), c.norms.data(), 256, k, c.y.data() + i * k));
        }
    }

    TEST_CASE("k = 1 threshold count equals the plain count on every instruction set") {
        const std::vector<float> up{-1.5f, -0.25f, 0.0f, 0.5f, 0.5f, 2.0f};
        std::vector<float> y{-2.0f,
                             -1.5f,
                             -0.25f,
                             -0.0f,
                             0.0f,
                             0.5f,
                             1.0f,
                             2.0f,
                             3.0f,
                             std::numeric_limits<float>::quiet_NaN(),
                             std::numeric_limits<float>::infinity(),
                             -std::numeric_limits<float>::infinity()};
        fq::core::Rng rng(3);
        for (int i = 0; i < 101; ++i) y.push_back(static_cast<float>(rng.normal()));
        for (int T : {0, 1, 3, 6}) {
            std::vector<std::uint32_t> want(y.size());
            for (std::size_t i = 0; i < y.size(); ++i) {
                std::uint32_t c = 0;
                for (int t = 0; t < T; ++t) c += y[i] >= up[t] ? 1u : 0u;
                want[i] = c;
            }
            for (const SearchIsa isa : available_search_isas()) {
                std::vector<std::uint32_t> got(y.size(), 99);
                fq::codecs::detail::count_at_or_above(isa, up.data(), T, y.data(), y.size(),
                                                      got.data());
                INFO("isa ", search_isa_name(isa), " T ", T);
                CHECK(got == want);
            }
        }
    }

    TEST_CASE("k = 1: sorted and shuffled codebooks give the same codewords") {
        // The same levels in ascending order (the fast path returns the cell) and shuffled
        // (cells mapped through the order, ties to the lower original index).
        const std::vector<double> levels{-1.2, -0.4, 0.0, 0.3, 0.9};
        const std::vector<int> perm{3, 0, 4, 1, 2};
        BlockCodebook sorted{1, 5, levels}, shuffled{1, 5, std::vector<double>(5)};
        for (int i = 0; i < 5; ++i) shuffled.codewords[i] = levels[perm[i]];
        const NearestCodeword a(sorted), b(shuffled);
        std::vector<float> y{-0.8f, -0.2f, 0.15f, 0.6f, -5.0f, 5.0f, 0.0f};
        fq::core::Rng rng(8);
        for (int i = 0; i < 200; ++i) y.push_back(static_cast<float>(rng.normal()));
        std::vector<std::uint32_t> ia(y.size()), ib(y.size());
        a.assign(y.data(), y.size(), ia.data());
        b.assign(y.data(), y.size(), ib.data());
        for (std::size_t i = 0; i < y.size(); ++i) {
            CHECK(sorted.codewords[ia[i]] == shuffled.codewords[ib[i]]);
            CHECK(ia[i] == brute(sorted, std::vector<double>{double(y[i])}.data()));
        }
    }
}

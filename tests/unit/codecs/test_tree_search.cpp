#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "fq/codecs/fib_init.hpp"
#include "fq/codecs/nearest.hpp"
#include "fq/codecs/tree_search.hpp"
#include "fq/core/rng.hpp"

#include "test_support.hpp"

using fq::codecs::BlockCodebook;
using fq::codecs::NearestCodeword;
using fq::codecs::TreeSearch;
using fq::codecs::TreeSearchOptions;
using fq::test::random_codebook;

namespace {

std::vector<float> gaussian_rows(std::size_t n, int k, double scale, std::uint64_t seed) {
    fq::core::Rng rng(seed);
    std::vector<float> y(n * k);
    for (auto& v : y) v = static_cast<float>(rng.normal() * scale);
    return y;
}

double mse(const BlockCodebook& cb, const std::vector<float>& y,
           const std::vector<std::uint32_t>& idx) {
    double s = 0;
    for (std::size_t i = 0; i < idx.size(); ++i)
        for (int j = 0; j < cb.k; ++j) {
            const double d = y[i * cb.k + j] - cb.codeword(static_cast<int>(idx[i]))[j];
            s += d * d;
        }
    return s;
}

}  // namespace

TEST_SUITE("tree search") {
    TEST_CASE("probing every parent (or shell) is the exhaustive search, ties included") {
        for (const auto grouping :
             {fq::codecs::TreeGrouping::kmeans, fq::codecs::TreeGrouping::shells}) {
            for (int k : {2, 3, 4, 8}) {
                for (int N : {5, 64, 300}) {
                    auto cb = random_codebook(k, N, 10 + k + N);
                    // Duplicates (exact ties across parents and shells) and rows on codewords.
                    for (int n = N / 2; n < N; n += 3)
                        for (int j = 0; j < k; ++j) cb.codeword(n)[j] = cb.codeword(n - N / 2)[j];
                    auto y = gaussian_rows(500, k, 0.3, 5);
                    for (int r = 0; r < 100; ++r)
                        for (int j = 0; j < k; ++j)
                            y[r * k + j] = static_cast<float>(cb.codeword((r * 7) % N)[j]);
                    TreeSearchOptions opt;
                    opt.grouping = grouping;
                    opt.parents = std::min(N, 8);
                    opt.probes = opt.parents;
                    const TreeSearch tree(cb, opt);
                    const NearestCodeword exact(cb);
                    std::vector<std::uint32_t> a(500), b(500);
                    exact.assign(y.data(), 500, a.data());
                    tree.assign(y.data(), 500, b.data());
                    INFO("k ", k, " N ", N, " shells ",
                         grouping == fq::codecs::TreeGrouping::shells);
                    CHECK(a == b);
                }
            }
        }
    }

    TEST_CASE("N = 4096: the default tree loses at most 0.05 dB, about 10x fewer distances") {
        // A structured k = 4 codebook at 3 bits for d = 128 and blocks of unit vectors
        // (coordinates ~ N(0, 1/d)).
        const auto cb =
            fq::codecs::init_roberts_kronecker(128, 4, 4096, fq::codecs::RadialInit::source);
        const std::size_t n = 20000;
        const auto y = gaussian_rows(n, 4, 1.0 / std::sqrt(128.0), 77);
        const TreeSearch tree(cb);
        CHECK(tree.parents() == 64);
        CHECK(tree.probes() == 4);
        CHECK(tree.mean_distances() < 4096.0 / 8);
        const NearestCodeword exact(cb);
        std::vector<std::uint32_t> a(n), b(n);
        exact.assign(y.data(), n, a.data());
        tree.assign(y.data(), n, b.data());
        std::size_t same = 0;
        for (std::size_t i = 0; i < n; ++i) same += a[i] == b[i];
        const double loss_db = 10 * std::log10(mse(cb, y, b) / mse(cb, y, a));
        MESSAGE("tree loss ", loss_db, " dB, agreement ", double(same) / n);
        CHECK(loss_db >= 0.0);
        CHECK(loss_db <= 0.05);
        CHECK(double(same) / n >= 0.98);
        // Rows are independent of the batch: in pieces (not multiples of any batch) the same.
        std::vector<std::uint32_t> c(n);
        for (std::size_t r = 0; r < n; r += 777)
            tree.assign(y.data() + r * 4, std::min<std::size_t>(777, n - r), c.data() + r);
        CHECK(b == c);
    }

    TEST_CASE("shell-first on a radial-angular codebook, and on a trained-like one") {
        // The paper's setting: k = 3, L = 64 shells of M = 64 Fibonacci-sphere directions
        // (N = 4096, 4 bits per coordinate at d = 128), blocks of unit vectors. The shells
        // are the codebook's own radius levels, so a block's nearest shell by radius usually
        // holds its nearest codeword; probing the 2 nearest shells costs 128 distances.
        const auto cb = fq::codecs::init_multishell(128, 4096, 64, fq::codecs::RadialInit::source);
        const std::size_t n = 20000;
        const auto y = gaussian_rows(n, 3, 1.0 / std::sqrt(128.0), 78);
        const NearestCodeword exact(cb);
        std::vector<std::uint32_t> a(n), b(n);
        exact.assign(y.data(), n, a.data());
        const double base = mse(cb, y, a);
        double loss[4] = {};
        for (int T : {1, 2, 3}) {
            TreeSearchOptions opt;
            opt.grouping = fq::codecs::TreeGrouping::shells;
            opt.parents = 64;
            opt.probes = T;
            const TreeSearch shells(cb, opt);
            CHECK(shells.mean_distances() == doctest::Approx(64.0 * T));
            shells.assign(y.data(), n, b.data());
            loss[T] = 10 * std::log10(mse(cb, y, b) / base);
            MESSAGE("multishell k=3 N=4096, shell-first T = ", T, ": loss ", loss[T], " dB");
        }
        CHECK(loss[1] >= 0.0);
        CHECK(loss[1] <= 0.05);  // the target, at 1/64 of the distances
        CHECK(loss[2] <= 0.03);
        CHECK(loss[3] <= loss[2] + 1e-12);
        CHECK(loss[2] <= loss[1] + 1e-12);
    }

    TEST_CASE("bad options are refused") {
        const auto cb = random_codebook(2, 16, 1);
        TreeSearchOptions opt;
        opt.parents = 17;
        CHECK_THROWS(TreeSearch(cb, opt));
        opt.parents = 4;
        opt.probes = 5;
        CHECK_THROWS(TreeSearch(cb, opt));
        opt.probes = -1;
        CHECK_THROWS(TreeSearch(cb, opt));
        opt.probes = 0;  // the default: 4 for k <= 4
        CHECK(TreeSearch(cb, opt).probes() == 4);
    }
}

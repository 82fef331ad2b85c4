// Tests of train/gskm: one k-means update (plain and gain-shape, weighted) against a naive
// loop from the same initial centroids, the literal fixed-point properties of the trained
// codebooks, shrinkage and cosine of gain-shape vs plain k-means on clustered data with
// varied norms (seed 004), GSRQ training (2 stages beat 1), thread independence.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"
#include "fq/train/gskm.hpp"

using namespace fq;
using namespace fq::train;

namespace {

// 16 clusters around random unit directions, angular spread sigma, norms log-normal.
std::vector<double> clustered(std::size_t n, int D, double sigma, std::uint64_t seed) {
    core::Rng rng(seed, 0);
    const int C = 16;
    std::vector<double> mu(static_cast<std::size_t>(C) * D);
    for (int c = 0; c < C; ++c) {
        double s = 0;
        for (int t = 0; t < D; ++t) s += (mu[c * D + t] = rng.normal()) * mu[c * D + t];
        for (int t = 0; t < D; ++t) mu[c * D + t] /= std::sqrt(s);
    }
    std::vector<double> x(n * D);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<int>(rng.below(C));
        const double r = std::exp(0.7 * rng.normal());
        double s = 0;
        for (int t = 0; t < D; ++t)
            s += (x[i * D + t] = mu[c * D + t] + sigma * rng.normal()) * x[i * D + t];
        for (int t = 0; t < D; ++t) x[i * D + t] *= r / std::sqrt(s);
    }
    return x;
}

// The initial centroids kmeans() uses: first K of a partial Fisher-Yates with Rng(seed, 0).
std::vector<double> initial(const std::vector<double>& x, std::size_t n, int D, int K,
                            std::uint64_t seed) {
    std::vector<std::size_t> perm(n);
    std::iota(perm.begin(), perm.end(), std::size_t{0});
    core::Rng rng(seed, 0);
    std::vector<double> c(static_cast<std::size_t>(K) * D);
    for (int j = 0; j < K; ++j) {
        const std::size_t r = j + static_cast<std::size_t>(rng.below(n - j));
        std::swap(perm[j], perm[r]);
        for (int t = 0; t < D; ++t) c[j * D + t] = x[perm[j] * D + t];
    }
    return c;
}

double nrm(const double* v, int D) {
    double s = 0;
    for (int t = 0; t < D; ++t) s += v[t] * v[t];
    return std::sqrt(s);
}

}  // namespace

TEST_SUITE("gskm") {
    TEST_CASE("one update equals the naive plain / gain-shape update (weighted, every variant)") {
        const int D = 4, K = 6;
        const std::size_t n = 300;
        const auto x = clustered(n, D, 0.5, 3);
        std::vector<double> w(n);
        core::Rng rng(4, 0);
        for (auto& v : w) v = 0.5 + rng.uniform();
        struct Variant {
            KmeansMethod method;
            GsAssign assign;
            GsGain gain;
        };
        for (const Variant va :
             {Variant{KmeansMethod::plain, GsAssign::l2, GsGain::mean_norm},
              Variant{KmeansMethod::gain_shape, GsAssign::shape, GsGain::mean_norm},
              Variant{KmeansMethod::gain_shape, GsAssign::shape, GsGain::least_squares},
              Variant{KmeansMethod::gain_shape, GsAssign::l2, GsGain::mean_norm},
              Variant{KmeansMethod::gain_shape, GsAssign::l2, GsGain::least_squares}}) {
            KmeansOptions o;
            o.method = va.method;
            o.gs_assign = va.assign;
            o.gs_gain = va.gain;
            o.K = K;
            o.max_iter = 1;
            o.seed = 11;
            const KmeansResult r = kmeans(x.data(), n, D, w.data(), o);
            const auto c0 = initial(x, n, D, K, 11);
            const bool plain = va.method == KmeansMethod::plain;
            std::vector<int> a(n);
            std::vector<double> sum(K * D, 0.0), ws(K, 0.0), gs(K, 0.0);
            for (std::size_t i = 0; i < n; ++i) {
                int best = 0;
                double bd = 1e300;
                for (int j = 0; j < K; ++j) {
                    double e = 0, dt = 0;
                    for (int t = 0; t < D; ++t) {
                        e += (x[i * D + t] - c0[j * D + t]) * (x[i * D + t] - c0[j * D + t]);
                        dt += x[i * D + t] * c0[j * D + t];
                    }
                    const double key =
                        (!plain && va.assign == GsAssign::shape) ? -dt / nrm(&c0[j * D], D) : e;
                    if (key < bd) {
                        bd = key;
                        best = j;
                    }
                }
                a[i] = best;
                const double nx = nrm(&x[i * D], D);
                for (int t = 0; t < D; ++t)
                    sum[best * D + t] += w[i] * (plain ? x[i * D + t] : x[i * D + t] / nx);
                ws[best] += w[i];
                gs[best] += w[i] * nx;
            }
            if (!plain && va.gain == GsGain::least_squares) {
                std::fill(gs.begin(), gs.end(), 0.0);
                for (std::size_t i = 0; i < n; ++i) {
                    double dt = 0;
                    for (int t = 0; t < D; ++t) dt += x[i * D + t] * sum[a[i] * D + t];
                    gs[a[i]] += w[i] * dt / nrm(&sum[a[i] * D], D);
                }
            }
            REQUIRE(r.history.size() == 1);
            for (int j = 0; j < K; ++j) {
                REQUIRE(ws[j] > 0);
                const double ns = nrm(&sum[j * D], D);
                for (int t = 0; t < D; ++t) {
                    const double want =
                        plain ? sum[j * D + t] / ws[j] : gs[j] / ws[j] * sum[j * D + t] / ns;
                    CHECK(r.codebook.codeword(j)[t] == doctest::Approx(want).epsilon(1e-12));
                }
            }
        }
    }

    TEST_CASE("gain-shape centroids shrink less and align better than k-means (clustered data)") {
        const int D = 16, K = 16;
        const std::size_t n = 4000;
        const auto x = clustered(n, D, 0.6, 7);
        KmeansOptions o;
        o.K = K;
        o.max_iter = 40;
        o.seed = 5;
        o.method = KmeansMethod::plain;
        const KmeansResult km = kmeans(x.data(), n, D, nullptr, o);
        o.method = KmeansMethod::gain_shape;
        const KmeansResult gs = kmeans(x.data(), n, D, nullptr, o);
        MESSAGE("k-means:    shrinkage "
                << km.stats.shrinkage << " (global " << km.stats.shrinkage_global << "), cosine "
                << km.stats.mean_cosine << ", MSE " << km.stats.distortion << ", iterations "
                << km.iterations);
        MESSAGE("gain-shape: shrinkage "
                << gs.stats.shrinkage << " (global " << gs.stats.shrinkage_global << "), cosine "
                << gs.stats.mean_cosine << ", MSE " << gs.stats.distortion << ", iterations "
                << gs.iterations);
        CHECK(km.stats.shrinkage < 1.0);
        CHECK(gs.stats.shrinkage > km.stats.shrinkage);
        CHECK(std::fabs(gs.stats.shrinkage - 1) < std::fabs(km.stats.shrinkage - 1));
        CHECK(gs.stats.mean_cosine > km.stats.mean_cosine);
        // k-means's fixed point: every centroid is the mean of its cell.
        CHECK(km.converged);
    }

    TEST_CASE("input checks") {
        std::vector<double> x(10 * 2, 1.0);
        KmeansOptions o;
        o.K = 11;
        CHECK_THROWS_AS(kmeans(x.data(), 10, 2, nullptr, o), UsageError);
        o.K = 2;
        x[3] = std::nan("");
        CHECK_THROWS_AS(kmeans(x.data(), 10, 2, nullptr, o), NumericError);
    }

    TEST_CASE("GSRQ training: 2 stages have lower MSE than 1, per-stage statistics") {
        const int d = 32;
        const std::size_t n = 1500;
        const auto xd = clustered(n * 4, 8, 0.8, 13);  // (n, 32) as 4 sub-vectors of 8
        std::vector<float> x(xd.begin(), xd.end());
        for (auto method : {KmeansMethod::plain, KmeansMethod::gain_shape}) {
            GsrqTrainOptions o;
            o.D = 8;
            o.K = 32;
            o.S = 2;
            o.kmeans.method = method;
            o.kmeans.max_iter = 15;
            const GsrqTrainResult r = train_gsrq(x.data(), n, d, nullptr, o);
            REQUIRE(r.stages.size() == 2);
            CHECK(r.codebooks.stages.size() == 2);
            CHECK(r.codebooks.stages[0].size() == 4);
            MESSAGE(std::string(to_string(method))
                    << ": MSE/coord stage 1 " << r.stages[0].mse_per_coord << ", stage 2 "
                    << r.stages[1].mse_per_coord << "; shrinkage " << r.stages[0].stats.shrinkage
                    << ", " << r.stages[1].stats.shrinkage << "; cosine "
                    << r.stages[0].stats.mean_cosine << ", " << r.stages[1].stats.mean_cosine);
            CHECK(r.stages[1].mse_per_coord < r.stages[0].mse_per_coord);
        }
    }

    TEST_CASE("training does not depend on the thread count") {
        const std::size_t n = 5000;
        const auto xd = clustered(n, 8, 0.5, 17);
        std::vector<float> x(xd.begin(), xd.end());
        std::vector<std::vector<double>> books;
        const int saved = core::max_threads();
        for (int threads : {1, 2}) {
            core::set_threads(threads);
            GsrqTrainOptions o;
            o.D = 4;
            o.K = 16;
            o.S = 2;
            o.kmeans.max_iter = 10;
            const GsrqTrainResult r = train_gsrq(x.data(), n, 8, nullptr, o);
            std::vector<double> all;
            for (const auto& st : r.codebooks.stages)
                for (const auto& cb : st)
                    all.insert(all.end(), cb.codewords.begin(), cb.codewords.end());
            books.push_back(all);
        }
        core::set_threads(saved);
        CHECK(books[0] == books[1]);
    }
}

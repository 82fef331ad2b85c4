#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"
#include "fq/metrics/fidelity.hpp"

#include "test_support.hpp"

using namespace fq::metrics;
using fq::test::randn;

namespace {

double dot(const float* a, const float* b, std::size_t d) {
    double s = 0;
    for (std::size_t c = 0; c < d; ++c) s += double(a[c]) * double(b[c]);
    return s;
}

// Plain reference: every pair's error, then two-pass statistics.
struct NaiveIp {
    double bias, bias_se, rmse, rmse_se;
    std::size_t pairs;
};
NaiveIp naive_ip(const std::vector<float>& q, const std::vector<float>& k,
                 const std::vector<float>& kh, std::size_t n, std::size_t d, bool causal,
                 const std::vector<std::size_t>& rows) {
    std::vector<double> e;
    for (std::size_t i : rows)
        for (std::size_t j = 0; j < n && (!causal || j <= i); ++j)
            e.push_back(dot(&q[i * d], &kh[j * d], d) - dot(&q[i * d], &k[j * d], d));
    const auto N = static_cast<double>(e.size());
    double mean = 0, ms = 0;
    for (double x : e) mean += x, ms += x * x;
    mean /= N;
    ms /= N;
    double v1 = 0, v2 = 0;
    for (double x : e) v1 += (x - mean) * (x - mean), v2 += (x * x - ms) * (x * x - ms);
    v1 /= N - 1;
    v2 /= N - 1;
    return {mean, std::sqrt(v1 / N), std::sqrt(ms), std::sqrt(v2 / N) / (2 * std::sqrt(ms)),
            e.size()};
}

}  // namespace

TEST_CASE("cosine_similarity: scaling, sign and the zero-vector rule") {
    const std::vector<double> a = {1.5, -2.0, 0.25, 3.0}, zero(4, 0.0);
    std::vector<double> b2(4), bm(4), orth = {2.0, 1.5, 0.0, 0.0};
    for (int i = 0; i < 4; ++i) b2[i] = 2 * a[i], bm[i] = -a[i];
    CHECK(cosine_similarity(a.data(), a.data(), 4) == 1.0);
    CHECK(cosine_similarity(a.data(), b2.data(), 4) == doctest::Approx(1.0).epsilon(1e-15));
    CHECK(cosine_similarity(a.data(), bm.data(), 4) == doctest::Approx(-1.0).epsilon(1e-15));
    CHECK(cosine_similarity(a.data(), orth.data(), 4) == 0.0);
    CHECK(cosine_similarity(zero.data(), zero.data(), 4) == 1.0);
    CHECK(cosine_similarity(zero.data(), a.data(), 4) == 0.0);
    CHECK(cosine_similarity(a.data(), zero.data(), 4) == 0.0);
}

TEST_CASE("vector_fidelity: x_hat = 2x has cosine 1, x_hat = 0.9x has nmse 0.01") {
    const std::size_t n = 50, d = 16;
    fq::core::Rng rng(3);
    const auto u = [&rng] { return static_cast<int>(rng.below(41)) - 20; };  // -20 .. 20
    std::vector<float> x(n * d), x2(n * d), x09(n * d);
    for (std::size_t i = 0; i < n * d; ++i) {
        // multiples of 10 so that 0.9x is exact in float
        x[i] = static_cast<float>(10 * u());
        if (i % d == 0) x[i] = 10.0f;  // no zero rows
        x2[i] = 2 * x[i];
        x09[i] = static_cast<float>(9 * (x[i] / 10));
    }
    const VectorFidelity f2 = vector_fidelity(x.data(), x2.data(), n, d);
    const VectorFidelity f09 = vector_fidelity(x.data(), x09.data(), n, d);
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(f2.cosine[i] == doctest::Approx(1.0).epsilon(1e-15));
        CHECK(f2.nmse[i] == doctest::Approx(1.0).epsilon(1e-15));
        CHECK(f09.nmse[i] == doctest::Approx(0.01).epsilon(1e-14));
        CHECK(f09.cosine[i] == doctest::Approx(1.0).epsilon(1e-15));
    }
}

TEST_CASE("vector_fidelity: against naive loops on random data") {
    const std::size_t n = 37, d = 8;
    const auto x = randn(n * d, 1), noise = randn(n * d, 2, 0.3f);
    std::vector<float> xh(n * d);
    for (std::size_t i = 0; i < n * d; ++i) xh[i] = x[i] + noise[i];
    const VectorFidelity f = vector_fidelity(x.data(), xh.data(), n, d);
    REQUIRE(f.mse.size() == n);
    for (std::size_t i = 0; i < n; ++i) {
        double err = 0, nx = 0, nh = 0, xy = 0;
        for (std::size_t c = 0; c < d; ++c) {
            const double a = x[i * d + c], b = xh[i * d + c];
            err += (a - b) * (a - b);
            nx += a * a;
            nh += b * b;
            xy += a * b;
        }
        CHECK(f.sq_error[i] == doctest::Approx(err).epsilon(1e-12));
        CHECK(f.mse[i] == doctest::Approx(err / d).epsilon(1e-12));
        CHECK(f.nmse[i] == doctest::Approx(err / nx).epsilon(1e-12));
        CHECK(f.cosine[i] == doctest::Approx(xy / std::sqrt(nx) / std::sqrt(nh)).epsilon(1e-12));
    }
}

TEST_CASE("vector_fidelity: zero vectors") {
    // rows: (0, 0) -> (0, 0); (0, 0) -> (1, 0); (3, 4) -> (0, 0)
    const std::vector<float> x = {0, 0, 0, 0, 3, 4}, xh = {0, 0, 1, 0, 0, 0};
    const VectorFidelity f = vector_fidelity(x.data(), xh.data(), 3, 2);
    CHECK(f.nmse[0] == 0.0);
    CHECK(f.cosine[0] == 1.0);
    CHECK(std::isnan(f.nmse[1]));
    CHECK(f.cosine[1] == 0.0);
    CHECK(f.sq_error[1] == 1.0);
    CHECK(f.nmse[2] == 1.0);
    CHECK(f.cosine[2] == 0.0);
    CHECK(f.mse[2] == 12.5);
    const std::vector<float> bad = {0, NAN, 0, 0, 0, 0};
    CHECK_THROWS_AS(vector_fidelity(x.data(), bad.data(), 3, 2), fq::NumericError);
}

TEST_CASE("db_above_shannon: closed forms") {
    CHECK(shannon_bound(2.0) == doctest::Approx(1.0 / 16).epsilon(1e-15));
    CHECK(db_above_shannon(1.0 / 16, 2.0) == doctest::Approx(0.0).epsilon(1e-12));
    CHECK(db_above_shannon(2.0 / 16, 2.0) == doctest::Approx(10 * std::log10(2.0)).epsilon(1e-12));
    CHECK(db_above_shannon(0.1, 1.0) == doctest::Approx(10 * std::log10(0.4)).epsilon(1e-12));
    CHECK(std::isinf(db_above_shannon(0.0, 3.0)));
    CHECK_THROWS_AS(db_above_shannon(-1.0, 1.0), fq::UsageError);
}

TEST_CASE("inner_product_error: a constant shift k_hat = k + c has bias <q, c>") {
    const std::size_t m = 12, n = 12, d = 4;
    fq::core::Rng rng(5);
    const auto u = [&rng] { return static_cast<int>(rng.below(33)) - 16; };  // -16 .. 16
    std::vector<float> q(m * d), k(n * d), kh(n * d);
    const float shift[d] = {0.5f, -1.0f, 0.25f, 2.0f};
    for (auto& v : q) v = static_cast<float>(u()) / 8;
    for (std::size_t i = 0; i < n * d; ++i) {
        k[i] = static_cast<float>(u()) / 8;
        kh[i] = k[i] + shift[i % d];
    }
    std::vector<double> qc(m);
    for (std::size_t i = 0; i < m; ++i) qc[i] = dot(&q[i * d], shift, d);

    // all pairs: every query has n pairs, so the bias is the plain mean of <q_i, c>
    double all_bias = 0, all_ms = 0;
    for (double v : qc) all_bias += v / m, all_ms += v * v / m;
    const InnerProductError all =
        inner_product_error(q.data(), m, k.data(), kh.data(), n, d, PairSet::all);
    CHECK(all.pairs == m * n);
    CHECK(all.bias() == doctest::Approx(all_bias).epsilon(1e-12));
    CHECK(all.rmse() == doctest::Approx(std::sqrt(all_ms)).epsilon(1e-12));
    for (std::size_t i = 0; i < m; ++i) {
        CHECK(all.query_mean[i] == doctest::Approx(qc[i]).epsilon(1e-12));
        CHECK(all.query_mean_sq[i] == doctest::Approx(qc[i] * qc[i]).epsilon(1e-12));
    }

    // causal pairs: query i contributes i + 1 pairs
    double w = 0, causal_bias = 0;
    for (std::size_t i = 0; i < m; ++i) causal_bias += (i + 1) * qc[i], w += double(i + 1);
    const InnerProductError causal =
        inner_product_error(q.data(), m, k.data(), kh.data(), n, d, PairSet::causal);
    CHECK(causal.pairs == m * (m + 1) / 2);
    CHECK(causal.bias() == doctest::Approx(causal_bias / w).epsilon(1e-12));
}

TEST_CASE("inner_product_error: against naive pairs, all and causal, with a row subset") {
    const std::size_t m = 45, n = 40, d = 8;
    const auto q = randn(m * d, 10), k = randn(n * d, 11), noise = randn(n * d, 12, 0.2f);
    std::vector<float> kh(n * d);
    for (std::size_t i = 0; i < n * d; ++i) kh[i] = k[i] + noise[i] + 0.01f;
    std::vector<std::size_t> every_rows(m);
    const std::vector<std::size_t>& every = every_rows;
    for (std::size_t i = 0; i < m; ++i) every_rows[i] = i;
    const std::vector<std::size_t> some = {3, 17, 44, 0};

    for (bool causal : {false, true}) {
        for (const auto* rows : {&every, &some}) {
            CAPTURE(causal);
            CAPTURE(rows->size());
            const NaiveIp ref = naive_ip(q, k, kh, n, d, causal, *rows);
            const InnerProductError got = inner_product_error(
                q.data(), m, k.data(), kh.data(), n, d, causal ? PairSet::causal : PairSet::all,
                rows == &every ? std::span<const std::size_t>{}
                               : std::span<const std::size_t>(*rows));
            CHECK(got.pairs == ref.pairs);
            CHECK(got.bias() == doctest::Approx(ref.bias).epsilon(1e-10));
            CHECK(got.bias_se() == doctest::Approx(ref.bias_se).epsilon(1e-10));
            CHECK(got.rmse() == doctest::Approx(ref.rmse).epsilon(1e-10));
            CHECK(got.rmse_se() == doctest::Approx(ref.rmse_se).epsilon(1e-10));
            CHECK(got.query_mean.size() == rows->size());
        }
    }
    // causal with m > n: query 44 pairs with all 40 keys
    const InnerProductError c =
        inner_product_error(q.data(), m, k.data(), kh.data(), n, d, PairSet::causal);
    CHECK(c.pairs == 40 * 41 / 2 + 5 * 40);
    CHECK_THROWS_AS(inner_product_error(q.data(), m, k.data(), kh.data(), n, d, PairSet::all,
                                        std::vector<std::size_t>{45}),
                    fq::UsageError);
}

TEST_CASE("inner_product_error: merge adds pairs exactly") {
    const std::size_t m = 20, n = 20, d = 8;
    const auto q = randn(m * d, 20), k = randn(n * d, 21), kh = randn(n * d, 22);
    const std::vector<std::size_t> lo = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
                                   hi = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
    InnerProductError a =
        inner_product_error(q.data(), m, k.data(), kh.data(), n, d, PairSet::causal, lo);
    const InnerProductError b =
        inner_product_error(q.data(), m, k.data(), kh.data(), n, d, PairSet::causal, hi);
    const InnerProductError whole =
        inner_product_error(q.data(), m, k.data(), kh.data(), n, d, PairSet::causal);
    a.merge(b);
    CHECK(a.pairs == whole.pairs);
    CHECK(a.bias() == doctest::Approx(whole.bias()).epsilon(1e-13));
    CHECK(a.rmse_se() == doctest::Approx(whole.rmse_se()).epsilon(1e-13));
    CHECK(a.query_mean.size() == 20);
    CHECK(std::memcmp(a.query_mean.data(), whole.query_mean.data(), 20 * sizeof(double)) == 0);
    InnerProductError empty;
    CHECK(std::isnan(empty.bias()));
    CHECK(std::isnan(empty.rmse_se()));
}

TEST_CASE("fidelity: results are byte-identical for 1 and 2 threads") {
    const std::size_t n = 3000, d = 8, m = 150;
    const auto x = randn(n * d, 30), xh = randn(n * d, 31);
    const int saved = fq::core::max_threads();
    fq::core::set_threads(1);
    const VectorFidelity f1 = vector_fidelity(x.data(), xh.data(), n, d);
    const InnerProductError e1 =
        inner_product_error(x.data(), m, x.data(), xh.data(), m, d, PairSet::causal);
    fq::core::set_threads(2);
    const VectorFidelity f2 = vector_fidelity(x.data(), xh.data(), n, d);
    const InnerProductError e2 =
        inner_product_error(x.data(), m, x.data(), xh.data(), m, d, PairSet::causal);
    fq::core::set_threads(saved);
    CHECK(std::memcmp(f1.cosine.data(), f2.cosine.data(), n * sizeof(double)) == 0);
    CHECK(std::memcmp(f1.nmse.data(), f2.nmse.data(), n * sizeof(double)) == 0);
    CHECK(std::memcmp(f1.sq_error.data(), f2.sq_error.data(), n * sizeof(double)) == 0);
    CHECK(std::memcmp(&e1.sum, &e2.sum, sizeof(double)) == 0);
    CHECK(std::memcmp(&e1.sum_sq, &e2.sum_sq, sizeof(double)) == 0);
    CHECK(std::memcmp(&e1.sum_4, &e2.sum_4, sizeof(double)) == 0);
    CHECK(std::memcmp(e1.query_mean.data(), e2.query_mean.data(), m * sizeof(double)) == 0);
}

TEST_CASE("inner_product_error: many keys (several key blocks) against naive pairs") {
    // n spans several blocks of keys (the error matrix is computed a block at a time); rows
    // sit at block edges.
    const std::size_t n = 9000, d = 4;
    const auto q = randn(n * d, 40), k = randn(n * d, 41), noise = randn(n * d, 42, 0.1f);
    std::vector<float> kh(n * d);
    for (std::size_t i = 0; i < n * d; ++i) kh[i] = k[i] + noise[i];
    const std::vector<std::size_t> rows = {0, 2047, 2048, 4095, 4096, 6143, 8999};
    for (bool causal : {false, true}) {
        CAPTURE(causal);
        const NaiveIp ref = naive_ip(q, k, kh, n, d, causal, rows);
        const InnerProductError got = inner_product_error(
            q.data(), n, k.data(), kh.data(), n, d, causal ? PairSet::causal : PairSet::all, rows);
        CHECK(got.pairs == ref.pairs);
        CHECK(got.bias() == doctest::Approx(ref.bias).epsilon(1e-10));
        CHECK(got.rmse() == doctest::Approx(ref.rmse).epsilon(1e-10));
        CHECK(got.rmse_se() == doctest::Approx(ref.rmse_se).epsilon(1e-9));
    }
    // Byte-identical for 1 and 2 threads with many work items.
    std::vector<std::size_t> many;
    for (std::size_t t = 5; t < n; t += 61) many.push_back(t);
    const int saved = fq::core::max_threads();
    fq::core::set_threads(1);
    const InnerProductError e1 =
        inner_product_error(q.data(), n, k.data(), kh.data(), n, d, PairSet::causal, many);
    fq::core::set_threads(2);
    const InnerProductError e2 =
        inner_product_error(q.data(), n, k.data(), kh.data(), n, d, PairSet::causal, many);
    fq::core::set_threads(saved);
    CHECK(std::memcmp(&e1.sum_sq, &e2.sum_sq, sizeof(double)) == 0);
    CHECK(std::memcmp(&e1.sum_4, &e2.sum_4, sizeof(double)) == 0);
    CHECK(std::memcmp(e1.query_mean.data(), e2.query_mean.data(), many.size() * sizeof(double)) ==
          0);
}

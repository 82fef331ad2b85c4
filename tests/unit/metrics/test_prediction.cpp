// metrics/prediction: per-token NLL, logit KL, top-1 agreement and the change of the correct
// token's probability, against a plain computation (softmax written out) on random logits,
// and the closed cases (identical logits: KL 0, agreement; a shifted row: the same softmax).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "fq/core/error.hpp"
#include "fq/core/rng.hpp"
#include "fq/metrics/prediction.hpp"

using namespace fq;

TEST_SUITE("prediction") {
    TEST_CASE("equals a plain softmax computation") {
        const std::size_t T = 9, V = 37;
        core::Rng rng(3);
        std::vector<float> a(T * V), b(T * V);
        for (std::size_t i = 0; i < a.size(); ++i) {
            a[i] = static_cast<float>(3 * rng.normal());
            b[i] = a[i] + static_cast<float>(0.7 * rng.normal());
        }
        std::vector<std::int32_t> tok(T);
        for (auto& t : tok) t = static_cast<std::int32_t>(rng.below(V));
        const auto p = metrics::compare_predictions(a.data(), b.data(), T, V, tok.data());
        REQUIRE(p.size() == T - 1);
        for (std::size_t t = 0; t + 1 < T; ++t) {
            std::vector<double> pa(V), pb(V);
            double za = 0, zb = 0;
            for (std::size_t i = 0; i < V; ++i) {
                za += pa[i] = std::exp(static_cast<double>(a[t * V + i]));
                zb += pb[i] = std::exp(static_cast<double>(b[t * V + i]));
            }
            double kl = 0;
            std::size_t ma = 0, mb = 0;
            for (std::size_t i = 0; i < V; ++i) {
                pa[i] /= za;
                pb[i] /= zb;
                if (a[t * V + i] > a[t * V + ma]) ma = i;
                if (b[t * V + i] > b[t * V + mb]) mb = i;
            }
            for (std::size_t i = 0; i < V; ++i) kl += pa[i] * std::log(pa[i] / pb[i]);
            const auto y = static_cast<std::size_t>(tok[t + 1]);
            CHECK(p[t].nll_base == doctest::Approx(-std::log(pa[y])).epsilon(1e-10));
            CHECK(p[t].nll == doctest::Approx(-std::log(pb[y])).epsilon(1e-10));
            CHECK(p[t].kl == doctest::Approx(kl).epsilon(1e-8));
            CHECK(p[t].top1 == (ma == mb));
            CHECK(p[t].dp == doctest::Approx(pb[y] - pa[y]).epsilon(1e-10));
        }
    }

    TEST_CASE("identical or shifted logits: no change, bad input refused") {
        std::vector<float> a = {1, 2, 3, 4, 0, 0, 5, 1}, b = a;
        for (std::size_t i = 4; i < 8; ++i) b[i] += 100;  // softmax is shift-invariant
        const std::vector<std::int32_t> tok = {0, 2};
        const auto p = metrics::compare_predictions(a.data(), b.data(), 2, 4, tok.data());
        CHECK(p[0].kl == 0);
        CHECK(p[0].top1);
        CHECK(p[0].dp == 0);
        CHECK(p[0].nll == p[0].nll_base);
        const std::vector<std::int32_t> bad = {0, 4};
        CHECK_THROWS_AS(metrics::compare_predictions(a.data(), b.data(), 2, 4, bad.data()),
                        UsageError);
        a[1] = NAN;
        CHECK_THROWS_AS(metrics::compare_predictions(a.data(), b.data(), 2, 4, tok.data()),
                        NumericError);
    }
}

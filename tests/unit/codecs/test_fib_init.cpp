#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>

#include "fq/codecs/fib_init.hpp"
#include "fq/source/spherical_beta.hpp"

using namespace fq::codecs;
using fq::source::RadialLaw;

namespace {
double norm(const BlockCodebook& cb, int n) {
    double s = 0;
    for (int t = 0; t < cb.k; ++t) s += cb.codeword(n)[t] * cb.codeword(n)[t];
    return std::sqrt(s);
}
}  // namespace

TEST_SUITE("fib_init") {
    TEST_CASE("Roberts constants are the roots of x^(d+1) = x + 1") {
        CHECK(roberts_phi(1) == doctest::Approx(std::numbers::phi).epsilon(1e-15));
        CHECK(roberts_phi(2) == doctest::Approx(1.324717957244746).epsilon(1e-15));  // plastic
        for (int dim = 1; dim <= 33; ++dim) {
            const double x = roberts_phi(dim);
            CHECK(std::pow(x, dim + 1) == doctest::Approx(x + 1).epsilon(1e-13));
        }
    }

    TEST_CASE("sunflower: point n sits at the radius quantile (n+1/2)/N and golden angle") {
        const int d = 64, N = 16;
        const auto cb = init_sunflower(d, N, RadialInit::source);
        const auto law = RadialLaw::source(d, 2);
        for (int n = 0; n < N; ++n) {
            const double r = norm(cb, n);
            CHECK(law.cdf_sq(r * r) == doctest::Approx((n + 0.5) / N).epsilon(1e-10));
            if (n > 0) {
                const double a0 = std::atan2(cb.codeword(n - 1)[1], cb.codeword(n - 1)[0]);
                const double a1 = std::atan2(cb.codeword(n)[1], cb.codeword(n)[0]);
                double da = std::remainder(a1 - a0, 2 * std::numbers::pi);
                const double golden = std::remainder(
                    2 * std::numbers::pi * (1 - 1 / std::numbers::phi), 2 * std::numbers::pi);
                CHECK(da == doctest::Approx(golden).epsilon(1e-9));
            }
        }
    }

    TEST_CASE("multishell: L radii at quantiles (l-1/2)/L, M unit directions each") {
        const int d = 128, N = 64, L = 4, M = N / L;
        const auto cb = init_multishell(d, N, L, RadialInit::source);
        const auto law = RadialLaw::source(d, 3);
        for (int l = 0; l < L; ++l) {
            const double r = norm(cb, l * M);
            CHECK(law.cdf_sq(r * r) == doctest::Approx((l + 0.5) / L).epsilon(1e-10));
            double mean_z = 0;
            for (int i = 0; i < M; ++i) {
                CHECK(norm(cb, l * M + i) == doctest::Approx(r).epsilon(1e-12));
                mean_z += cb.codeword(l * M + i)[2] / r;
            }
            // Fibonacci-sphere heights z_i = 1 - (2i+1)/M average to zero.
            CHECK(std::abs(mean_z / M) < 1e-12);
        }
    }

    TEST_CASE("Roberts-Kronecker: radii equidistributed, directions balanced, inside the ball") {
        const int d = 128, k = 8, N = 256;
        const auto cb = init_roberts_kronecker(d, k, N, RadialInit::source);
        const auto law = RadialLaw::source(d, k);
        // Radius quantiles of a low-discrepancy sequence: the KS distance to uniform is tiny.
        std::vector<double> u;
        std::vector<double> mean_dir(k, 0.0);
        for (int n = 0; n < N; ++n) {
            const double r = norm(cb, n);
            CHECK(r < 1.0);
            u.push_back(law.cdf_sq(r * r));
            for (int t = 0; t < k; ++t) mean_dir[t] += cb.codeword(n)[t] / r / N;
        }
        std::sort(u.begin(), u.end());
        double ks = 0;
        for (int n = 0; n < N; ++n)
            ks = std::max({ks, std::abs(u[n] - double(n) / N), std::abs(u[n] - double(n + 1) / N)});
        CHECK(ks < 5.0 / N);  // random points would give ~0.85/sqrt(N) = 0.053
        for (int t = 0; t < k; ++t) CHECK(std::abs(mean_dir[t]) < 0.05);
    }

    TEST_CASE("marginal init: symmetric quantiles of the k = 1 law") {
        const int d = 64, N = 8;
        const auto cb = init_marginal(d, N, RadialInit::source);
        for (int n = 0; n < N; ++n)
            CHECK(cb.codewords[n] == doctest::Approx(-cb.codewords[N - 1 - n]));
        // P(t <= c_n) = (n + 1/2)/N, from the t^2 ~ Beta(1/2, (d-1)/2) law.
        const auto law = RadialLaw::source(d, 1);
        for (int n = 0; n < N; ++n) {
            const double c = cb.codewords[n];
            const double p = 0.5 + (c < 0 ? -0.5 : 0.5) * law.cdf_sq(c * c);
            CHECK(p == doctest::Approx((n + 0.5) / N).epsilon(1e-10));
        }
    }

    TEST_CASE("companded radii spread wider than source radii") {
        const auto s = init_sunflower(128, 64, RadialInit::source);
        const auto c = init_sunflower(128, 64, RadialInit::companded);
        CHECK(norm(c, 63) > norm(s, 63));
        CHECK(norm(c, 0) < norm(s, 0) * 1.5);
    }

    TEST_CASE("bad arguments are usage errors") {
        CHECK_THROWS(init_sunflower(64, 1, RadialInit::source));
        CHECK_THROWS(init_multishell(64, 10, 3, RadialInit::source));
        CHECK_THROWS(init_roberts_kronecker(8, 8, 16, RadialInit::source));
        CHECK_THROWS(radial_init_from_string("beta"));
    }
}

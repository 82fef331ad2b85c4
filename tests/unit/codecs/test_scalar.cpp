// Tests of codecs/scalar: the exact Lloyd-Max quantizer of the k = 1 spherical-Beta marginal,
// against the SPEC 4.1 table, closed forms (b = 1, d = 3, Panter-Dite), an independent
// Simpson quadrature of the Lloyd-Max conditions and a Monte-Carlo estimate on source samples.
#include <doctest/doctest.h>

#include <boost/math/special_functions/beta.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <vector>

#include "fq/codecs/scalar.hpp"
#include "fq/core/error.hpp"
#include "fq/source/spherical_beta.hpp"

using fq::codecs::lloyd_max_scalar;
using fq::codecs::ScalarQuantizer;

namespace {

// The marginal density C (1 - t^2)^((d-3)/2), written plainly.
struct Density {
    double a, C;
    explicit Density(int d)
        : a(0.5 * (d - 3)),
          C(std::exp(std::lgamma(0.5 * d) - std::lgamma(0.5 * (d - 1))) /
            std::sqrt(std::numbers::pi)) {}
    double operator()(double t) const { return C * std::pow(std::max(0.0, 1.0 - t * t), a); }
};

// Composite Simpson rule with n (even) panels.
template <class F>
double simpson(const F& g, double l, double u, int n) {
    const double h = (u - l) / n;
    double s = g(l) + g(u);
    for (int i = 1; i < n; ++i) s += (i % 2 ? 4.0 : 2.0) * g(l + i * h);
    return s * h / 3.0;
}

// Nearest level by brute force (ties: lower index).
double quantize(const std::vector<double>& levels, double t) {
    double best = levels[0];
    for (double c : levels)
        if (std::abs(t - c) < std::abs(t - best)) best = c;
    return best;
}

bool close_rel(double x, double ref, double rel) {
    return std::abs(x - ref) <= rel * std::abs(ref);
}

}  // namespace

TEST_SUITE("scalar") {
    TEST_CASE("SPEC 4.1 table of total MSE") {
        const double ref64[] = {0.35839, 0.11453, 0.03339, 0.00913};
        const double ref128[] = {0.36089, 0.11600, 0.03397, 0.00931};
        for (int b = 1; b <= 4; ++b) {
            const double x64 = lloyd_max_scalar(64, b).total_mse;
            const double x128 = lloyd_max_scalar(128, b).total_mse;
            INFO("b = " << b << ": d=64 " << x64 << ", d=128 " << x128);
            CHECK(std::abs(x64 - ref64[b - 1]) <= 1e-4 * ref64[b - 1] + 5e-6);
            CHECK(std::abs(x128 - ref128[b - 1]) <= 1e-4 * ref128[b - 1] + 5e-6);
        }
    }

    TEST_CASE("b = 1: level E|t| and MSE 1/d - E|t|^2 in closed form") {
        for (int d : {3, 4, 5, 6, 17, 64, 128, 200}) {
            // E|t| = Gamma(d/2) / (sqrt(pi) Gamma((d+1)/2)).
            const double e_abs = std::exp(std::lgamma(0.5 * d) - std::lgamma(0.5 * (d + 1))) /
                                 std::sqrt(std::numbers::pi);
            const ScalarQuantizer q = lloyd_max_scalar(d, 1);
            INFO("d = " << d);
            REQUIRE(q.levels.size() == 2);
            REQUIRE(q.thresholds.size() == 1);
            CHECK(close_rel(q.levels[1], e_abs, 1e-13));
            CHECK(q.levels[0] == -q.levels[1]);
            CHECK(q.thresholds[0] == 0.0);
            CHECK(close_rel(q.mse_per_coord, 1.0 / d - e_abs * e_abs, 1e-12));
            CHECK(close_rel(q.total_mse, 1.0 - d * e_abs * e_abs, 1e-12));
        }
        CHECK(lloyd_max_scalar(3, 1).levels[1] == doctest::Approx(0.5).epsilon(1e-15));
    }

    TEST_CASE("d = 3: the marginal is uniform, levels are the uniform quantizer, MSE 4^-b") {
        for (int b = 1; b <= 8; ++b) {
            const ScalarQuantizer q = lloyd_max_scalar(3, b);
            const int N = 1 << b;
            INFO("b = " << b);
            double worst = 0.0;
            for (int i = 0; i < N; ++i)
                worst = std::max(worst, std::abs(q.levels[i] - (-1.0 + (2.0 * i + 1.0) / N)));
            CHECK(worst < 1e-14);
            CHECK(close_rel(q.total_mse, std::pow(4.0, -b), 1e-13));
        }
    }

    TEST_CASE("levels ascending and symmetric, thresholds at midpoints, sizes") {
        for (int d : {3, 8, 64, 128, 1000})
            for (int b = 1; b <= 8; ++b) {
                const ScalarQuantizer q = lloyd_max_scalar(d, b);
                const std::size_t N = std::size_t{1} << b;
                INFO("d = " << d << ", b = " << b);
                REQUIRE(q.levels.size() == N);
                REQUIRE(q.thresholds.size() == N - 1);
                CHECK(q.d == d);
                CHECK(q.bits == b);
                CHECK(q.last_change < 1e-12);
                CHECK(q.iterations >= 1);
                CHECK(q.levels.front() > -1.0);
                CHECK(q.levels.back() < 1.0);
                double asym = 0.0, mid = 0.0;
                bool ascending = true;
                for (std::size_t i = 0; i < N; ++i) {
                    asym = std::max(asym, std::abs(q.levels[i] + q.levels[N - 1 - i]));
                    if (i + 1 < N) {
                        ascending = ascending && q.levels[i] < q.levels[i + 1];
                        mid = std::max(
                            mid, std::abs(q.thresholds[i] - 0.5 * (q.levels[i] + q.levels[i + 1])));
                    }
                }
                CHECK(ascending);
                CHECK(asym <= 1e-15);
                CHECK(mid <= 1e-16);
                CHECK(q.thresholds[N / 2 - 1] == 0.0);
                CHECK(q.total_mse == doctest::Approx(d * q.mse_per_coord).epsilon(1e-15));
            }
    }

    TEST_CASE("centroid condition and MSE by independent Simpson quadrature (d = 64, b = 3)") {
        const int d = 64, b = 3, N = 8;
        const ScalarQuantizer q = lloyd_max_scalar(d, b);
        const Density f(d);
        double total_mass = 0.0, mse = 0.0, second = 0.0;
        for (int i = 0; i < N; ++i) {
            const double l = (i == 0) ? -1.0 : q.thresholds[i - 1];
            const double u = (i == N - 1) ? 1.0 : q.thresholds[i];
            const double P = simpson(f, l, u, 20000);
            const double M = simpson([&](double t) { return t * f(t); }, l, u, 20000);
            const double c = q.levels[i];
            INFO("cell " << i << " [" << l << ", " << u << "]");
            CHECK(std::abs(M / P - c) < 1e-10);
            total_mass += P;
            mse += simpson([&](double t) { return (t - c) * (t - c) * f(t); }, l, u, 20000);
            second += P * c * c;
        }
        CHECK(std::abs(total_mass - 1.0) < 1e-12);
        CHECK(close_rel(q.mse_per_coord, mse, 1e-9));
        // Pythagoras at the centroid condition: E t^2 = E Q(t)^2 + E (t - Q(t))^2 = 1/d.
        CHECK(close_rel(second + q.mse_per_coord, 1.0 / d, 1e-10));
        CHECK(fq::codecs::marginal_second_moment(d) == 1.0 / d);
    }

    TEST_CASE("E t^2 = E Q^2 + MSE with ibeta cell masses, b = 5..8 (d = 128)") {
        // Independent of the library's quadrature: masses from I_((1+t)/2)((d-1)/2, (d-1)/2).
        const int d = 128;
        const double p = 0.5 * (d - 1);
        for (int b = 5; b <= 8; ++b) {
            const ScalarQuantizer q = lloyd_max_scalar(d, b);
            const int N = 1 << b;
            double second = 0.0;
            for (int i = 0; i < N; ++i) {
                const double l = (i == 0) ? -1.0 : q.thresholds[i - 1];
                const double u = (i == N - 1) ? 1.0 : q.thresholds[i];
                const double P = boost::math::ibeta(p, p, 0.5 * (1.0 + u)) -
                                 boost::math::ibeta(p, p, 0.5 * (1.0 + l));
                second += P * q.levels[i] * q.levels[i];
            }
            INFO("b = " << b);
            // 1/d - sum P c^2 cancels ~log10((1/d)/mse) digits: compare to 1e-7 relative.
            CHECK(close_rel(1.0 / d - second, q.mse_per_coord, 1e-7));
        }
    }

    TEST_CASE("Monte-Carlo MSE on 2e5 source samples within 4 standard errors") {
        const std::size_t n = 200000;
        for (int d : {64, 128}) {
            const std::vector<double> t = fq::source::sample(d, 1, n, 20240611u + d);
            for (int b : {1, 2, 4}) {
                const ScalarQuantizer q = lloyd_max_scalar(d, b);
                double s = 0.0, s2 = 0.0;
                for (double x : t) {
                    const double r = x - quantize(q.levels, x);
                    const double e = r * r;
                    s += e;
                    s2 += e * e;
                }
                const double mean = s / n, var = s2 / n - mean * mean;
                const double se = std::sqrt(var / n);
                INFO("d = " << d << ", b = " << b << ": MC " << d * mean << " vs " << q.total_mse
                            << " (se " << d * se << ")");
                CHECK(std::abs(mean - q.mse_per_coord) < 4.0 * se);
            }
        }
    }

    TEST_CASE("b = 5..8: decreasing, ~4^-b, Panter-Dite limit, above the Shannon bound") {
        for (int d : {64, 128}) {
            // Panter-Dite: MSE per coordinate -> 4^-b / 12 (int f^(1/3))^3, and
            // int_-1^1 (1-t^2)^c dt = B(1/2, c + 1).
            const Density f(d);
            const double I = std::cbrt(f.C) * boost::math::beta(0.5, f.a / 3.0 + 1.0);
            double previous = lloyd_max_scalar(d, 4).total_mse;
            double previous_gap = 1.0;
            for (int b = 5; b <= 8; ++b) {
                const double D = lloyd_max_scalar(d, b).total_mse;
                const double ratio = previous / D;
                const double gap = 1.0 - D / (d * I * I * I / 12.0 * std::pow(4.0, -b));
                INFO("d = " << d << ", b = " << b << ": D = " << D << ", ratio " << ratio
                            << ", Panter-Dite gap " << gap);
                CHECK(D < previous);
                CHECK(ratio >= 3.5);
                CHECK(ratio <= 4.5);
                CHECK(D > std::pow(4.0, -b));
                CHECK(gap > 0.0);  // the high-rate formula is approached from below
                CHECK(gap < 0.07 * std::pow(0.5, b - 5));
                if (b > 5) CHECK(gap / previous_gap == doctest::Approx(0.5).epsilon(0.1));
                previous = D;
                previous_gap = gap;
            }
        }
    }

    TEST_CASE("large d approaches the Gaussian Lloyd-Max quantizer") {
        // Unit-variance Gaussian Lloyd-Max MSE (Max 1960): b = 1: 1 - 2/pi, b = 2: 0.11748.
        CHECK(lloyd_max_scalar(100000, 1).total_mse ==
              doctest::Approx(1.0 - 2.0 / std::numbers::pi).epsilon(1e-4));
        CHECK(lloyd_max_scalar(100000, 2).total_mse == doctest::Approx(0.11748).epsilon(1e-4));
    }

    TEST_CASE("codebook, second moment and argument checks") {
        const ScalarQuantizer q = lloyd_max_scalar(64, 3);
        const fq::codecs::BlockCodebook cb = fq::codecs::scalar_codebook(q);
        CHECK(cb.k == 1);
        CHECK(cb.N == 8);
        CHECK(cb.codewords == q.levels);
        CHECK(fq::codecs::marginal_second_moment(128) == 1.0 / 128);
        CHECK_THROWS_AS(lloyd_max_scalar(2, 2), fq::UsageError);
        CHECK_THROWS_AS(lloyd_max_scalar(64, 0), fq::UsageError);
        CHECK_THROWS_AS(lloyd_max_scalar(64, 9), fq::UsageError);
        CHECK_THROWS_AS(lloyd_max_scalar(64, 2, 0.0), fq::UsageError);
        CHECK_THROWS_AS(fq::codecs::marginal_second_moment(0), fq::UsageError);
        ScalarQuantizer bad = q;
        bad.levels.pop_back();
        CHECK_THROWS_AS(fq::codecs::scalar_codebook(bad), fq::UsageError);
    }
}

#include <doctest/doctest.h>

#include <omp.h>

#include <algorithm>
#include <boost/math/special_functions/beta.hpp>
#include <cmath>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

#include "fq/core/error.hpp"
#include "fq/source/spherical_beta.hpp"

using namespace fq::source;

namespace {

struct Case {
    int d, k;
    std::size_t n;
};
// The Gaussian sampler costs d normals per sample, so the larger d gets fewer samples.
constexpr Case k_cases[] = {{64, 4, 150000}, {128, 8, 100000}};

// Samples shared by several test cases (generated once per (d, k, sampler)).
const std::vector<double>& cached_sample(int d, int k, Sampler s) {
    static std::vector<double> store[2][2];
    const int ci = d == 64 ? 0 : 1;
    auto& v = store[ci][s == Sampler::gaussian ? 0 : 1];
    if (v.empty()) v = sample(d, k, k_cases[ci].n, 1000 + static_cast<std::uint64_t>(ci), s);
    return v;
}

std::vector<double> squared_radii(const std::vector<double>& y, int k) {
    const std::size_t n = y.size() / static_cast<std::size_t>(k);
    std::vector<double> s(n);
    for (std::size_t i = 0; i < n; ++i) {
        double r2 = 0.0;
        for (int j = 0; j < k; ++j) r2 += y[i * k + j] * y[i * k + j];
        s[i] = r2;
    }
    return s;
}

// One-sample Kolmogorov-Smirnov statistic of x against a cdf.
template <class Cdf>
double ks_one(std::vector<double> x, Cdf cdf) {
    std::sort(x.begin(), x.end());
    const double n = static_cast<double>(x.size());
    double dmax = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double f = cdf(x[i]);
        dmax = std::max({dmax, (i + 1) / n - f, f - i / n});
    }
    return dmax;
}

double ks_two(std::vector<double> a, std::vector<double> b) {
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
    std::size_t i = 0, j = 0;
    double dmax = 0.0;
    while (i < a.size() && j < b.size()) {
        const double t = std::min(a[i], b[j]);
        while (i < a.size() && a[i] <= t) ++i;
        while (j < b.size() && b[j] <= t) ++j;
        dmax = std::max(dmax, std::abs(i / na - j / nb));
    }
    return dmax;
}

std::string name(Sampler s) {
    return s == Sampler::gaussian ? "gaussian" : "beta";
}

}  // namespace

TEST_CASE("RadialLaw exponents, Beta parameters and means") {
    const RadialLaw src = RadialLaw::source(64, 4);
    CHECK(src.k == 4);
    CHECK(src.a == 29.0);  // (64 - 4 - 2) / 2
    CHECK(src.beta_a() == 2.0);
    CHECK(src.beta_b() == 30.0);  // (d - k) / 2
    CHECK(src.mean_sq() == doctest::Approx(4.0 / 64.0).epsilon(1e-15));
    CHECK(RadialLaw::source(128, 8).mean_sq() == doctest::Approx(8.0 / 128.0).epsilon(1e-15));
    // Companded law: point density proportional to f^(k/(k+2)), so a = (d-k-2)/2 * k/(k+2).
    const RadialLaw comp = RadialLaw::companded(64, 4);
    CHECK(comp.a == doctest::Approx(29.0 * 4.0 / 6.0).epsilon(1e-15));
    CHECK(comp.mean_sq() == doctest::Approx(2.0 / (2.0 + 29.0 * 4.0 / 6.0 + 1.0)).epsilon(1e-15));
    // ... which is what raising density() to the power k/(k+2) gives, up to a constant.
    const double y1[4] = {0.1, 0.2, -0.1, 0.05}, y2[4] = {0.3, -0.25, 0.2, 0.1};
    const double p = 4.0 / 6.0;
    const double ratio = std::pow(density(64, 4, y1), p) / std::pow(density(64, 4, y2), p);
    double r1 = 0.0, r2 = 0.0;
    for (int i = 0; i < 4; ++i) {
        r1 += y1[i] * y1[i];
        r2 += y2[i] * y2[i];
    }
    CHECK(ratio == doctest::Approx(std::pow((1 - r1) / (1 - r2), comp.a)).epsilon(1e-12));
    CHECK_THROWS_AS(RadialLaw::source(4, 4), fq::UsageError);
    CHECK_THROWS_AS(RadialLaw::source(4, 0), fq::UsageError);
    CHECK_THROWS_AS(src.radius_quantile(1.5), fq::UsageError);
}

TEST_CASE("cdf_sq and radius_quantile: closed forms and inversion") {
    // d = 4, k = 2: ||y||^2 ~ Beta(1, 1), uniform.
    const RadialLaw u = RadialLaw::source(4, 2);
    // d = 3, k = 1: t uniform on [-1, 1] (Archimedes), so P(t^2 <= s) = sqrt(s).
    const RadialLaw arch = RadialLaw::source(3, 1);
    for (double s : {0.01, 0.2, 0.5, 0.9}) {
        CHECK(u.cdf_sq(s) == doctest::Approx(s).epsilon(1e-14));
        CHECK(u.radius_quantile(s) == doctest::Approx(std::sqrt(s)).epsilon(1e-14));
        CHECK(arch.cdf_sq(s) == doctest::Approx(std::sqrt(s)).epsilon(1e-14));
        CHECK(arch.radius_quantile(s) == doctest::Approx(s).epsilon(1e-13));
    }
    CHECK(u.cdf_sq(0.0) == 0.0);
    CHECK(u.cdf_sq(-1.0) == 0.0);
    CHECK(u.cdf_sq(1.0) == 1.0);
    CHECK(u.cdf_sq(2.0) == 1.0);
    for (const RadialLaw& law : {RadialLaw::source(64, 4), RadialLaw::source(128, 8),
                                 RadialLaw::source(16, 1), RadialLaw::companded(64, 2)}) {
        CHECK(law.radius_quantile(0.0) == 0.0);
        CHECK(law.radius_quantile(1.0) == 1.0);
        for (double p : {1e-6, 0.01, 0.25, 0.5, 0.75, 0.99, 1 - 1e-6}) {
            const double r = law.radius_quantile(p);
            CHECK(r > 0.0);
            CHECK(r < 1.0);
            CHECK(law.cdf_sq(r * r) == doctest::Approx(p).epsilon(1e-10));
        }
    }
}

TEST_CASE("density: closed-form values and unit mass") {
    const double zero[2] = {0.0, 0.0};
    CHECK(density(4, 2, zero) == doctest::Approx(1.0 / std::numbers::pi).epsilon(1e-14));
    const double t = 0.3;
    CHECK(density(3, 1, &t) == doctest::Approx(0.5).epsilon(1e-14));
    const double out[2] = {0.8, 0.7};
    CHECK(density(16, 2, out) == 0.0);
    for (int d : {16, 64}) {
        CAPTURE(d);
        // k = 1: composite Simpson on [-1, 1].
        const int m = 4000;
        const double h = 2.0 / m;
        double s = 0.0;
        for (int i = 0; i <= m; ++i) {
            const double x = -1.0 + i * h;
            const double w = (i == 0 || i == m) ? 1.0 : (i % 2 ? 4.0 : 2.0);
            s += w * density(d, 1, &x);
        }
        CHECK(s * h / 3.0 == doctest::Approx(1.0).epsilon(1e-9));
        // k = 2: midpoint rule on a grid over [-1, 1]^2 (the density is 0 outside the disk
        // and vanishes smoothly at its edge).
        const int g = 800;
        const double hg = 2.0 / g;
        double mass = 0.0;
        for (int i = 0; i < g; ++i) {
            for (int j = 0; j < g; ++j) {
                const double y[2] = {-1.0 + (i + 0.5) * hg, -1.0 + (j + 0.5) * hg};
                mass += density(d, 2, y);
            }
        }
        CHECK(mass * hg * hg == doctest::Approx(1.0).epsilon(1e-5));
    }
}

TEST_CASE("samplers: E||y||^2 = k/d") {
    for (const auto& c : k_cases) {
        for (Sampler s : {Sampler::gaussian, Sampler::beta}) {
            CAPTURE(c.d);
            CAPTURE(name(s));
            const auto r2 = squared_radii(cached_sample(c.d, c.k, s), c.k);
            double sum = 0.0;
            for (double v : r2) sum += v;
            const double mean = sum / static_cast<double>(r2.size());
            // Beta(a, b) variance ab / ((a+b)^2 (a+b+1)).
            const double a = 0.5 * c.k, b = 0.5 * (c.d - c.k);
            const double var = a * b / ((a + b) * (a + b) * (a + b + 1));
            const double se = std::sqrt(var / static_cast<double>(r2.size()));
            CHECK(std::abs(mean - double(c.k) / c.d) < 4.0 * se);
        }
    }
}

TEST_CASE("samplers: ||y||^2 follows Beta(k/2, (d-k)/2) (one-sample KS)") {
    for (const auto& c : k_cases) {
        const RadialLaw law = RadialLaw::source(c.d, c.k);
        for (Sampler s : {Sampler::gaussian, Sampler::beta}) {
            CAPTURE(c.d);
            CAPTURE(name(s));
            const auto r2 = squared_radii(cached_sample(c.d, c.k, s), c.k);
            const double dks = ks_one(r2, [&](double x) { return law.cdf_sq(x); });
            MESSAGE("KS D = ", dks, " (d=", c.d, ", k=", c.k, ", ", name(s), ")");
            CHECK(dks < 1.63 / std::sqrt(static_cast<double>(r2.size())));
        }
    }
}

TEST_CASE("samplers: the two samplers agree (two-sample KS on the radii)") {
    for (const auto& c : k_cases) {
        CAPTURE(c.d);
        const auto a = squared_radii(cached_sample(c.d, c.k, Sampler::gaussian), c.k);
        const auto b = squared_radii(cached_sample(c.d, c.k, Sampler::beta), c.k);
        const double dks = ks_two(a, b);
        const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
        MESSAGE("two-sample KS D = ", dks, " (d=", c.d, ", k=", c.k, ")");
        CHECK(dks < 1.63 * std::sqrt((na + nb) / (na * nb)));
    }
}

TEST_CASE("samplers: the direction is uniform and independent of the radius") {
    for (const auto& c : k_cases) {
        for (Sampler s : {Sampler::gaussian, Sampler::beta}) {
            CAPTURE(c.d);
            CAPTURE(name(s));
            const auto& y = cached_sample(c.d, c.k, s);
            const int k = c.k;
            const std::size_t n = y.size() / static_cast<std::size_t>(k);
            std::vector<double> mean(k, 0.0), second(k * k, 0.0);
            double s_w1 = 0.0, s_r2 = 0.0;
            std::vector<double> w(k);
            for (std::size_t i = 0; i < n; ++i) {
                double r2 = 0.0;
                for (int j = 0; j < k; ++j) r2 += y[i * k + j] * y[i * k + j];
                const double r = std::sqrt(r2);
                for (int j = 0; j < k; ++j) w[j] = y[i * k + j] / r;
                for (int j = 0; j < k; ++j) {
                    mean[j] += w[j];
                    for (int l = 0; l < k; ++l) second[j * k + l] += w[j] * w[l];
                }
                s_w1 += r2 * w[0] * w[0];
                s_r2 += r2;
            }
            const double nd = static_cast<double>(n);
            // w uniform on S^(k-1): E w_j = 0, Var w_j = 1/k, E w_j^2 w_l^2 = 1/(k(k+2)),
            // E w_j^4 = 3/(k(k+2)). Five standard errors per entry.
            const double kk = k;
            const double se_mean = std::sqrt(1.0 / kk / nd);
            const double se_off = std::sqrt(1.0 / (kk * (kk + 2)) / nd);
            const double se_diag = std::sqrt((3.0 / (kk * (kk + 2)) - 1.0 / (kk * kk)) / nd);
            int bad = 0;
            for (int j = 0; j < k; ++j) {
                bad += std::abs(mean[j] / nd) < 5 * se_mean ? 0 : 1;
                for (int l = 0; l < k; ++l) {
                    const double e = second[j * k + l] / nd;
                    bad +=
                        (j == l ? std::abs(e - 1.0 / kk) < 5 * se_diag : std::abs(e) < 5 * se_off)
                            ? 0
                            : 1;
                }
            }
            CHECK(bad == 0);
            // Independence of radius and direction: X = ||y||^2 (w_1^2 - 1/k) has mean 0 and
            // variance E[s^2] Var(w_1^2), E[s^2] = a(a+1) / ((a+b)(a+b+1)) for Beta(a, b).
            const double ba = 0.5 * k, bb = 0.5 * (c.d - k);
            const double es2 = ba * (ba + 1) / ((ba + bb) * (ba + bb + 1));
            const double se_x = std::sqrt(es2 * (3.0 / (kk * (kk + 2)) - 1.0 / (kk * kk)) / nd);
            CHECK(std::abs(s_w1 / nd - (s_r2 / nd) / kk) < 5.0 * se_x);
        }
    }
}

TEST_CASE("samplers: k = 1 marginal, E t^2 = 1/d and (t+1)/2 ~ Beta((d-1)/2, (d-1)/2)") {
    const int d = 16;
    const std::size_t n = 100000;
    for (Sampler s : {Sampler::gaussian, Sampler::beta}) {
        CAPTURE(name(s));
        const auto t = sample(d, 1, n, 77, s);
        double s1 = 0.0, s2 = 0.0;
        for (double v : t) {
            s1 += v;
            s2 += v * v;
        }
        const double nd = static_cast<double>(n);
        // t^2 ~ Beta(1/2, (d-1)/2): Var = (1/2)((d-1)/2) / ((d/2)^2 (d/2 + 1)).
        const double var_t2 = 0.5 * 0.5 * (d - 1) / (0.25 * d * d * (0.5 * d + 1));
        CHECK(std::abs(s2 / nd - 1.0 / d) < 4.0 * std::sqrt(var_t2 / nd));
        CHECK(std::abs(s1 / nd) < 4.0 * std::sqrt(1.0 / d / nd));
        std::vector<double> u(t.size());
        for (std::size_t i = 0; i < t.size(); ++i) u[i] = 0.5 * (t[i] + 1.0);
        const double h = 0.5 * (d - 1);
        namespace bmp = boost::math::policies;
        const bmp::policy<bmp::promote_double<false>> pol;  // double precision is plenty here
        const double dks = ks_one(u, [&](double x) { return boost::math::ibeta(h, h, x, pol); });
        MESSAGE("k=1 KS D = ", dks, " (", name(s), ")");
        CHECK(dks < 1.63 / std::sqrt(nd));
    }
}

TEST_CASE("samplers: deterministic, prefix-stable and thread-count independent") {
    const int d = 32, k = 4;
    const std::size_t n = 10000;  // three chunks of 4096, the last partial
    for (Sampler s : {Sampler::gaussian, Sampler::beta}) {
        CAPTURE(name(s));
        const int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        const auto one = sample(d, k, n, 5, s);
        omp_set_num_threads(2);
        const auto two = sample(d, k, n, 5, s);
        omp_set_num_threads(saved);
        CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(double)) == 0);
        const auto again = sample(d, k, n, 5, s);
        CHECK(std::memcmp(one.data(), again.data(), one.size() * sizeof(double)) == 0);
        const auto other = sample(d, k, n, 6, s);
        CHECK(std::memcmp(one.data(), other.data(), one.size() * sizeof(double)) != 0);
        // Chunk c always uses Rng(seed, c): a shorter run is a prefix of a longer one.
        const auto shorter = sample(d, k, 5000, 5, s);
        CHECK(std::memcmp(one.data(), shorter.data(), shorter.size() * sizeof(double)) == 0);
    }
    CHECK_THROWS_AS(sample(8, 8, 10, 1, Sampler::beta), fq::UsageError);
}

#include "fq/source/spherical_beta.hpp"

#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <numbers>
#include <string>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"

namespace fq::source {

namespace {

// Boost.Math evaluates double functions in long double by default: 5-8 times slower here, and
// long double differs between platforms (80-bit x87, 128-bit, or plain double), which would
// make samples platform dependent. Double throughout is accurate to a few ulps.
using Policy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;

// Samples per Rng stream. Fixed (never derived from the thread count) so that chunk c always
// holds samples [c * k_chunk, (c + 1) * k_chunk) drawn from core::Rng(seed, c).
constexpr std::size_t k_chunk = 4096;

void check_dims(int d, int k) {
    if (k < 1 || k >= d)
        throw UsageError("spherical_beta: need 1 <= k < d, got d=" + std::to_string(d) +
                         " k=" + std::to_string(k));
}

// Unit vector uniform on S^(k-1) (k = 1: a random sign).
void uniform_direction(core::Rng& rng, int k, double* w) {
    if (k == 1) {
        w[0] = (rng.next_u64() >> 63) ? -1.0 : 1.0;
        return;
    }
    double norm2 = 0.0;
    for (int i = 0; i < k; ++i) {
        w[i] = rng.normal();
        norm2 += w[i] * w[i];
    }
    const double inv = 1.0 / std::sqrt(norm2);
    for (int i = 0; i < k; ++i) w[i] *= inv;
}

}  // namespace

RadialLaw RadialLaw::source(int d, int k) {
    check_dims(d, k);
    return RadialLaw{k, 0.5 * (d - k - 2)};
}

RadialLaw RadialLaw::companded(int d, int k) {
    check_dims(d, k);
    return RadialLaw{k, 0.5 * (d - k - 2) * k / (k + 2.0)};
}

double RadialLaw::cdf_sq(double s) const {
    if (!(s > 0.0)) return 0.0;
    if (s >= 1.0) return 1.0;
    return boost::math::ibeta(beta_a(), beta_b(), s, Policy());
}

double RadialLaw::radius_quantile(double p) const {
    if (!(p >= 0.0 && p <= 1.0))
        throw UsageError("spherical_beta: quantile level must be in [0, 1], got " +
                         std::to_string(p));
    if (p == 0.0) return 0.0;
    if (p == 1.0) return 1.0;
    return std::sqrt(boost::math::ibeta_inv(beta_a(), beta_b(), p, Policy()));
}

double RadialLaw::mean_sq() const {
    return beta_a() / (beta_a() + beta_b());
}

double density(int d, int k, const double* y) {
    check_dims(d, k);
    double r2 = 0.0;
    for (int i = 0; i < k; ++i) r2 += y[i] * y[i];
    if (r2 >= 1.0) return 0.0;
    // boost::math::lgamma rather than std::lgamma: the latter writes the global signgam.
    const double log_c = boost::math::lgamma(0.5 * d, Policy()) -
                         0.5 * k * std::log(std::numbers::pi) -
                         boost::math::lgamma(0.5 * (d - k), Policy());
    return std::exp(log_c + 0.5 * (d - k - 2) * std::log1p(-r2));
}

void sample(int d, int k, std::size_t n, std::uint64_t seed, Sampler sampler, double* out) {
    check_dims(d, k);
    const auto ku = static_cast<std::size_t>(k);
    const double beta_a = 0.5 * k;
    const double beta_b = 0.5 * (d - k);
    core::parallel_chunks(n, k_chunk, [&](std::size_t c, std::size_t begin, std::size_t end) {
        core::Rng rng(seed, c);
        std::vector<double> g(static_cast<std::size_t>(d));
        for (std::size_t r = begin; r < end; ++r) {
            double* y = out + r * ku;
            if (sampler == Sampler::gaussian) {
                double norm2 = 0.0;
                for (auto& v : g) {
                    v = rng.normal();
                    norm2 += v * v;
                }
                const double inv = 1.0 / std::sqrt(norm2);
                for (std::size_t i = 0; i < ku; ++i) y[i] = g[i] * inv;
            } else {
                const double s = boost::math::ibeta_inv(beta_a, beta_b, rng.uniform(), Policy());
                uniform_direction(rng, k, y);
                const double rad = std::sqrt(s);
                for (std::size_t i = 0; i < ku; ++i) y[i] *= rad;
            }
        }
    });
}

std::vector<double> sample(int d, int k, std::size_t n, std::uint64_t seed, Sampler sampler) {
    std::vector<double> out(n * static_cast<std::size_t>(k));
    sample(d, k, n, seed, sampler, out.data());
    return out;
}

}  // namespace fq::source

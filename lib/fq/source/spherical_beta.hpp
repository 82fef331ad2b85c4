// The spherical-Beta source f_{d,k} (SPEC 2): the law of k consecutive coordinates of a
// point uniform on the unit sphere S^(d-1), k < d.
//
//   f_{d,k}(y) = Gamma(d/2) / (pi^(k/2) Gamma((d-k)/2)) (1 - ||y||^2)^((d-k-2)/2),  y in B^k
//
// so ||y||^2 ~ Beta(k/2, (d-k)/2) and y/||y|| is uniform on S^(k-1), independent of the
// radius. More generally a "radial law with exponent a" has density proportional to
// (1 - ||y||^2)^a on B^k, i.e. ||y||^2 ~ Beta(k/2, a + 1); the source has a = (d-k-2)/2 and
// the Bennett-Gersho companded law (point density proportional to f^(k/(k+2))) has
// a = (d-k-2)/2 * k/(k+2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fq::source {

// Radial law of a spherically symmetric density on B^k proportional to (1-||y||^2)^a.
struct RadialLaw {
    int k = 1;       // block dimension, >= 1
    double a = 0.0;  // exponent, > -1

    static RadialLaw source(int d, int k);     // a = (d-k-2)/2
    static RadialLaw companded(int d, int k);  // a = (d-k-2)/2 * k/(k+2)

    // Beta parameters of s = ||y||^2: (k/2, a+1).
    double beta_a() const { return 0.5 * k; }
    double beta_b() const { return a + 1.0; }
    // P(||y||^2 <= s), s in [0, 1] (Boost.Math ibeta).
    double cdf_sq(double s) const;
    // Radius r with P(||y|| <= r) = p, p in [0, 1] (sqrt of Boost.Math ibeta_inv).
    double radius_quantile(double p) const;
    // E ||y||^2 = (k/2) / (k/2 + a + 1).
    double mean_sq() const;
};

// Density f_{d,k}(y) at a point y of B^k (0 outside). y: k doubles.
double density(int d, int k, const double* y);

// Samplers of f_{d,k}. Both fill out: (n, k) row-major double and are deterministic in
// (seed, stream); chunks of samples use independent Rng streams so that the result does not
// depend on the thread count.
enum class Sampler {
    gaussian,  // normalise a standard normal d-vector, keep its first k coordinates
    beta,  // s ~ Beta(k/2,(d-k)/2) by ibeta_inv of a uniform, w uniform on S^(k-1), y = sqrt(s) w
};
void sample(int d, int k, std::size_t n, std::uint64_t seed, Sampler sampler, double* out);
std::vector<double> sample(int d, int k, std::size_t n, std::uint64_t seed,
                           Sampler sampler = Sampler::beta);

}  // namespace fq::source

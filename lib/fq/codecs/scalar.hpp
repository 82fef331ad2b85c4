// Lloyd-Max scalar quantizer of the k = 1 spherical-Beta marginal (SPEC 2, 4.1): the
// codebook of the `scalar` codec (TurboQuant-mse), computed exactly rather than trained.
//
// A coordinate t of a point uniform on S^(d-1) has the density
//   f(t) = C (1 - t^2)^a on [-1, 1],  a = (d-3)/2,  C = Gamma(d/2) / (sqrt(pi) Gamma((d-1)/2)),
// i.e. (t+1)/2 ~ Beta((d-1)/2, (d-1)/2), t^2 ~ Beta(1/2, (d-1)/2), E t^2 = 1/d.
//
// The N = 2^b levels c_0 < ... < c_(N-1) and thresholds tau_i = (c_i + c_(i+1))/2 satisfy the
// Lloyd-Max conditions c_i = E[t | tau_(i-1) < t <= tau_i] (tau_(-1) = -1, tau_(N-1) = 1):
//   cell mass     P_i = int f         (regularised incomplete beta, Boost.Math ibeta/ibetac),
//   first moment  M_i = int t f = C ((1-l^2)^(a+1) - (1-u^2)^(a+1)) / (2(a+1)),
//   c_i = M_i / P_i.
// f is log-concave for d >= 3, so the fixed point is unique (Fleischer 1964, Trushkin 1982)
// and is reached from any start. Started at the marginal's quantiles (i + 1/2)/N, the
// centroid <-> midpoint map is iterated with Newton steps on its fixed-point equation (the
// Jacobian is tridiagonal; plain Lloyd needs ~N^2 steps), falling back to the plain Lloyd
// step whenever a Newton step does not help, until one plain Lloyd step moves no level by
// tol or more; up to 3 more Newton steps follow while they still halve that change, so the
// levels are exact to rounding (~1e-15, ~1e-13 at b = 8 where the problem's condition
// number is ~N^2), not merely to tol. 5-8 map evaluations suffice for every d and b.
// Symmetric by construction: only the N/2 positive levels are solved for (the middle
// threshold is 0), and levels[i] = -levels[N-1-i] exactly.
//
// The MSE is integrated cell by cell as int (t - c_i)^2 f (adaptive Gauss-Legendre), which
// has no cancellation; E t^2 - sum_i P_i c_i^2 would lose ~log10((1/d) / mse) digits.
#pragma once

#include <vector>

#include "fq/codecs/codebook.hpp"

namespace fq::codecs {

struct ScalarQuantizer {
    int d = 0;                       // dimension of the sphere's ambient space, >= 3
    int bits = 0;                    // b, 1..8
    std::vector<double> levels;      // N = 2^b reconstruction levels, ascending, symmetric
    std::vector<double> thresholds;  // N - 1 cell boundaries, tau_i = (c_i + c_(i+1)) / 2
    double mse_per_coord = 0.0;      // E (t - Q(t))^2 for one coordinate t ~ f
    double total_mse = 0.0;          // d * mse_per_coord: E ||z - Q(z)||^2 for unit z
    int iterations = 0;              // evaluations of the Lloyd map until convergence
    double last_change = 0.0;        // max level change of the final Lloyd step (< tol)
};

// The exact 2^bits-level Lloyd-Max quantizer of the k = 1 marginal in dimension d.
// Throws UsageError unless d >= 3, 1 <= bits <= 8 and tol > 0; NumericError if it does not
// converge within 100000 Lloyd-map evaluations.
ScalarQuantizer lloyd_max_scalar(int d, int bits, double tol = 1e-12);

// The quantizer as a k = 1 BlockCodebook: N = 2^bits, codewords = levels (ascending).
BlockCodebook scalar_codebook(const ScalarQuantizer& q);

// E t^2 = 1/d for one coordinate of a uniform point on S^(d-1). Throws UsageError if d < 1.
double marginal_second_moment(int d);

}  // namespace fq::codecs

#include "fq/codecs/scalar.hpp"

#include <algorithm>
#include <boost/math/quadrature/gauss.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <string>

#include "fq/core/error.hpp"

namespace fq::codecs {

namespace {

constexpr int k_max_iterations = 100000;
constexpr int k_polish_steps = 3;
// Rounding noise of one Lloyd-map evaluation on levels in (0, 1): a few ulps of 1.
constexpr double k_noise = 16 * std::numeric_limits<double>::epsilon();

// int_l^u g by 30-point Gauss-Legendre, bisected until the two halves agree with the whole
// to 1e-13 of themselves or of the first estimate of the entire integral. Inner cells are
// accepted at once (g is analytic on them and its singularities lie at least a cell width
// away); bisection resolves the narrow peak the last cell has at low b and large d.
template <class G>
class Integrator {
public:
    explicit Integrator(const G& g) : m_g(g) {}

    double operator()(double l, double u) {
        const double whole = Rule::integrate(m_g, l, u);
        m_abs_tol = k_quad_tol * std::abs(whole);
        m_intervals = 0;
        return refine(l, u, whole, 0);
    }

private:
    using Rule = boost::math::quadrature::gauss<double, 30>;
    static constexpr double k_quad_tol = 1e-13;
    static constexpr int k_max_depth = 40;
    static constexpr int k_max_intervals = 4096;

    double refine(double l, double u, double whole, int depth) {
        const double m = 0.5 * (l + u);
        const double left = Rule::integrate(m_g, l, m), right = Rule::integrate(m_g, m, u);
        const double halves = left + right;
        const double err = std::abs(halves - whole);
        if (err <= k_quad_tol * std::abs(halves) || err <= m_abs_tol) return halves;
        if (depth == k_max_depth || ++m_intervals > k_max_intervals)
            throw NumericError("lloyd_max_scalar: cell MSE quadrature did not converge");
        return refine(l, m, left, depth + 1) + refine(m, u, right, depth + 1);
    }

    const G& m_g;
    double m_abs_tol = 0.0;
    int m_intervals = 0;
};

// log(1 - t^2), 0 <= t <= 1, to full relative accuracy: t^2 rounds harmlessly while it is
// small, and (1-t)(1+t) keeps the digits 1 - t^2 has near t = 1. The exponent a (up to d/2)
// multiplies any absolute error of this log, so it matters.
double log_one_minus_sq(double t) {
    return (t * t < 0.5) ? std::log1p(-t * t) : std::log1p(-t) + std::log1p(t);
}

// The marginal restricted to t >= 0 (all the solver needs, by symmetry). Masses use
// t^2 ~ Beta(1/2, a+1): P(0 <= T <= t) = I_(t^2)(1/2, a+1) / 2 and
// P(T > t) = Ic_(t^2)(1/2, a+1) / 2, and a cell's mass is the difference of whichever of the
// two is smaller at its lower end, so tail cells never lose their digits to 1 - (1 - P).
class PositiveMarginal {
public:
    explicit PositiveMarginal(int d)
        : m_a(0.5 * (d - 3)),
          m_b(0.5 * (d - 1)),
          m_log_c(std::log(boost::math::tgamma_ratio(0.5 * d, 0.5 * (d - 1))) -
                  0.5 * std::log(std::numbers::pi)) {}

    // f(t) = C (1-t^2)^a; a = 0 (d = 3) must not meet log(0) at t = 1.
    double density(double t) const {
        if (m_a == 0.0) return std::exp(m_log_c);
        return std::exp(m_log_c + m_a * log_one_minus_sq(t));
    }

    // P(l < T <= u), 0 <= l < u <= 1.
    double mass(double l, double u) const {
        const double upper_l = 0.5 * boost::math::ibetac(0.5, m_b, l * l);
        if (upper_l <= 0.25) return upper_l - 0.5 * boost::math::ibetac(0.5, m_b, u * u);
        return 0.5 * (boost::math::ibeta(0.5, m_b, u * u) - boost::math::ibeta(0.5, m_b, l * l));
    }

    // int_l^u t f(t) dt = C/(2(a+1)) ((1-l^2)^(a+1) - (1-u^2)^(a+1)), written as
    // C/(2(a+1)) (1-l^2)^(a+1) (1 - r^(a+1)) with r = (1-u^2)/(1-l^2) = 1 - q and
    // q = (u-l)(u+l)/((1-l)(1+l)): log1p/expm1 keep all digits for narrow cells (where the
    // two powers nearly cancel) and log space keeps the tiny powers of the tail cells
    // (2(a+1) = d-1). u = 1 gives q = 1 exactly, log1p(-1) = -inf, expm1(-inf) = -1.
    double first_moment(double l, double u) const {
        const double q = (u - l) * (u + l) / ((1.0 - l) * (1.0 + l));
        const double log_scale = m_log_c - std::log(2.0 * m_b) + m_b * log_one_minus_sq(l);
        return -std::exp(log_scale) * std::expm1(m_b * std::log1p(-q));
    }

    // t with P(T > t) = p, 0 < p <= 1/2: t^2 = Ic^-1(2p).
    double upper_quantile(double p) const {
        return std::sqrt(boost::math::ibetac_inv(0.5, m_b, 2.0 * p));
    }

    // int_l^u (t - c)^2 f(t) dt, the cell's contribution to the MSE, by adaptive
    // Gauss-Legendre on the central moment itself. The closed forms would give it as
    // int t^2 f - 2c int t f + c^2 P, losing ~log10(c^2 / var) digits in narrow outer cells
    // (and 1/d - sum_i P_i c_i^2 loses ~log10((1/d) / mse), 4-5 digits at b = 8). The last
    // cell [l, 1] is integrated in s = sqrt(1 - t), where (1-t)^a = s^(d-3) is smooth (f has a
    // branch point at t = 1 for even d).
    double central_second_moment(double l, double u, double c) const {
        if (u < 1.0) {
            auto g = [&](double t) { return (t - c) * (t - c) * density(t); };
            return Integrator<decltype(g)>(g)(l, u);
        }
        // 1 - t^2 = s^2 (1 + t): exact s^2 for t near 1, log1p(-t^2) for t near 0.
        auto g = [&](double s) {
            const double s2 = s * s, t = 1.0 - s2;
            double f = std::exp(m_log_c);
            if (m_a != 0.0) {
                const double log_1mt2 =
                    (t * t < 0.5) ? std::log1p(-t * t) : std::log(s2) + std::log1p(t);
                f = std::exp(m_log_c + m_a * log_1mt2);
            }
            return 2.0 * s * (t - c) * (t - c) * f;
        };
        return Integrator<decltype(g)>(g)(0.0, std::sqrt(1.0 - l));
    }

private:
    double m_a;      // exponent (d-3)/2
    double m_b;      // a + 1 = (d-1)/2, the second Beta parameter of t^2
    double m_log_c;  // log C
};

// One evaluation of the Lloyd map on the M positive levels c (cells [tau_j, tau_(j+1)] with
// tau_0 = 0, tau_j = (c_(j-1) + c_j)/2, tau_M = 1): phi_j = centroid of cell j, and the
// Jacobian's parts alpha_j = d phi_j / d tau_j, beta_j = d phi_j / d tau_(j+1):
//   alpha_j = f(tau_j) (phi_j - tau_j) / P_j,  beta_j = f(tau_(j+1)) (tau_(j+1) - phi_j) / P_j.
struct LloydStep {
    std::vector<double> phi, alpha, beta;
};

void lloyd_map(const PositiveMarginal& f, const std::vector<double>& c, LloydStep& s) {
    const std::size_t M = c.size();
    s.phi.resize(M);
    s.alpha.resize(M);
    s.beta.resize(M);
    double l = 0.0;
    for (std::size_t j = 0; j < M; ++j) {
        const double u = (j + 1 < M) ? 0.5 * (c[j] + c[j + 1]) : 1.0;
        const double P = f.mass(l, u);
        if (!(P > 0.0))
            throw NumericError("lloyd_max_scalar: empty cell at level " + std::to_string(j));
        const double phi = f.first_moment(l, u) / P;
        s.phi[j] = phi;
        s.alpha[j] = f.density(l) * (phi - l) / P;
        s.beta[j] = f.density(u) * (u - phi) / P;
        l = u;
    }
}

// Newton step for c = phi(c): solve (I - J) delta = phi - c, J tridiagonal with
//   J_(j,j-1) = alpha_j/2 (j >= 1), J_(j,j+1) = beta_j/2 (j <= M-2),
//   J_(j,j) = alpha_j/2 [j >= 1] + beta_j/2 [j <= M-2]  (tau_0 and tau_M are fixed),
// by the Thomas algorithm (I - J is an M-matrix for a log-concave density, no pivoting).
std::vector<double> newton_step(const std::vector<double>& c, const LloydStep& s) {
    const std::size_t M = c.size();
    std::vector<double> diag(M), sup(M, 0.0), rhs(M);
    for (std::size_t j = 0; j < M; ++j) {
        const double lo = (j >= 1) ? 0.5 * s.alpha[j] : 0.0;
        const double hi = (j + 1 < M) ? 0.5 * s.beta[j] : 0.0;
        diag[j] = 1.0 - lo - hi;
        sup[j] = -hi;
        rhs[j] = s.phi[j] - c[j];
    }
    // Forward elimination with sub-diagonal -alpha_j/2.
    for (std::size_t j = 1; j < M; ++j) {
        const double m = -0.5 * s.alpha[j] / diag[j - 1];
        diag[j] -= m * sup[j - 1];
        rhs[j] -= m * rhs[j - 1];
    }
    std::vector<double> next(M);
    double delta = 0.0;
    for (std::size_t j = M; j-- > 0;) {
        delta = (rhs[j] - (j + 1 < M ? sup[j] * delta : 0.0)) / diag[j];
        next[j] = c[j] + delta;
    }
    return next;
}

bool strictly_inside(const std::vector<double>& c) {
    if (c.empty() || !(c.front() > 0.0) || !(c.back() < 1.0)) return false;
    for (std::size_t j = 1; j < c.size(); ++j)
        if (!(c[j] > c[j - 1])) return false;
    return true;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
    double m = 0.0;
    for (std::size_t j = 0; j < a.size(); ++j) m = std::max(m, std::abs(a[j] - b[j]));
    return m;
}

}  // namespace

ScalarQuantizer lloyd_max_scalar(int d, int bits, double tol) {
    require(d >= 3, "lloyd_max_scalar: d must be >= 3, got " + std::to_string(d));
    require(bits >= 1 && bits <= 8,
            "lloyd_max_scalar: bits must be in 1..8, got " + std::to_string(bits));
    require(tol > 0.0, "lloyd_max_scalar: tol must be positive");

    const PositiveMarginal f(d);
    const int N = 1 << bits;
    const std::size_t M = static_cast<std::size_t>(N / 2);

    // Positive level j is level M + j; its quantile (M + j + 1/2)/N has upper tail
    // (M - j - 1/2)/N.
    std::vector<double> c(M);
    for (std::size_t j = 0; j < M; ++j) c[j] = f.upper_quantile((M - j - 0.5) / N);

    LloydStep step;
    double previous_change = std::numeric_limits<double>::infinity();
    double change = previous_change;
    int it = 0;
    int polish = 0;
    while (true) {
        if (it == k_max_iterations)
            throw NumericError(
                "lloyd_max_scalar: no convergence in " + std::to_string(k_max_iterations) +
                " iterations (d = " + std::to_string(d) + ", b = " + std::to_string(bits) + ")");
        lloyd_map(f, c, step);
        ++it;
        change = max_abs_diff(step.phi, c);
        // Converged once a Lloyd step moves no level by tol; a few more Newton steps while
        // the residual still halves and stands above rounding noise make the levels exact to
        // rounding, not just to tol. (A Newton step on pure noise would amplify it by the
        // condition number of I - J, ~N^2, in the slow smooth mode Lloyd barely damps.)
        if (change < tol) {
            if (polish == k_polish_steps || change <= k_noise ||
                !(change < 0.5 * previous_change)) {
                c = step.phi;
                break;
            }
            ++polish;
        }
        // Newton while it shrinks the Lloyd residual; the plain Lloyd step otherwise (it
        // always lowers the distortion, so the iteration cannot stall).
        std::vector<double> trial = (change < previous_change) ? newton_step(c, step) : step.phi;
        c = strictly_inside(trial) ? std::move(trial) : step.phi;
        previous_change = change;
    }

    ScalarQuantizer q;
    q.d = d;
    q.bits = bits;
    q.iterations = it;
    q.last_change = change;
    q.levels.resize(static_cast<std::size_t>(N));
    q.thresholds.resize(static_cast<std::size_t>(N - 1));
    for (std::size_t j = 0; j < M; ++j) {
        q.levels[M + j] = c[j];
        q.levels[M - 1 - j] = -c[j];
    }
    for (std::size_t i = 0; i + 1 < static_cast<std::size_t>(N); ++i)
        q.thresholds[i] = (i + 1 == M) ? 0.0 : 0.5 * (q.levels[i] + q.levels[i + 1]);

    // Both halves contribute equally.
    double half = 0.0;
    for (std::size_t j = 0; j < M; ++j) {
        const double l = (j == 0) ? 0.0 : q.thresholds[M - 1 + j];
        const double u = (j + 1 < M) ? q.thresholds[M + j] : 1.0;
        half += f.central_second_moment(l, u, c[j]);
    }
    q.mse_per_coord = 2.0 * half;
    q.total_mse = d * q.mse_per_coord;
    return q;
}

BlockCodebook scalar_codebook(const ScalarQuantizer& q) {
    require(q.bits >= 1 && q.levels.size() == (std::size_t{1} << q.bits),
            "scalar_codebook: quantizer has " + std::to_string(q.levels.size()) +
                " levels for b = " + std::to_string(q.bits));
    BlockCodebook cb;
    cb.k = 1;
    cb.N = 1 << q.bits;
    cb.codewords = q.levels;
    return cb;
}

double marginal_second_moment(int d) {
    require(d >= 1, "marginal_second_moment: d must be >= 1, got " + std::to_string(d));
    return 1.0 / d;
}

}  // namespace fq::codecs

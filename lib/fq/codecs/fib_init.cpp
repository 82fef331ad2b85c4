#include "fq/codecs/fib_init.hpp"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <numbers>

#include "fq/core/error.hpp"
#include "fq/source/spherical_beta.hpp"

namespace fq::codecs {

namespace {

source::RadialLaw law(int d, int k, RadialInit radial) {
    return radial == RadialInit::source ? source::RadialLaw::source(d, k)
                                        : source::RadialLaw::companded(d, k);
}

void check(int d, int k, int N) {
    require(k >= 1 && k < d, "fib init: need 1 <= k < d, got k = " + std::to_string(k) +
                                 ", d = " + std::to_string(d));
    require(N >= 2, "fib init: need N >= 2 codewords, got " + std::to_string(N));
}

// 2 pi (1 - 1/phi): the golden angle.
const double k_golden_angle = 2.0 * std::numbers::pi * (1.0 - 1.0 / std::numbers::phi);

}  // namespace

const char* to_string(RadialInit r) {
    return r == RadialInit::source ? "source" : "companded";
}

RadialInit radial_init_from_string(const std::string& s) {
    if (s == "source") return RadialInit::source;
    if (s == "companded") return RadialInit::companded;
    throw UsageError("radial law: expected 'source' or 'companded', got '" + s + "'");
}

double roberts_phi(int dim) {
    // Newton on x^(dim+1) - x - 1 from x = 2 (the root lies in (1, 2], decreasing in dim).
    double x = 2.0;
    for (int it = 0; it < 100; ++it) {
        const double f = std::pow(x, dim + 1) - x - 1.0;
        const double df = (dim + 1) * std::pow(x, dim) - 1.0;
        const double nx = x - f / df;
        if (std::abs(nx - x) < 1e-16) return nx;
        x = nx;
    }
    return x;
}

BlockCodebook init_marginal(int d, int N, RadialInit radial) {
    check(d, 1, N);
    const auto rl = law(d, 1, radial);
    BlockCodebook cb{1, N, std::vector<double>(N)};
    for (int n = 0; n < N; ++n) {
        // P(t <= x) = 1/2 + sign(x) P(t^2 <= x^2) / 2, so the p-quantile of t is
        // sign(p - 1/2) * radius_quantile(|2p - 1|).
        const double p = (n + 0.5) / N;
        const double r = rl.radius_quantile(std::abs(2.0 * p - 1.0));
        cb.codewords[n] = p < 0.5 ? -r : r;
    }
    return cb;
}

BlockCodebook init_sunflower(int d, int N, RadialInit radial) {
    check(d, 2, N);
    const auto rl = law(d, 2, radial);
    BlockCodebook cb{2, N, std::vector<double>(2 * static_cast<std::size_t>(N))};
    for (int n = 0; n < N; ++n) {
        const double r = rl.radius_quantile((n + 0.5) / N);
        const double a = n * k_golden_angle;
        cb.codewords[2 * n] = r * std::cos(a);
        cb.codewords[2 * n + 1] = r * std::sin(a);
    }
    return cb;
}

BlockCodebook init_multishell(int d, int N, int L, RadialInit radial) {
    check(d, 3, N);
    require(L >= 1 && N % L == 0 && N / L >= 1,
            "fib init: shells L = " + std::to_string(L) + " must divide N = " + std::to_string(N));
    const auto rl = law(d, 3, radial);
    const int M = N / L;
    BlockCodebook cb{3, N, std::vector<double>(3 * static_cast<std::size_t>(N))};
    for (int l = 0; l < L; ++l) {
        const double r = rl.radius_quantile((l + 0.5) / L);
        for (int i = 0; i < M; ++i) {
            const double z = 1.0 - (2.0 * i + 1.0) / M;
            const double rho = std::sqrt(std::max(0.0, 1.0 - z * z));
            const double az = i * k_golden_angle;
            double* c = cb.codeword(l * M + i);
            c[0] = r * rho * std::cos(az);
            c[1] = r * rho * std::sin(az);
            c[2] = r * z;
        }
    }
    return cb;
}

BlockCodebook init_roberts_kronecker(int d, int k, int N, RadialInit radial) {
    check(d, k, N);
    const auto rl = law(d, k, radial);
    const int dim = k + 1;  // one radial coordinate, k directional ones
    const double phi = roberts_phi(dim);
    std::vector<double> alpha(dim);
    for (int j = 0; j < dim; ++j) alpha[j] = std::pow(phi, -(j + 1));
    const boost::math::normal_distribution<double> normal;
    BlockCodebook cb{k, N, std::vector<double>(static_cast<std::size_t>(k) * N)};
    for (int n = 0; n < N; ++n) {
        // Points n = 1..N: the point n = 0 is (1/2, ..., 1/2), whose direction is undefined.
        const double m = n + 1.0;
        auto t = [&](int j) {
            const double v = 0.5 + m * alpha[j];
            return v - std::floor(v);
        };
        const double r = rl.radius_quantile(t(0));
        double* c = cb.codeword(n);
        double norm2 = 0;
        for (int j = 0; j < k; ++j) {
            c[j] = boost::math::quantile(normal, std::clamp(t(j + 1), 1e-12, 1.0 - 1e-12));
            norm2 += c[j] * c[j];
        }
        const double s = norm2 > 0 ? r / std::sqrt(norm2) : 0.0;
        for (int j = 0; j < k; ++j) c[j] *= s;
    }
    return cb;
}

BlockCodebook init_structured(int d, int k, int N, RadialInit radial, int k3_shells,
                              std::string* name) {
    std::string label;
    BlockCodebook cb;
    if (k == 1) {
        cb = init_marginal(d, N, radial);
        label = "marginal-quantiles";
    } else if (k == 2) {
        cb = init_sunflower(d, N, radial);
        label = "sunflower";
    } else if (k == 3 && k3_shells > 0) {
        cb = init_multishell(d, N, k3_shells, radial);
        label = "multishell(L=" + std::to_string(k3_shells) +
                ",M=" + std::to_string(N / k3_shells) + ")";
    } else {
        cb = init_roberts_kronecker(d, k, N, radial);
        label = "roberts-kronecker";
    }
    if (name) *name = label + "/" + to_string(radial);
    return cb;
}

}  // namespace fq::codecs

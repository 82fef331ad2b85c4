// Tests of codecs/qjl: QjlCodec against a naive reference (S regenerated here from core::Rng,
// signs and header packed by hand), unbiasedness of the inner-product estimator and its
// closed-form variance (pi/2 ||x||^2 ||q||^2 - <q, x>^2) / m over fresh matrices S, exact code
// sizes, zero vectors, thread independence; ScalarQjlCodec's layout (scalar code, then the QJL
// code of the residual), its unbiasedness where the scalar codec alone is biased by the
// Lloyd-Max norm shrinkage E<z, Q(z)> = 1 - D_total.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "fq/codecs/block_vq.hpp"
#include "fq/codecs/qjl.hpp"
#include "fq/codecs/scalar.hpp"
#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"

#include "test_support.hpp"

using namespace fq;
using namespace fq::codecs;

namespace {

std::vector<float> gaussian(std::size_t n, int d, std::uint64_t seed, double scale = 1.0) {
    return fq::test::normal_array<float>(n * d, seed, 7, scale);
}

double dot(const float* a, const float* b, int d) {
    double s = 0;
    for (int j = 0; j < d; ++j) s += static_cast<double>(a[j]) * b[j];
    return s;
}

double header_norm(const float* x, int d) {  // ||x|| as the float16 header stores it
    return core::half_to_float(core::float_to_half(static_cast<float>(std::sqrt(dot(x, x, d)))));
}

struct Moments {
    double mean = 0, var = 0;
};
Moments moments(const std::vector<double>& z) {
    Moments m;
    for (double v : z) m.mean += v;
    m.mean /= static_cast<double>(z.size());
    for (double v : z) m.var += (v - m.mean) * (v - m.mean);
    m.var /= static_cast<double>(z.size() - 1);
    return m;
}

}  // namespace

TEST_SUITE("qjl") {
    TEST_CASE("code sizes are exact: 16-bit header + m sign bits") {
        const QjlCodec a(QjlParams{64, 0, 1});
        CHECK(a.projections() == 64);
        CHECK(a.code_bits() == 80.0);
        CHECK(a.code_bytes() == 10);
        CHECK(a.rate() == doctest::Approx(80.0 / 64));
        const QjlCodec b(QjlParams{64, 100, 1});
        CHECK(b.code_bits() == 116.0);
        CHECK(b.code_bytes() == 15);
        CHECK_THROWS_AS(QjlCodec(QjlParams{0, 0, 1}), UsageError);
    }

    TEST_CASE("encode and decode equal the naive reference") {
        const int d = 32, m = 48;
        const std::uint64_t seed = 99;
        const QjlCodec c(QjlParams{d, m, seed});
        // S regenerated plainly: m x d normals, row-major, from Rng(seed, 0).
        std::vector<double> S(static_cast<std::size_t>(m) * d);
        core::Rng rng(seed, 0);
        for (auto& v : S) v = rng.normal();
        const std::size_t n = 50;
        const auto x = gaussian(n, d, 5, 3.0);
        std::vector<std::uint8_t> codes(n * c.code_bytes());
        c.encode(x.data(), n, codes.data());
        std::vector<float> y(n * d);
        c.decode(codes.data(), n, y.data());
        for (std::size_t v = 0; v < n; ++v) {
            const float* xv = &x[v * d];
            std::vector<std::uint8_t> ref(c.code_bytes(), 0);
            const std::uint16_t h =
                core::float_to_half(static_cast<float>(std::sqrt(dot(xv, xv, d))));
            ref[0] = static_cast<std::uint8_t>(h & 0xFF);
            ref[1] = static_cast<std::uint8_t>(h >> 8);
            std::vector<double> sign(m);
            for (int i = 0; i < m; ++i) {
                double s = 0;
                for (int j = 0; j < d; ++j) s += S[i * d + j] * xv[j];
                sign[i] = s >= 0 ? 1.0 : -1.0;
                if (s >= 0) ref[2 + i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
            }
            CHECK(std::vector<std::uint8_t>(codes.begin() + v * c.code_bytes(),
                                            codes.begin() + (v + 1) * c.code_bytes()) == ref);
            const double nu = core::half_to_float(h);
            for (int j = 0; j < d; ++j) {
                double s = 0;
                for (int i = 0; i < m; ++i) s += S[i * d + j] * sign[i];
                const double want = nu * std::sqrt(std::numbers::pi / 2) / m * s;
                CHECK(y[v * d + j] == doctest::Approx(want).epsilon(1e-5));
            }
        }
    }

    TEST_CASE(
        "the inner-product estimator is unbiased with variance (pi/2 |x|^2 |q|^2 - <q,x>^2)/m") {
        // One fresh S (seed) per pair: unbiasedness and the variance are over S. Pairs are
        // correlated (q = a x / |x| + noise) so that the <q, x>^2 term matters.
        const int d = 64, m = 64, trials = 3000;
        std::vector<double> z(trials), zq(trials);
        double closed_qx = 0;
        core::Rng rng(2024, 1);
        for (int t = 0; t < trials; ++t) {
            const QjlCodec c(QjlParams{d, m, 1000u + static_cast<std::uint64_t>(t)});
            std::vector<float> x(d), q(d);
            const double sx = std::exp(rng.normal());
            for (auto& v : x) v = static_cast<float>(sx * rng.normal());
            const double a = 2 * rng.uniform() - 1, nx = std::sqrt(dot(x.data(), x.data(), d));
            for (int j = 0; j < d; ++j)
                q[j] = static_cast<float>(3.0 * a * x[j] / nx + 0.3 * rng.normal());
            std::vector<std::uint8_t> code(c.code_bytes());
            c.encode(x.data(), 1, code.data());
            double est = 0;
            c.estimate_inner_products(q.data(), 1, code.data(), 1, &est);
            // The estimator targets <q, x> scaled by the header rounding nu16 / |x|.
            const double nu16 = header_norm(x.data(), d);
            const double ip = nu16 / nx * dot(q.data(), x.data(), d);
            const double qq = dot(q.data(), q.data(), d);
            const double var = (std::numbers::pi / 2 * nu16 * nu16 * qq - ip * ip) / m;
            z[t] = (est - ip) / std::sqrt(var);
            // q = x: Var = (pi/2 - 1) |x|^4 / m, relative to |x|^2.
            c.estimate_inner_products(x.data(), 1, code.data(), 1, &est);
            const double xx = nu16 * nx;
            zq[t] = (est - xx) / xx;
            closed_qx = (std::numbers::pi / 2 - 1) / m;
        }
        const Moments mz = moments(z), mq = moments(zq);
        MESSAGE("normalised error: mean " << mz.mean << " (SE " << 1 / std::sqrt(trials)
                                          << "), variance / closed form " << mz.var);
        MESSAGE("q = x: relative error mean " << mq.mean << ", variance " << mq.var
                                              << " vs closed form " << closed_qx);
        CHECK(std::fabs(mz.mean) < 3 / std::sqrt(static_cast<double>(trials)));
        CHECK(mz.var == doctest::Approx(1.0).epsilon(0.10));
        CHECK(std::fabs(mq.mean) < 3 * std::sqrt(mq.var / trials));
        CHECK(mq.var == doctest::Approx(closed_qx).epsilon(0.10));
    }

    TEST_CASE("a zero vector decodes to zero and estimates 0") {
        const QjlCodec c(QjlParams{16, 0, 3});
        std::vector<float> x(16, 0.0f), y(16, 1.0f), q(16, 1.0f);
        std::vector<std::uint8_t> code(c.code_bytes());
        c.encode(x.data(), 1, code.data());
        c.decode(code.data(), 1, y.data());
        for (float v : y) CHECK(v == 0.0f);
        double est = 1;
        c.estimate_inner_products(q.data(), 1, code.data(), 1, &est);
        CHECK(est == 0.0);
    }

    TEST_CASE("codes and estimates do not depend on the thread count") {
        const QjlCodec c(QjlParams{64, 0, 5});
        const std::size_t n = 1000;
        const auto x = gaussian(n, 64, 8);
        const std::size_t cb = c.code_bytes();
        const auto out = fq::test::codes_per_thread_count(c, x.data(), n, 64);
        CHECK(out[0] == out[1]);
        std::vector<std::uint8_t> serial(n * cb);
        c.encode(x.data(), n, serial.data());
        CHECK(serial == out[0]);
    }
}

TEST_SUITE("scalar_qjl") {
    TEST_CASE("code = (b-1)-bit scalar code, then the QJL code of the residual, exact sizes") {
        const int d = 64, b = 3;
        ScalarQjlParams p;
        p.d = d;
        p.bits = b;
        p.rotation = core::RotationKind::haar;
        p.rotation_seed = 4;
        p.qjl_seed = 9;
        const ScalarQjlCodec c(p);
        CHECK(c.code_bits() == 16 + 64 * 2 + 16 + 64);  // 224 bits: rate 3.5
        CHECK(c.code_bytes() == 18 + 10);
        CHECK(c.params().levels.N == 4);
        BlockVqSpec spec;
        spec.d = d;
        spec.main = scalar_codebook(lloyd_max_scalar(d, b - 1));
        spec.rotation = core::RotationKind::haar;
        spec.rotation_seed = 4;
        const BlockVqCodec scalar("scalar", spec);
        const QjlCodec qjl(QjlParams{d, 0, 9});
        const std::size_t n = 40;
        const auto x = gaussian(n, d, 12, 2.0);
        std::vector<std::uint8_t> codes(n * c.code_bytes());
        c.encode(x.data(), n, codes.data());
        std::vector<float> y(n * d);
        c.decode(codes.data(), n, y.data());
        for (std::size_t v = 0; v < n; ++v) {
            std::vector<std::uint8_t> sc(scalar.code_bytes()), qc(qjl.code_bytes());
            scalar.encode(&x[v * d], 1, sc.data());
            std::vector<float> xs(d), r(d), rh(d);
            scalar.decode(sc.data(), 1, xs.data());
            for (int j = 0; j < d; ++j) r[j] = x[v * d + j] - xs[j];
            qjl.encode(r.data(), 1, qc.data());
            const std::uint8_t* code = &codes[v * c.code_bytes()];
            CHECK(std::vector<std::uint8_t>(code, code + sc.size()) == sc);
            CHECK(std::vector<std::uint8_t>(code + sc.size(), code + c.code_bytes()) == qc);
            qjl.decode(qc.data(), 1, rh.data());
            for (int j = 0; j < d; ++j)
                CHECK(y[v * d + j] == doctest::Approx(xs[j] + rh[j]).epsilon(1e-6));
        }
        p.bits = 1;
        CHECK_THROWS_AS(ScalarQjlCodec{p}, UsageError);
    }

    TEST_CASE("scalar+qjl is unbiased for <x, x>, the scalar codec alone is biased by -D_total") {
        const int d = 64, trials = 2000;
        const ScalarQuantizer q1 = lloyd_max_scalar(d, 1), q2 = lloyd_max_scalar(d, 2);
        BlockVqSpec spec;
        spec.d = d;
        spec.main = scalar_codebook(q2);
        spec.rotation = core::RotationKind::hadamard;
        spec.rotation_seed = 3;
        const BlockVqCodec scalar2("scalar", spec);  // b = 2, alone
        std::vector<double> e_prod(trials), e_scalar(trials), z_prod(trials);
        core::Rng rng(77, 0);
        for (int t = 0; t < trials; ++t) {
            ScalarQjlParams p;
            p.d = d;
            p.bits = 2;
            p.rotation_seed = 3;
            p.qjl_seed = 5000u + static_cast<std::uint64_t>(t);  // fresh S per trial
            p.levels = scalar_codebook(q1);
            const ScalarQjlCodec c(p);
            std::vector<float> x(d);
            const double sx = std::exp(rng.normal());
            for (auto& v : x) v = static_cast<float>(sx * rng.normal());
            const double xx = dot(x.data(), x.data(), d);
            std::vector<std::uint8_t> code(c.code_bytes()), sc(scalar2.code_bytes());
            c.encode(x.data(), 1, code.data());
            double est = 0;
            c.estimate_inner_products(x.data(), 1, code.data(), 1, &est);
            e_prod[t] = (est - xx) / xx;
            // Normalised by the closed form of the QJL stage on the residual r = x - x_hat_s:
            // Var = (pi/2 |r|^2 |x|^2 - <x, r>^2) / m, header |r| rounded to float16.
            std::vector<float> xh(d), r(d);
            c.scalar().decode(code.data(), 1, xh.data());
            for (int j = 0; j < d; ++j) r[j] = x[j] - xh[j];
            const double nr = std::sqrt(dot(r.data(), r.data(), d)),
                         nr16 = header_norm(r.data(), d);
            const double ip = dot(x.data(), xh.data(), d) + nr16 / nr * dot(x.data(), r.data(), d);
            const double xr = nr16 / nr * dot(x.data(), r.data(), d);
            z_prod[t] =
                (est - ip) / std::sqrt((std::numbers::pi / 2 * nr16 * nr16 * xx - xr * xr) / d);
            std::vector<float> xs(d);
            scalar2.encode(x.data(), 1, sc.data());
            scalar2.decode(sc.data(), 1, xs.data());
            e_scalar[t] = (dot(x.data(), xs.data(), d) - xx) / xx;
        }
        const Moments mp = moments(e_prod), ms = moments(e_scalar), mz = moments(z_prod);
        MESSAGE("scalar+qjl b=2: normalised error mean " << mz.mean << ", variance / closed form "
                                                         << mz.var);
        CHECK(std::fabs(mz.mean) < 3 / std::sqrt(static_cast<double>(trials)));
        CHECK(mz.var == doctest::Approx(1.0).epsilon(0.10));
        const double se_p = std::sqrt(mp.var / trials), se_s = std::sqrt(ms.var / trials);
        MESSAGE("scalar+qjl b=2: relative error mean " << mp.mean << " (SE " << se_p << ")");
        MESSAGE("scalar b=2: relative error mean "
                << ms.mean << " (SE " << se_s << "), closed form -D_total = " << -q2.total_mse);
        // The header's float16 rounding shifts the relative error by < 2^-11 per vector.
        CHECK(std::fabs(mp.mean) < 3 * se_p + 5e-4);
        CHECK(std::fabs(ms.mean) > 5 * se_s);
        CHECK(std::fabs(ms.mean + q2.total_mse) < 3 * se_s + 5e-4);
    }

    TEST_CASE("codes do not depend on the thread count") {
        ScalarQjlParams p;
        p.d = 64;
        p.bits = 4;
        const ScalarQjlCodec c(p);
        const std::size_t n = 600;
        const auto x = gaussian(n, 64, 31);
        const auto out = fq::test::codes_per_thread_count(c, x.data(), n, 50);
        CHECK(out[0] == out[1]);
    }
}

#include "fq/codecs/qjl.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <string>

#include "fq/codecs/scalar.hpp"
#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/core/rng.hpp"

namespace fq::codecs {

namespace {

const double k_sqrt_half_pi = std::sqrt(std::numbers::pi / 2.0);

void put_header(double nu, std::uint8_t* code) {
    const std::uint16_t h = core::float_to_half(static_cast<float>(nu));
    if (std::isinf(core::half_to_float(h)))
        throw NumericError("qjl: norm " + std::to_string(nu) + " overflows the float16 header");
    code[0] = static_cast<std::uint8_t>(h & 0xFF);
    code[1] = static_cast<std::uint8_t>(h >> 8);
}

double get_header(const std::uint8_t* code) {
    return core::half_to_float(static_cast<std::uint16_t>(code[0] | (code[1] << 8)));
}

bool sign_bit(const std::uint8_t* code, int i) {
    return (code[2 + i / 8] >> (i % 8)) & 1;
}

BlockVqCodec make_scalar_stage(ScalarQjlParams& p) {
    require(p.d >= 3, "scalar+qjl: need d >= 3");
    require(
        p.bits >= 2 && p.bits <= 9,
        "scalar+qjl: need 2 <= bits <= 9 (bits = 1 is plain qjl), got " + std::to_string(p.bits));
    if (p.levels.N == 0) p.levels = scalar_codebook(lloyd_max_scalar(p.d, p.bits - 1));
    require(p.levels.k == 1 && p.levels.N == (1 << (p.bits - 1)),
            "scalar+qjl: the scalar levels must be k = 1, N = 2^(bits-1)");
    BlockVqSpec spec;
    spec.d = p.d;
    spec.main = p.levels;
    spec.rotation = p.rotation;
    spec.rotation_seed = p.rotation_seed;
    return BlockVqCodec("scalar", std::move(spec));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// QjlCodec

QjlCodec::QjlCodec(QjlParams params) : m_params(params) {
    require(m_params.d >= 1, "qjl: need d >= 1");
    require(m_params.m >= 0, "qjl: need m >= 0 (0 means m = d)");
    m_m = m_params.m == 0 ? m_params.d : m_params.m;
    m_bytes = 2 + (static_cast<std::size_t>(m_m) + 7) / 8;
    const std::size_t d = static_cast<std::size_t>(m_params.d);
    m_s.resize(static_cast<std::size_t>(m_m) * d);
    core::Rng rng(m_params.seed, 0);
    for (double& v : m_s) v = rng.normal();
}

void QjlCodec::project(const float* q, double* sq) const {
    const int d = m_params.d;
    for (int i = 0; i < m_m; ++i) {
        const double* row = &m_s[static_cast<std::size_t>(i) * d];
        double s = 0;
        for (int j = 0; j < d; ++j) s += row[j] * q[j];
        sq[i] = s;
    }
}

void QjlCodec::encode(const float* x, std::size_t n, std::uint8_t* codes) const {
    const int d = m_params.d;
    std::vector<double> sx(m_m);
    for (std::size_t v = 0; v < n; ++v) {
        const float* xv = x + v * d;
        std::uint8_t* code = codes + v * m_bytes;
        double nn = 0;
        for (int j = 0; j < d; ++j) nn += static_cast<double>(xv[j]) * xv[j];
        if (!std::isfinite(nn)) throw NumericError("qjl: non-finite input vector");
        std::memset(code, 0, m_bytes);
        put_header(std::sqrt(nn), code);
        project(xv, sx.data());
        for (int i = 0; i < m_m; ++i)
            if (sx[i] >= 0) code[2 + i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
    }
}

void QjlCodec::decode(const std::uint8_t* codes, std::size_t n, float* x) const {
    const int d = m_params.d;
    std::vector<double> acc(d);
    for (std::size_t v = 0; v < n; ++v) {
        const std::uint8_t* code = codes + v * m_bytes;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int i = 0; i < m_m; ++i) {
            const double* row = &m_s[static_cast<std::size_t>(i) * d];
            if (sign_bit(code, i))
                for (int j = 0; j < d; ++j) acc[j] += row[j];
            else
                for (int j = 0; j < d; ++j) acc[j] -= row[j];
        }
        const double c = get_header(code) * k_sqrt_half_pi / m_m;
        for (int j = 0; j < d; ++j) x[v * d + j] = static_cast<float>(c * acc[j]);
    }
}

double QjlCodec::estimate(const double* sq, const std::uint8_t* code) const {
    double s = 0;
    for (int i = 0; i < m_m; ++i) s += sign_bit(code, i) ? sq[i] : -sq[i];
    return get_header(code) * k_sqrt_half_pi / m_m * s;
}

void QjlCodec::estimate_inner_products(const float* q, std::size_t nq, const std::uint8_t* codes,
                                       std::size_t n, double* out) const {
    std::vector<double> sq(m_m);
    for (std::size_t a = 0; a < nq; ++a) {
        project(q + a * m_params.d, sq.data());
        for (std::size_t b = 0; b < n; ++b)
            out[a * n + b] = estimate(sq.data(), codes + b * m_bytes);
    }
}

// ---------------------------------------------------------------------------------------------
// ScalarQjlCodec

ScalarQjlCodec::ScalarQjlCodec(ScalarQjlParams params)
    : m_params(std::move(params)),
      m_scalar(make_scalar_stage(m_params)),
      m_qjl(QjlParams{m_params.d, m_params.m, m_params.qjl_seed}) {}

void ScalarQjlCodec::encode(const float* x, std::size_t n, std::uint8_t* codes) const {
    const int d = m_params.d;
    const std::size_t sb = m_scalar.code_bytes(), qb = m_qjl.code_bytes(), cb = sb + qb;
    std::vector<std::uint8_t> sc(sb);
    std::vector<float> r(d);
    for (std::size_t v = 0; v < n; ++v) {
        const float* xv = x + v * d;
        std::uint8_t* code = codes + v * cb;
        m_scalar.encode(xv, 1, code);
        // The residual is taken against what the decoder will reconstruct.
        m_scalar.decode(code, 1, r.data());
        for (int j = 0; j < d; ++j) r[j] = xv[j] - r[j];
        m_qjl.encode(r.data(), 1, code + sb);
    }
}

void ScalarQjlCodec::decode(const std::uint8_t* codes, std::size_t n, float* x) const {
    const int d = m_params.d;
    const std::size_t sb = m_scalar.code_bytes(), cb = code_bytes();
    std::vector<float> r(d);
    for (std::size_t v = 0; v < n; ++v) {
        const std::uint8_t* code = codes + v * cb;
        m_scalar.decode(code, 1, x + v * d);
        m_qjl.decode(code + sb, 1, r.data());
        for (int j = 0; j < d; ++j) x[v * d + j] += r[j];
    }
}

void ScalarQjlCodec::estimate_inner_products(const float* q, std::size_t nq,
                                             const std::uint8_t* codes, std::size_t n,
                                             double* out) const {
    const int d = m_params.d;
    const std::size_t sb = m_scalar.code_bytes(), cb = code_bytes();
    std::vector<float> xs(d);
    std::vector<double> sq(static_cast<std::size_t>(m_qjl.projections()) * nq);
    for (std::size_t a = 0; a < nq; ++a) m_qjl.project(q + a * d, &sq[a * m_qjl.projections()]);
    for (std::size_t b = 0; b < n; ++b) {
        const std::uint8_t* code = codes + b * cb;
        m_scalar.decode(code, 1, xs.data());
        for (std::size_t a = 0; a < nq; ++a) {
            const float* qa = q + a * d;
            double s = 0;
            for (int j = 0; j < d; ++j) s += static_cast<double>(qa[j]) * xs[j];
            out[a * n + b] = s + m_qjl.estimate(&sq[a * m_qjl.projections()], code + sb);
        }
    }
}

}  // namespace fq::codecs

// QjlCodec and ScalarQjlCodec: the 1-bit quantized Johnson-Lindenstrauss transform and
// TurboQuant-prod (SPEC 4.3).
//
// QJL. S is an m x d matrix of i.i.d. N(0, 1) entries, drawn row-major from
// core::Rng(seed, 0).normal() (regenerated from the seed at decode time). For x in R^d:
//   code            = float16(||x||), then the m bits sign(S x) (bit 1 for (S x)_i >= 0);
//   reconstruction  x_hat = ||x|| sqrt(pi/2) / m * S^T sign(S x),
//   inner product   <q, x> ~ ||x|| sqrt(pi/2) / m * <S q, sign(S x)>.
// For a row s ~ N(0, I): E[sign(s.x) (s.q)] = sqrt(2/pi) <q, x> / ||x|| and
// E[(s.q)^2] = ||q||^2, so the estimator is unbiased over S and its variance is
//   Var = (pi/2 ||x||^2 ||q||^2 - <q, x>^2) / m.
// (Unbiased up to the float16 rounding of the header: it estimates nu_16 / ||x|| <q, x>.)
// A zero vector is coded with header 0 and decodes to zero.
//
// scalar+qjl (TurboQuant-prod) at a total budget of b >= 2 bits per coordinate: the
// (b-1)-bit `scalar` codec (a BlockVqCodec with the exact Lloyd-Max levels, codecs/scalar.hpp,
// and a haar or hadamard rotation, float16 norm header), then QJL (m = d by default) on the
// residual r = x - x_hat_scalar with its own float16 header ||r||:
//   code            = scalar code bytes, then the QJL code bytes of r;
//   reconstruction  x_hat = x_hat_scalar + r_hat_qjl;
//   inner product   <q, x> ~ <q, x_hat_scalar> + ||r|| sqrt(pi/2) / m <S q, sign(S r)>,
// unbiased (the scalar part is exact, the QJL part unbiased for r). b = 1 is plain `qjl`
// (no scalar stage): use QjlCodec.
//
// Rates (exact): qjl 16 + m bits per vector; scalar+qjl 16 + (b-1) d + 16 + m bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fq/codecs/block_vq.hpp"
#include "fq/codecs/codebook.hpp"
#include "fq/codecs/codec.hpp"
#include "fq/core/rotation.hpp"

namespace fq::codecs {

struct QjlParams {
    int d = 0;               // vector dimension, >= 1
    int m = 0;               // projections (sign bits); 0 means m = d
    std::uint64_t seed = 1;  // seed of S (core::Rng(seed, 0))
};

class QjlCodec : public Codec, public InnerProductEstimator {
public:
    // Throws UsageError unless d >= 1 and m >= 0.
    explicit QjlCodec(QjlParams params);

    std::string family() const override { return "qjl"; }
    int dim() const override { return m_params.d; }
    std::size_t code_bytes() const override { return m_bytes; }
    double code_bits() const override { return 16.0 + m_m; }
    double side_bits() const override { return 16.0; }  // the float16 norm
    void encode(const float* x, std::size_t n, std::uint8_t* codes) const override;
    void decode(const std::uint8_t* codes, std::size_t n, float* x) const override;
    const InnerProductEstimator* inner_product_estimator() const override { return this; }
    void estimate_inner_products(const float* q, std::size_t nq, const std::uint8_t* codes,
                                 std::size_t n, double* out) const override;

    const QjlParams& params() const { return m_params; }  // as given (m may be 0)
    int projections() const { return m_m; }               // m actually used
    // S: (m, d) row-major double.
    const std::vector<double>& matrix() const { return m_s; }
    // S q for one query q: (d) float -> sq: (m) double.
    void project(const float* q, double* sq) const;
    // The QJL estimate ||x|| sqrt(pi/2)/m <sq, sign(S x)> for one code and sq = S q.
    double estimate(const double* sq, const std::uint8_t* code) const;

private:
    QjlParams m_params;
    int m_m = 0;
    std::size_t m_bytes = 0;
    std::vector<double> m_s;  // (m, d)
};

struct ScalarQjlParams {
    int d = 0;                                                   // vector dimension, >= 3
    int bits = 2;                                                // total budget b >= 2
    core::RotationKind rotation = core::RotationKind::hadamard;  // Pi (hadamard: d = 2^j)
    std::uint64_t rotation_seed = 1;                             // seed of Pi
    std::uint64_t qjl_seed = 2;                                  // seed of S
    int m = 0;                                                   // QJL projections, 0 = d
    // Scalar levels (k = 1, N = 2^(b-1)); empty (N = 0) = the exact Lloyd-Max levels
    // lloyd_max_scalar(d, b - 1), computed by the constructor.
    BlockCodebook levels;
};

class ScalarQjlCodec : public Codec, public InnerProductEstimator {
public:
    // Throws UsageError unless d >= 3, bits >= 2 (bits - 1 <= 8) and the levels fit.
    explicit ScalarQjlCodec(ScalarQjlParams params);

    std::string family() const override { return "scalar+qjl"; }
    int dim() const override { return m_params.d; }
    std::size_t code_bytes() const override { return m_scalar.code_bytes() + m_qjl.code_bytes(); }
    double code_bits() const override { return m_scalar.code_bits() + m_qjl.code_bits(); }
    double side_bits() const override { return m_scalar.side_bits() + m_qjl.side_bits(); }
    void encode(const float* x, std::size_t n, std::uint8_t* codes) const override;
    void decode(const std::uint8_t* codes, std::size_t n, float* x) const override;
    const InnerProductEstimator* inner_product_estimator() const override { return this; }
    void estimate_inner_products(const float* q, std::size_t nq, const std::uint8_t* codes,
                                 std::size_t n, double* out) const override;

    const ScalarQjlParams& params() const { return m_params; }  // levels filled in
    const BlockVqCodec& scalar() const { return m_scalar; }     // the (b-1)-bit stage
    const QjlCodec& qjl() const { return m_qjl; }               // the residual stage

private:
    ScalarQjlParams m_params;
    BlockVqCodec m_scalar;
    QjlCodec m_qjl;
};

}  // namespace fq::codecs

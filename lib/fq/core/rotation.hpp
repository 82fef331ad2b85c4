// Rotation: the shared orthogonal transform Pi applied to unit directions before block
// quantization (SPEC 3). Regenerated from (kind, d, seed) at decode time; checksum()
// fingerprints the generated transform so that a file made on another platform whose
// regeneration differs is detected rather than silently mis-decoded.
//
//  - none:     identity.
//  - haar:     Pi = Q, z = Q x, where A = Q R is the QR factorisation of a d x d matrix A of
//              standard normals drawn row-major from core::Rng(seed, 0), with the columns of
//              Q flipped so that diag(R) > 0 (this makes Q exactly Haar distributed).
//              Householder QR in double, plain loops, no BLAS: bit-reproducible.
//  - hadamard: randomized Walsh-Hadamard Pi = H D3 H D2 H D1 / d^(3/2), D_i diagonal random
//              signs drawn from core::Rng(seed, 0) (D1 first), H the unnormalised
//              Sylvester-Hadamard matrix; d must be a power of two. O(d log d).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fq::core {

enum class RotationKind { none, haar, hadamard };

const char* to_string(RotationKind kind);
RotationKind rotation_kind_from_string(const std::string& name);  // throws UsageError

class Rotation {
public:
    Rotation() = default;
    Rotation(RotationKind kind, int d, std::uint64_t seed);

    RotationKind kind() const { return m_kind; }
    int dim() const { return m_d; }
    std::uint64_t seed() const { return m_seed; }

    // Haar products are plain loops accumulating each output over j = 0..d-1 in order (no
    // BLAS), so a vector's result is bit-identical whatever n, the batch it sits in, the SIMD
    // width or the machine. Not parallel: callers split batches with core::parallel_chunks.
    // Hadamard works in double internally, also for float input.
    //
    // z = Pi x for n vectors. x, z: (n, d) row-major float; x == z allowed.
    void forward(const float* x, std::size_t n, float* z) const;
    // x = Pi^T z for n vectors. z, x: (n, d) row-major float; x == z allowed.
    void inverse(const float* z, std::size_t n, float* x) const;
    // Double-precision versions (used by training and tests).
    void forward(const double* x, std::size_t n, double* z) const;
    void inverse(const double* z, std::size_t n, double* x) const;

    // Dense matrix Pi: (d, d) row-major double (generated on demand for hadamard/none).
    std::vector<double> matrix() const;
    // Hex SHA-256 (first 16 hex digits) of the d*d entries of matrix() as little-endian
    // IEEE doubles, row-major.
    std::string checksum() const;

private:
    RotationKind m_kind = RotationKind::none;
    int m_d = 0;
    std::uint64_t m_seed = 0;
    std::vector<double> m_q;        // haar: (d, d) row-major double
    std::vector<float> m_qf;        // haar: float copy for fast batched products
    std::vector<double> m_qt;       // haar: Pi^T, (d, d) row-major double (forward's operand)
    std::vector<float> m_qtf;       // haar: float copy of m_qt
    std::vector<float> m_signs[3];  // hadamard: D1, D2, D3 as +-1
};

}  // namespace fq::core

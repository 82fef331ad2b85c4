#include "fq/core/rotation.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "fq/core/error.hpp"
#include "fq/core/rng.hpp"
#include "fq/core/sha256.hpp"
#include "fq/core/simd_types.hpp"

namespace fq::core {

namespace {

// out[r] = M^T x[r] with M row-major (d, d): out[r][i] = sum_j M[j][i] x[r][j], each sum
// accumulated in order j = 0..d-1. Vectorises over i without reordering any sum, so it is
// as reproducible as the scalar loop; four vectors share each pass over M (about Eigen's
// GEMM speed at d = 64..128). Rows are written only after being read, so x == out is fine.
template <class T>
void apply_transposed(const T* m, int d, const T* x, std::size_t n, T* out) {
    const auto du = static_cast<std::size_t>(d);
    constexpr std::size_t k_group = 4;
    std::vector<T> acc(k_group * du);
    std::size_t r = 0;
    for (; r + k_group <= n; r += k_group) {
        std::fill(acc.begin(), acc.end(), T(0));
        const T* x0 = x + r * du;
        T* c0 = acc.data();
        T* c1 = c0 + du;
        T* c2 = c1 + du;
        T* c3 = c2 + du;
        for (std::size_t j = 0; j < du; ++j) {
            const T* row = m + j * du;
            const T a0 = x0[j], a1 = x0[du + j], a2 = x0[2 * du + j], a3 = x0[3 * du + j];
            for (std::size_t i = 0; i < du; ++i) {
                const T v = row[i];
                c0[i] += a0 * v;
                c1[i] += a1 * v;
                c2[i] += a2 * v;
                c3[i] += a3 * v;
            }
        }
        std::memcpy(out + r * du, acc.data(), sizeof(T) * k_group * du);
    }
    for (; r < n; ++r) {
        std::fill(acc.begin(), acc.begin() + static_cast<std::ptrdiff_t>(du), T(0));
        const T* xr = x + r * du;
        for (std::size_t j = 0; j < du; ++j) {
            const T* row = m + j * du;
            const T a = xr[j];
            for (std::size_t i = 0; i < du; ++i) acc[i] += a * row[i];
        }
        std::memcpy(out + r * du, acc.data(), sizeof(T) * du);
    }
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define FQ_ROTATION_FAST_PATH 1
// Fast path for the float haar product (the codec's hot spot: a dense d x d product costs
// about as much as the whole rest of encode or decode at d = 128). Why it is faster than
// apply_transposed: a tile of k_tile vectors x k_cols outputs stays in registers over the
// whole j loop instead of being re-loaded and re-stored for every j, and the widest SIMD the
// CPU has is chosen at run time (the build itself stays baseline x86-64). Why it gives the
// same bits: every output is still 0 + x[0] M[0][i] + x[1] M[1][i] + ... in order
// j = 0..d-1, each product and each sum a separately rounded float operation (the build has
// -ffp-contract=off, so no FMA in any variant); SIMD only computes several such independent
// sums side by side, so the result does not depend on the variant or on the batch size.
using simd::VecF16;
using simd::VecF4;
using simd::VecF8;

// 8 vectors x 1 register of outputs: 8 independent sums per column block, whose 128 rows of
// M (8 KB at d = 128) stay in L1 across the tile (measured at d = 128, AVX-512: 84 GFLOP/s
// against 62 for 4 x 2; 12 x 1 is no faster, 16 x 1 spills).
constexpr std::size_t k_tile = 8;  // vectors per tile
constexpr int k_cols = 1;          // SIMD registers of outputs per vector

// out[r] = M^T x[r] for r < n, with n <= k_tile; xin holds the k_tile input rows (unused
// rows zero), so in-place use (x == out) is handled by the caller's copy.
template <class V>
[[gnu::always_inline]] inline void rotate_tile(const float* m, std::size_t du, const float* xin,
                                               std::size_t n, float* out) {
    constexpr std::size_t w = sizeof(V) / sizeof(float);
    constexpr std::size_t step = w * k_cols;
    std::size_t i0 = 0;
    for (; i0 + step <= du; i0 += step) {
        V acc[k_tile][k_cols] = {};
        for (std::size_t j = 0; j < du; ++j) {
            V row[k_cols];
            for (int c = 0; c < k_cols; ++c)
                __builtin_memcpy(&row[c], m + j * du + i0 + c * w, sizeof(V));
            for (std::size_t r = 0; r < k_tile; ++r) {
                const float a = xin[r * du + j];
                for (int c = 0; c < k_cols; ++c) acc[r][c] = acc[r][c] + a * row[c];
            }
        }
        for (std::size_t r = 0; r < n; ++r)
            for (int c = 0; c < k_cols; ++c)
                __builtin_memcpy(out + r * du + i0 + c * w, &acc[r][c], sizeof(V));
    }
    // Columns left over when d is not a multiple of step: the same sums, one at a time.
    for (; i0 < du; ++i0) {
        for (std::size_t r = 0; r < n; ++r) {
            float acc = 0.0f;
            for (std::size_t j = 0; j < du; ++j) acc += xin[r * du + j] * m[j * du + i0];
            out[r * du + i0] = acc;
        }
    }
}

template <class V>
[[gnu::always_inline]] inline void rotate_all(const float* m, int d, const float* x, std::size_t n,
                                              float* out) {
    const auto du = static_cast<std::size_t>(d);
    std::vector<float> xin(k_tile * du);
    for (std::size_t r = 0; r < n; r += k_tile) {
        const std::size_t t = std::min(k_tile, n - r);
        std::memcpy(xin.data(), x + r * du, sizeof(float) * t * du);
        if (t < k_tile)
            std::fill(xin.begin() + static_cast<std::ptrdiff_t>(t * du), xin.end(), 0.0f);
        rotate_tile<V>(m, du, xin.data(), t, out + r * du);
    }
}

__attribute__((target("avx512f"))) void rotate_avx512(const float* m, int d, const float* x,
                                                      std::size_t n, float* out) {
    rotate_all<VecF16>(m, d, x, n, out);
}
__attribute__((target("avx2"))) void rotate_avx2(const float* m, int d, const float* x,
                                                 std::size_t n, float* out) {
    rotate_all<VecF8>(m, d, x, n, out);
}
void rotate_sse2(const float* m, int d, const float* x, std::size_t n, float* out) {
    rotate_all<VecF4>(m, d, x, n, out);
}

using RotateFn = void (*)(const float*, int, const float*, std::size_t, float*);
RotateFn pick_rotate() {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return rotate_avx512;
    if (__builtin_cpu_supports("avx2")) return rotate_avx2;
    return rotate_sse2;
}
#endif

void apply_transposed_f(const float* m, int d, const float* x, std::size_t n, float* out) {
#ifdef FQ_ROTATION_FAST_PATH
    static const RotateFn fn = pick_rotate();
    fn(m, d, x, n, out);
#else
    apply_transposed(m, d, x, n, out);
#endif
}

// In-place unnormalised fast Walsh-Hadamard transform (Sylvester ordering), d a power of 2.
void fwht(double* v, int d) {
    for (int h = 1; h < d; h *= 2) {
        for (int i = 0; i < d; i += 2 * h) {
            for (int j = i; j < i + h; ++j) {
                const double a = v[j];
                const double b = v[j + h];
                v[j] = a + b;
                v[j + h] = a - b;
            }
        }
    }
}

void scale_signs(double* v, const std::vector<float>& s) {
    for (std::size_t i = 0; i < s.size(); ++i) v[i] *= static_cast<double>(s[i]);
}

// Pi = H D3 H D2 H D1 / d^(3/2) and Pi^T = D1 H D2 H D3 H / d^(3/2) (H is symmetric).
template <class T>
void hadamard_batch(const std::vector<float> (&signs)[3], int d, const T* x, std::size_t n, T* out,
                    bool transpose) {
    const auto du = static_cast<std::size_t>(d);
    const double scale = 1.0 / (static_cast<double>(d) * std::sqrt(static_cast<double>(d)));
    std::vector<double> v(du);
    for (std::size_t r = 0; r < n; ++r) {
        for (std::size_t i = 0; i < du; ++i) v[i] = static_cast<double>(x[r * du + i]);
        if (!transpose) {
            for (int s = 0; s < 3; ++s) {
                scale_signs(v.data(), signs[s]);
                fwht(v.data(), d);
            }
        } else {
            for (int s = 2; s >= 0; --s) {
                fwht(v.data(), d);
                scale_signs(v.data(), signs[s]);
            }
        }
        for (std::size_t i = 0; i < du; ++i) out[r * du + i] = static_cast<T>(v[i] * scale);
    }
}

// Householder QR of a (d, d) row-major matrix; returns Q (row-major) with the columns'
// signs fixed so that diag(R) > 0. Plain loops in a fixed order: no BLAS, bit-reproducible.
// Applies the Householder reflection H = I - 2 v v^T / vv (v: entries r0..d-1 of vj) to
// columns c0..d-1 of the row-major d x d matrix m: for each column c, s_c = sum over i of
// vj[i] m[i][c] (i increasing), then m[i][c] -= (2 s_c / vv) vj[i]. The columns advance
// together row by row (the matrix is read along its rows); each column's sum and update are
// the same operations in the same order as one column at a time, so the bits are too.
void reflect_columns(const double* vj, double vv, std::size_t r0, std::size_t c0, double* m,
                     std::size_t d, double* s, double* f) {
    for (std::size_t c = c0; c < d; ++c) s[c] = 0.0;
    for (std::size_t i = r0; i < d; ++i) {
        const double vi = vj[i];
        const double* row = m + i * d;
        for (std::size_t c = c0; c < d; ++c) s[c] += vi * row[c];
    }
    for (std::size_t c = c0; c < d; ++c) f[c] = 2.0 * s[c] / vv;
    for (std::size_t i = r0; i < d; ++i) {
        const double vi = vj[i];
        double* row = m + i * d;
        for (std::size_t c = c0; c < d; ++c) row[c] -= f[c] * vi;
    }
}

std::vector<double> haar_q(std::vector<double> a, int d) {
    const auto du = static_cast<std::size_t>(d);
    std::vector<double> v(du * du, 0.0);  // v_j in row j, entries j..d-1
    std::vector<double> vnorm2(du, 0.0);
    std::vector<double> rdiag(du, 0.0);
    std::vector<double> s(du), f(du);
    for (std::size_t j = 0; j < du; ++j) {
        double norm2 = 0.0;
        for (std::size_t i = j; i < du; ++i) norm2 += a[i * du + j] * a[i * du + j];
        const double norm = std::sqrt(norm2);
        if (!(norm > 0.0)) throw NumericError("rotation: singular Gaussian matrix in haar QR");
        const double x0 = a[j * du + j];
        // alpha of the opposite sign to x0 avoids cancellation in v_j[j] = x0 - alpha.
        const double alpha = x0 >= 0.0 ? -norm : norm;
        double* vj = v.data() + j * du;
        vj[j] = x0 - alpha;
        for (std::size_t i = j + 1; i < du; ++i) vj[i] = a[i * du + j];
        double vv = 0.0;
        for (std::size_t i = j; i < du; ++i) vv += vj[i] * vj[i];
        vnorm2[j] = vv;
        reflect_columns(vj, vv, j, j, a.data(), du, s.data(), f.data());
        rdiag[j] = alpha;
    }
    // Q = H_0 H_1 ... H_{d-1} I, accumulated from the right.
    std::vector<double> q(du * du, 0.0);
    for (std::size_t i = 0; i < du; ++i) q[i * du + i] = 1.0;
    for (std::size_t jj = du; jj-- > 0;) {
        const double* vj = v.data() + jj * du;
        reflect_columns(vj, vnorm2[jj], jj, 0, q.data(), du, s.data(), f.data());
    }
    for (std::size_t j = 0; j < du; ++j) {
        if (rdiag[j] < 0.0) {
            for (std::size_t i = 0; i < du; ++i) q[i * du + j] = -q[i * du + j];
        }
    }
    return q;
}

template <class T>
void copy_rows(const T* x, std::size_t n, int d, T* z) {
    if (x != z && n > 0) std::memmove(z, x, sizeof(T) * n * static_cast<std::size_t>(d));
}

}  // namespace

const char* to_string(RotationKind kind) {
    switch (kind) {
        case RotationKind::none:
            return "none";
        case RotationKind::haar:
            return "haar";
        case RotationKind::hadamard:
            return "hadamard";
    }
    return "?";
}

RotationKind rotation_kind_from_string(const std::string& name) {
    if (name == "none") return RotationKind::none;
    if (name == "haar") return RotationKind::haar;
    if (name == "hadamard") return RotationKind::hadamard;
    throw UsageError("rotation: unknown kind '" + name + "' (expected none, haar or hadamard)");
}

Rotation::Rotation(RotationKind kind, int d, std::uint64_t seed)
    : m_kind(kind), m_d(d), m_seed(seed) {
    require(d > 0, "rotation: dimension must be positive, got " + std::to_string(d));
    const auto du = static_cast<std::size_t>(d);
    if (kind == RotationKind::haar) {
        Rng rng(seed, 0);
        std::vector<double> a(du * du);
        for (auto& x : a) x = rng.normal();
        m_q = haar_q(std::move(a), d);
        m_qt.resize(du * du);
        for (std::size_t i = 0; i < du; ++i)
            for (std::size_t j = 0; j < du; ++j) m_qt[j * du + i] = m_q[i * du + j];
        m_qf.assign(m_q.begin(), m_q.end());
        m_qtf.assign(m_qt.begin(), m_qt.end());
    } else if (kind == RotationKind::hadamard) {
        require(std::has_single_bit(static_cast<unsigned>(d)),
                "rotation: hadamard needs d a power of two, got " + std::to_string(d));
        Rng rng(seed, 0);
        for (auto& s : m_signs) {
            s.resize(du);
            for (auto& v : s) v = (rng.next_u64() >> 63) ? -1.0f : 1.0f;
        }
    }
}

void Rotation::forward(const float* x, std::size_t n, float* z) const {
    switch (m_kind) {
        case RotationKind::none:
            copy_rows(x, n, m_d, z);
            break;
        case RotationKind::haar:
            apply_transposed_f(m_qtf.data(), m_d, x, n, z);
            break;
        case RotationKind::hadamard:
            hadamard_batch(m_signs, m_d, x, n, z, false);
            break;
    }
}

void Rotation::inverse(const float* z, std::size_t n, float* x) const {
    switch (m_kind) {
        case RotationKind::none:
            copy_rows(z, n, m_d, x);
            break;
        case RotationKind::haar:
            apply_transposed_f(m_qf.data(), m_d, z, n, x);
            break;
        case RotationKind::hadamard:
            hadamard_batch(m_signs, m_d, z, n, x, true);
            break;
    }
}

void Rotation::forward(const double* x, std::size_t n, double* z) const {
    switch (m_kind) {
        case RotationKind::none:
            copy_rows(x, n, m_d, z);
            break;
        case RotationKind::haar:
            apply_transposed(m_qt.data(), m_d, x, n, z);
            break;
        case RotationKind::hadamard:
            hadamard_batch(m_signs, m_d, x, n, z, false);
            break;
    }
}

void Rotation::inverse(const double* z, std::size_t n, double* x) const {
    switch (m_kind) {
        case RotationKind::none:
            copy_rows(z, n, m_d, x);
            break;
        case RotationKind::haar:
            apply_transposed(m_q.data(), m_d, z, n, x);
            break;
        case RotationKind::hadamard:
            hadamard_batch(m_signs, m_d, z, n, x, true);
            break;
    }
}

std::vector<double> Rotation::matrix() const {
    const auto du = static_cast<std::size_t>(m_d);
    if (m_kind == RotationKind::haar) return m_q;
    std::vector<double> pi(du * du, 0.0);
    if (m_kind == RotationKind::none) {
        for (std::size_t i = 0; i < du; ++i) pi[i * du + i] = 1.0;
        return pi;
    }
    // Column j of Pi is Pi e_j: transform the identity's rows, then transpose.
    std::vector<double> cols(du * du, 0.0);
    for (std::size_t j = 0; j < du; ++j) cols[j * du + j] = 1.0;
    forward(cols.data(), du, cols.data());
    for (std::size_t i = 0; i < du; ++i)
        for (std::size_t j = 0; j < du; ++j) pi[i * du + j] = cols[j * du + i];
    return pi;
}

std::string Rotation::checksum() const {
    const std::vector<double> pi = matrix();
    Sha256 h;
    std::uint8_t bytes[8];
    for (double v : pi) {
        const auto bits = std::bit_cast<std::uint64_t>(v);
        for (int b = 0; b < 8; ++b) bytes[b] = static_cast<std::uint8_t>(bits >> (8 * b));
        h.update(bytes, 8);
    }
    return h.finish_hex().substr(0, 16);
}

}  // namespace fq::core

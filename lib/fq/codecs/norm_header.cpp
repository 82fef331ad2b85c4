#include "fq/codecs/norm_header.hpp"

#include <cmath>
#include <cstring>
#include <string>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define FQ_NORM_AVX512 1
#if !defined(__clang__)
// GCC 12 warns on the _mm512_undefined_pd() inside its own conversion intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

#include "fq/codecs/nearest_kernel.hpp"
#include "fq/core/error.hpp"
#include "fq/core/half.hpp"

namespace fq::codecs {

namespace {
// nu = sqrt(s) and z = x / nu (z = 0 for a zero vector) once s = sum_j x_j^2 is known.
void finish_direction(const float* xi, int d, double s, double* nu, float* zi) {
    *nu = std::sqrt(s);
    const double inv = *nu > 0 ? 1.0 / *nu : 0.0;
    for (int j = 0; j < d; ++j) zi[j] = static_cast<float>(xi[j] * inv);
}

#ifdef FQ_NORM_AVX512
// Eight vectors (rows of xg, stride d) at once, vector g in lane g: its sum of squares over
// j in order, each square and addition in double (separate instructions: no fused
// multiply-add), then z = float(x / nu) eight coordinates at a time: the same operations
// on the same values as the plain loops, so the same bits.
__attribute__((target("avx512f"))) void eight_directions_avx512(const float* xg, int d, double* nu,
                                                                float* z) {
    const auto du = static_cast<std::size_t>(d);
    __m512d s = _mm512_setzero_pd();
    std::size_t j = 0;
    for (; j + 8 <= du; j += 8) {
        // Coordinates j..j+7 of the 8 vectors, transposed so register t holds coordinate
        // j + t of every vector.
        __m256 r[8];
        for (int g = 0; g < 8; ++g)
            r[g] = _mm256_loadu_ps(xg + static_cast<std::size_t>(g) * du + j);
        const __m256 a0 = _mm256_unpacklo_ps(r[0], r[1]), a1 = _mm256_unpackhi_ps(r[0], r[1]);
        const __m256 a2 = _mm256_unpacklo_ps(r[2], r[3]), a3 = _mm256_unpackhi_ps(r[2], r[3]);
        const __m256 a4 = _mm256_unpacklo_ps(r[4], r[5]), a5 = _mm256_unpackhi_ps(r[4], r[5]);
        const __m256 a6 = _mm256_unpacklo_ps(r[6], r[7]), a7 = _mm256_unpackhi_ps(r[6], r[7]);
        const __m256 b0 = _mm256_shuffle_ps(a0, a2, 0x44), b1 = _mm256_shuffle_ps(a0, a2, 0xEE);
        const __m256 b2 = _mm256_shuffle_ps(a1, a3, 0x44), b3 = _mm256_shuffle_ps(a1, a3, 0xEE);
        const __m256 b4 = _mm256_shuffle_ps(a4, a6, 0x44), b5 = _mm256_shuffle_ps(a4, a6, 0xEE);
        const __m256 b6 = _mm256_shuffle_ps(a5, a7, 0x44), b7 = _mm256_shuffle_ps(a5, a7, 0xEE);
        const __m256 t[8] = {
            _mm256_permute2f128_ps(b0, b4, 0x20), _mm256_permute2f128_ps(b1, b5, 0x20),
            _mm256_permute2f128_ps(b2, b6, 0x20), _mm256_permute2f128_ps(b3, b7, 0x20),
            _mm256_permute2f128_ps(b0, b4, 0x31), _mm256_permute2f128_ps(b1, b5, 0x31),
            _mm256_permute2f128_ps(b2, b6, 0x31), _mm256_permute2f128_ps(b3, b7, 0x31)};
        for (int c = 0; c < 8; ++c) {
            const __m512d v = _mm512_cvtps_pd(t[c]);
            s = _mm512_add_pd(s, _mm512_mul_pd(v, v));
        }
    }
    for (; j < du; ++j) {  // a d that is not a multiple of 8: the rest one coordinate at a time
        alignas(32) float col[8];
        for (int g = 0; g < 8; ++g) col[g] = xg[static_cast<std::size_t>(g) * du + j];
        const __m512d v = _mm512_cvtps_pd(_mm256_load_ps(col));
        s = _mm512_add_pd(s, _mm512_mul_pd(v, v));
    }
    alignas(64) double sums[8];
    _mm512_store_pd(sums, s);
    for (std::size_t g = 0; g < 8; ++g) {
        nu[g] = std::sqrt(sums[g]);
        const double inv = nu[g] > 0 ? 1.0 / nu[g] : 0.0;
        const __m512d iv = _mm512_set1_pd(inv);
        const float* xi = xg + g * du;
        float* zi = z + g * du;
        std::size_t c = 0;
        for (; c + 8 <= du; c += 8)
            _mm256_storeu_ps(zi + c, _mm512_cvtpd_ps(_mm512_mul_pd(
                                         _mm512_cvtps_pd(_mm256_loadu_ps(xi + c)), iv)));
        for (; c < du; ++c) zi[c] = static_cast<float>(xi[c] * inv);
    }
}
#endif

}  // namespace

void unit_directions(const float* x, std::size_t n, int d, double* nu, float* z) {
    const auto du = static_cast<std::size_t>(d);
    // Each sum runs over j in order in double (the squares of floats are exact in double);
    // eight vectors advance together so their eight dependent addition chains overlap (one
    // chain was latency-bound: 4 cycles per coordinate). Same bits as one vector at a time.
    constexpr std::size_t group = 8;
    std::size_t i = 0;
#ifdef FQ_NORM_AVX512
    if (detail::best_search_isa() == detail::SearchIsa::avx512)  // the search kernels' check
        for (; i + group <= n; i += group)
            eight_directions_avx512(x + i * du, d, nu + i, z + i * du);
#endif
    for (; i + group <= n; i += group) {
        double s[group] = {};
        const float* xg = x + i * du;
        for (std::size_t j = 0; j < du; ++j)
            for (std::size_t g = 0; g < group; ++g) {
                const double v = xg[g * du + j];
                s[g] += v * v;
            }
        for (std::size_t g = 0; g < group; ++g)
            finish_direction(xg + g * du, d, s[g], nu + i + g, z + (i + g) * du);
    }
    for (; i < n; ++i) {
        const float* xi = x + i * du;
        double s = 0;
        for (int j = 0; j < d; ++j) s += static_cast<double>(xi[j]) * xi[j];
        finish_direction(xi, d, s, nu + i, z + i * du);
    }
}

double header_value(const HeaderOptions& h, double nu, const float* z, const float* z_hat,
                    std::size_t n) {
    if (h.value == NormHeader::norm || !(nu > 0)) return nu;
    double dot = 0, nn = 0;
    for (std::size_t t = 0; t < n; ++t) {
        dot += static_cast<double>(z[t]) * z_hat[t];
        nn += static_cast<double>(z_hat[t]) * z_hat[t];
    }
    return nn > 0 ? nu * dot / nn : 0.0;
}

void write_header(const HeaderOptions& h, double g, std::uint8_t* code) {
    if (h.type == HeaderType::float16) {
        const std::uint16_t v = core::float_to_half(static_cast<float>(g));
        if (std::isinf(core::half_to_float(v)))
            throw NumericError("norm " + std::to_string(g) +
                               " overflows the float16 header; use a float32 header");
        code[0] = static_cast<std::uint8_t>(v & 0xFF);
        code[1] = static_cast<std::uint8_t>(v >> 8);
    } else {
        const float f = static_cast<float>(g);
        std::uint32_t u;
        std::memcpy(&u, &f, 4);
        for (int t = 0; t < 4; ++t) code[t] = static_cast<std::uint8_t>(u >> (8 * t));
    }
}

float read_header(const HeaderOptions& h, const std::uint8_t* code) {
    if (h.type == HeaderType::float16)
        return core::half_to_float(static_cast<std::uint16_t>(code[0] | (code[1] << 8)));
    std::uint32_t u = 0;
    for (int t = 0; t < 4; ++t) u |= static_cast<std::uint32_t>(code[t]) << (8 * t);
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

}  // namespace fq::codecs

#include "fq/core/half.hpp"

#include <bit>

#if defined(__x86_64__)
#include <immintrin.h>
#define FQ_HALF_F16C 1
#endif

namespace fq::core {

namespace {

// Round-to-nearest-even right shift of a non-negative integer.
inline std::uint32_t shift_rne(std::uint32_t v, int shift) {
    const std::uint32_t q = v >> shift;
    const std::uint32_t rem = v & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1);
    return q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
}

float half_to_float_scalar(std::uint16_t h);

#ifdef FQ_HALF_F16C
// Groups of 8 through F16C (exact, as the scalar conversion), except a group holding an Inf
// or NaN, converted one by one (F16C quiets a signalling NaN; the scalar code keeps the
// payload as it is). Returns how many were converted (a multiple of 8).
__attribute__((target("f16c,avx"))) std::size_t halves_to_floats_f16c(const std::uint16_t* in,
                                                                      std::size_t n, float* out) {
    const __m128i exp = _mm_set1_epi16(0x7C00);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
        if (_mm_movemask_epi8(_mm_cmpeq_epi16(_mm_and_si128(h, exp), exp)) != 0) {
            for (std::size_t j = i; j < i + 8; ++j) out[j] = half_to_float_scalar(in[j]);
            continue;
        }
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
    }
    return i;
}

// Groups of 8 through F16C with round to nearest even (IEEE: overflow to Inf, subnormals
// exact, as the scalar conversion), except a group holding a NaN, converted one by one (the
// scalar code sets the quiet bit its own way). Returns how many were converted.
__attribute__((target("f16c,avx"))) std::size_t floats_to_halves_f16c(const float* in,
                                                                      std::size_t n,
                                                                      std::uint16_t* out) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 f = _mm256_loadu_ps(in + i);
        if (_mm256_movemask_ps(_mm256_cmp_ps(f, f, _CMP_UNORD_Q)) != 0) {
            for (std::size_t j = i; j < i + 8; ++j) out[j] = float_to_half(in[j]);
            continue;
        }
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                         _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    return i;
}

bool have_f16c() {
    static const bool yes = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
    }();
    return yes;
}
#endif

}  // namespace

std::uint16_t float_to_half(float f) {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
    const std::uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) {
        // NaN: keep the top payload bits and force the quiet bit so the result stays a NaN.
        return static_cast<std::uint16_t>(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));
    }
    // 65520 = 65504 + half an ulp: ties to even go up to 2^16, i.e. overflow.
    if (ax >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);
    if (ax >= 0x38800000u) {
        // Normal half: rebias the exponent (127 -> 15) and round 23 mantissa bits to 10. A
        // carry out of the mantissa correctly increments the exponent.
        return static_cast<std::uint16_t>(sign | shift_rne(ax - (112u << 23), 13));
    }
    const int e = static_cast<int>(ax >> 23);
    // Below 2^-25 everything rounds to zero (2^-25 itself is a tie and goes to even, 0).
    if (e < 102) return sign;
    // Subnormal half: the value is m 2^(e-150); in units of 2^-24 that is m >> (126 - e),
    // which may round up to the smallest normal 0x0400: the encoding is still right.
    const std::uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
    return static_cast<std::uint16_t>(sign | shift_rne(m, 126 - e));
}

float half_to_float(std::uint16_t h) {
    return half_to_float_scalar(h);
}

namespace {
float half_to_float_scalar(std::uint16_t h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t e = (h >> 10) & 0x1Fu;
    std::uint32_t m = h & 0x3FFu;
    std::uint32_t bits;
    if (e == 0x1F) {
        bits = sign | 0x7F800000u | (m << 13);
    } else if (e != 0) {
        bits = sign | ((e + 112u) << 23) | (m << 13);
    } else if (m == 0) {
        bits = sign;
    } else {
        // Subnormal m 2^-24: normalise so the leading one becomes the implicit bit.
        std::uint32_t fe = 113;  // float exponent field of 2^-14
        while ((m & 0x400u) == 0) {
            m <<= 1;
            --fe;
        }
        bits = sign | (fe << 23) | ((m & 0x3FFu) << 13);
    }
    return std::bit_cast<float>(bits);
}
}  // namespace

std::uint16_t float_to_bfloat16(float f) {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((x >> 16) | 0x0040u);
    // Rounding the top 16 bits to nearest even; the largest finite floats overflow to inf.
    return static_cast<std::uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

float bfloat16_to_float(std::uint16_t b) {
    return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

void floats_to_halves(const float* in, std::size_t n, std::uint16_t* out) {
    std::size_t i = 0;
#ifdef FQ_HALF_F16C
    if (have_f16c()) i = floats_to_halves_f16c(in, n, out);
#endif
    for (; i < n; ++i) out[i] = float_to_half(in[i]);
}

void halves_to_floats(const std::uint16_t* in, std::size_t n, float* out) {
    std::size_t i = 0;
#ifdef FQ_HALF_F16C
    if (have_f16c()) i = halves_to_floats_f16c(in, n, out);
#endif
    for (; i < n; ++i) out[i] = half_to_float_scalar(in[i]);
}

}  // namespace fq::core

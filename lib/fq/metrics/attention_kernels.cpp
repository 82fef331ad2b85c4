// First, before anything else can include it: GCC 12 reports its own AVX-512 intrinsics
// (_mm512_undefined_* self-initialisation, GCC PR 105593) as maybe-uninitialized at the
// header's lines; the warning is silenced for those lines only.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FQ_ATTENTION_X86 1
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

#include "fq/metrics/attention_kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"

namespace fq::metrics::detail {

void Top5::offer(float v, std::uint32_t j) {
    const auto before = [](float a, std::uint32_t ia, float b, std::uint32_t ib) {
        return a > b || (a == b && ia < ib);
    };
    if (n == 5 && !before(v, j, val[4], idx[4])) return;
    int pos = n < 5 ? n++ : 4;
    for (; pos > 0 && before(v, j, val[pos - 1], idx[pos - 1]); --pos) {
        val[pos] = val[pos - 1];
        idx[pos] = idx[pos - 1];
    }
    val[pos] = v;
    idx[pos] = j;
}

float Top5::threshold() const {
    return n < 5 ? -std::numeric_limits<float>::infinity() : val[4];
}

void pack_panels(const float* x, const float* minus, std::size_t n, std::size_t j0,
                 std::size_t count, std::size_t d, float* panels) {
    for (std::size_t p = 0; p < count / k_panel; ++p)
        for (std::size_t l = 0; l < k_panel; ++l) {
            const std::size_t j = j0 + p * k_panel + l;
            float* dst = panels + p * d * k_panel + l;
            if (j >= n) {
                for (std::size_t c = 0; c < d; ++c) dst[c * k_panel] = 0.0f;
            } else if (minus != nullptr) {
                for (std::size_t c = 0; c < d; ++c)
                    dst[c * k_panel] = x[j * d + c] - minus[j * d + c];
            } else {
                for (std::size_t c = 0; c < d; ++c) dst[c * k_panel] = x[j * d + c];
            }
        }
}

}  // namespace fq::metrics::detail

// ---- the scalar path: the reference every vector path reproduces bit for bit
namespace fq::metrics::detail {
namespace {
namespace scalar_path {

struct Ops {
    using F = float;
    using M = bool;
    static constexpr std::size_t W = 1, R = 4, RO = 4, CO = 4;
    static F load(const float* p) { return *p; }
    static void store(float* p, F v) { *p = v; }
    static F set1(float x) { return x; }
    static F zero() { return 0.0f; }
    static F add(F a, F b) { return a + b; }
    static F sub(F a, F b) { return a - b; }
    static F mul(F a, F b) { return a * b; }
    static F fma(F a, F b, F c) { return std::fma(a, b, c); }
    static F max(F a, F b) { return a > b ? a : b; }
    static F min(F a, F b) { return a < b ? a : b; }
    static F abs(F a) { return std::fabs(a); }
    static M gt(F a, F b) { return a > b; }
    static M ge(F a, F b) { return a >= b; }
    static M lt(F a, F b) { return a < b; }
    static F select(M m, F a, F b) { return m ? a : b; }
    using D = double;
    static constexpr std::size_t ND = 1;
    static D dzero() { return 0.0; }
    static D dadd(D a, D b) { return a + b; }
    static D dfma(D a, D b, D c) { return std::fma(a, b, c); }
    static void dstore(double* p, D v) { *p = v; }
    static void widen(F v, D& lo, D& hi) { lo = hi = v; }
    static unsigned bits(M m) { return m ? 1u : 0u; }
    static M first_lanes(std::ptrdiff_t n) { return n > 0; }
    static F pow2i(F n) {
        const auto b = static_cast<std::uint32_t>(static_cast<std::int32_t>(n) + 127) << 23;
        float f;
        std::memcpy(&f, &b, sizeof f);
        return f;
    }
};

#include "attention_kernels_impl.inc"

}  // namespace scalar_path
}  // namespace
}  // namespace fq::metrics::detail

#ifdef FQ_ATTENTION_X86
// ---- AVX2 + FMA: 8 lanes, a 16-key chunk in two lane groups
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace fq::metrics::detail {
namespace {
namespace avx2_path {

struct Ops {
    using F = __m256;
    using M = __m256;
    static constexpr std::size_t W = 8, R = 6, RO = 6, CO = 2;
    static F load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
    static F set1(float x) { return _mm256_set1_ps(x); }
    static F zero() { return _mm256_setzero_ps(); }
    static F add(F a, F b) { return _mm256_add_ps(a, b); }
    static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
    static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
    static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
    static F max(F a, F b) { return _mm256_max_ps(a, b); }  // a > b ? a : b
    static F min(F a, F b) { return _mm256_min_ps(a, b); }  // a < b ? a : b
    static F abs(F a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
    static M gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
    static M ge(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
    static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
    static F select(M m, F a, F b) { return _mm256_blendv_ps(b, a, m); }
    using D = __m256d;
    static constexpr std::size_t ND = 2;
    static D dzero() { return _mm256_setzero_pd(); }
    static D dadd(D a, D b) { return _mm256_add_pd(a, b); }
    static D dfma(D a, D b, D c) { return _mm256_fmadd_pd(a, b, c); }
    static void dstore(double* p, D v) { _mm256_storeu_pd(p, v); }
    static void widen(F v, D& lo, D& hi) {
        lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
        hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    }
    static unsigned bits(M m) { return static_cast<unsigned>(_mm256_movemask_ps(m)); }
    static M first_lanes(std::ptrdiff_t n) {
        const int k = static_cast<int>(std::clamp<std::ptrdiff_t>(n, 0, 8));
        return _mm256_castsi256_ps(
            _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
    }
    static F pow2i(F n) {
        const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
        return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
    }
};

#include "attention_kernels_impl.inc"

}  // namespace avx2_path
}  // namespace
}  // namespace fq::metrics::detail
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

// ---- AVX-512F: 16 lanes, a 16-key chunk in one register
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#endif
namespace fq::metrics::detail {
namespace {
namespace avx512_path {

struct Ops {
    using F = __m512;
    using M = __mmask16;
    static constexpr std::size_t W = 16, R = 12, RO = 6, CO = 4;
    static F load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
    static F set1(float x) { return _mm512_set1_ps(x); }
    static F zero() { return _mm512_setzero_ps(); }
    static F add(F a, F b) { return _mm512_add_ps(a, b); }
    static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
    static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
    static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
    static F max(F a, F b) { return _mm512_max_ps(a, b); }  // a > b ? a : b
    static F min(F a, F b) { return _mm512_min_ps(a, b); }  // a < b ? a : b
    static F abs(F a) { return _mm512_abs_ps(a); }
    static M gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
    static M ge(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
    static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
    static F select(M m, F a, F b) { return _mm512_mask_blend_ps(m, b, a); }
    using D = __m512d;
    static constexpr std::size_t ND = 2;
    static D dzero() { return _mm512_setzero_pd(); }
    static D dadd(D a, D b) { return _mm512_add_pd(a, b); }
    static D dfma(D a, D b, D c) { return _mm512_fmadd_pd(a, b, c); }
    static void dstore(double* p, D v) { _mm512_storeu_pd(p, v); }
    static void widen(F v, D& lo, D& hi) {
        lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    }
    static unsigned bits(M m) { return static_cast<unsigned>(m); }
    static M first_lanes(std::ptrdiff_t n) {
        if (n <= 0) return 0;
        if (n >= 16) return 0xFFFF;
        return static_cast<M>((1u << n) - 1u);
    }
    static F pow2i(F n) {
        const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
        return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
    }
};

#include "attention_kernels_impl.inc"

}  // namespace avx512_path
}  // namespace
}  // namespace fq::metrics::detail
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // FQ_ATTENTION_X86

namespace fq::metrics::detail {

namespace {

#ifdef FQ_ATTENTION_X86
bool cpu_has_avx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
bool cpu_has_avx512() {
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f");
}
#endif

}  // namespace

std::vector<KernelIsa> supported_isas() {
    std::vector<KernelIsa> out = {KernelIsa::scalar};
#ifdef FQ_ATTENTION_X86
    if (cpu_has_avx2()) out.push_back(KernelIsa::avx2);
    if (cpu_has_avx512()) out.push_back(KernelIsa::avx512);
#endif
    return out;
}

KernelIsa default_isa() {
    static const KernelIsa best = supported_isas().back();
    return best;
}

const char* isa_name(KernelIsa isa) {
    switch (isa) {
        case KernelIsa::avx2:
            return "avx2";
        case KernelIsa::avx512:
            return "avx512";
        default:
            return "scalar";
    }
}

const Kernels& kernels(KernelIsa isa) {
    const auto have = supported_isas();
    require(std::find(have.begin(), have.end(), isa) != have.end(),
            std::string("attention kernels: this CPU cannot run the ") + isa_name(isa) + " path");
#ifdef FQ_ATTENTION_X86
    if (isa == KernelIsa::avx512) return avx512_path::table;
    if (isa == KernelIsa::avx2) return avx2_path::table;
#endif
    return scalar_path::table;
}

}  // namespace fq::metrics::detail

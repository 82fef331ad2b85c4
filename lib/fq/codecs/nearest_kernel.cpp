#include "fq/codecs/nearest_kernel.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "fq/core/error.hpp"
#include "fq/core/simd_types.hpp"

// GCC 12 reports the running minima below as maybe-uninitialized after vectorising the
// per-pass arrays (every element is assigned before the codeword loop): a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace fq::codecs::detail {

namespace {

using namespace core::simd;  // VecF4 .. VecI16, lanes<V>

// One pass: R x L rows, transposed in yt as yt[(g * k + j) * L + l] = coordinate j of row
// g * L + l of the pass; writes the R x L indices to out. K > 0: k known at compile time
// (the coordinates stay in registers); K = 0: k at run time (they are re-read from yt, L1).
template <class V, class VI, int K, int R>
[[gnu::always_inline]] inline void search_pass(const float* cw, const float* norms, int N, int k,
                                               const float* yt, std::uint32_t* out,
                                               float* out_dist) {
    constexpr int L = lanes<V>;
    const float inf = std::numeric_limits<float>::infinity();
    V best[R];
    VI bi[R];
    for (int g = 0; g < R; ++g) {
        splat(best[g], inf);
        splat(bi[g], 0);
    }
    if constexpr (K > 0) {
        V y[R][K];
        for (int g = 0; g < R; ++g)
            for (int j = 0; j < K; ++j) std::memcpy(&y[g][j], yt + (g * K + j) * L, sizeof(V));
        // The codeword index in every lane, advanced by a vector add: GCC fills a splat of a
        // changing integer one lane at a time (16 masked moves per codeword under AVX-512).
        VI ci, one;
        splat(ci, 0);
        splat(one, 1);
        for (int c = 0; c < N; ++c, ci += one) {
            const float* w = cw + static_cast<std::size_t>(c) * K;
            V nv;
            splat(nv, norms[c]);
            for (int g = 0; g < R; ++g) {
                V s = y[g][0] * w[0];
                for (int j = 1; j < K; ++j) s = s + y[g][j] * w[j];
                const V dist = nv - 2.0f * s;
                const VI m = dist < best[g];
                best[g] = m ? dist : best[g];
                bi[g] = m ? ci : bi[g];
            }
        }
    } else {
        VI ci, one;
        splat(ci, 0);
        splat(one, 1);
        for (int c = 0; c < N; ++c, ci += one) {
            const float* w = cw + static_cast<std::size_t>(c) * k;
            V nv;
            splat(nv, norms[c]);
            for (int g = 0; g < R; ++g) {
                const float* yg = yt + static_cast<std::size_t>(g) * k * L;
                V yj;
                std::memcpy(&yj, yg, sizeof(V));
                V s = yj * w[0];
                for (int j = 1; j < k; ++j) {
                    std::memcpy(&yj, yg + static_cast<std::size_t>(j) * L, sizeof(V));
                    s = s + yj * w[j];
                }
                const V dist = nv - 2.0f * s;
                const VI m = dist < best[g];
                best[g] = m ? dist : best[g];
                bi[g] = m ? ci : bi[g];
            }
        }
    }
    for (int g = 0; g < R; ++g) std::memcpy(out + g * L, &bi[g], sizeof(VI));
    if (out_dist)
        for (int g = 0; g < R; ++g) std::memcpy(out_dist + g * L, &best[g], sizeof(V));
}

// All rows: whole passes, then the last partial pass with zero rows appended (rows are
// independent, the padding's results are discarded).
template <class V, class VI, int K, int R>
[[gnu::always_inline]] inline void search_rows(const float* cw, const float* norms, int N, int k,
                                               const float* y, std::size_t n, std::uint32_t* idx,
                                               float* dist) {
    constexpr int L = lanes<V>;
    constexpr std::size_t P = static_cast<std::size_t>(R) * L;
    const auto ku = static_cast<std::size_t>(k);
    std::vector<float> yt(P * ku);
    std::uint32_t out[P];
    float out_dist[P];
    for (std::size_t r0 = 0; r0 < n; r0 += P) {
        const std::size_t rows = std::min(P, n - r0);
        const float* yr = y + r0 * ku;
        for (std::size_t p = 0; p < P; ++p) {
            const std::size_t g = p / L, l = p % L;
            float* dst = yt.data() + g * ku * L + l;
            if (p < rows)
                for (std::size_t j = 0; j < ku; ++j) dst[j * L] = yr[p * ku + j];
            else
                for (std::size_t j = 0; j < ku; ++j) dst[j * L] = 0.0f;
        }
        search_pass<V, VI, K, R>(cw, norms, N, k, yt.data(), out, dist ? out_dist : nullptr);
        std::memcpy(idx + r0, out, sizeof(std::uint32_t) * rows);
        if (dist) std::memcpy(dist + r0, out_dist, sizeof(float) * rows);
    }
}

// Rows per pass in registers: R x K coordinates + 2 R running values, within the 16 (SSE2,
// AVX2) or 32 (AVX-512) vector registers.
template <class V, class VI, int Regs>
[[gnu::always_inline]] inline void dispatch_k(const float* cw, const float* norms, int N, int k,
                                              const float* y, std::size_t n, std::uint32_t* idx,
                                              float* dist) {
#define FQ_SEARCH_K(KK)                                                                  \
    case KK:                                                                             \
        search_rows<V, VI, KK,                                                           \
                    (Regs >= 32 ? (KK <= 4   ? 4                                         \
                                   : KK <= 8 ? 2                                         \
                                             : 1)                                        \
                                : (KK <= 4 ? 2 : 1))>(cw, norms, N, k, y, n, idx, dist); \
        return;
    switch (k) {
        FQ_SEARCH_K(2)
        FQ_SEARCH_K(3)
        FQ_SEARCH_K(4)
        FQ_SEARCH_K(5)
        FQ_SEARCH_K(6)
        FQ_SEARCH_K(7)
        FQ_SEARCH_K(8)
        FQ_SEARCH_K(9)
        FQ_SEARCH_K(10)
        FQ_SEARCH_K(11)
        FQ_SEARCH_K(12)
        FQ_SEARCH_K(13)
        FQ_SEARCH_K(14)
        FQ_SEARCH_K(15)
        FQ_SEARCH_K(16)
        default:
            search_rows<V, VI, 0, 1>(cw, norms, N, k, y, n, idx, dist);
            return;
    }
#undef FQ_SEARCH_K
}

// pos[i] = #{t : y[i] >= up[t]}, L values at a time with the counts in a register.
template <class V, class VI>
[[gnu::always_inline]] inline void count_rows(const float* up, int T, const float* y, std::size_t n,
                                              std::uint32_t* pos) {
    constexpr std::size_t L = lanes<V>;
    std::size_t i = 0;
    for (; i + L <= n; i += L) {
        V v;
        std::memcpy(&v, y + i, sizeof(V));
        VI c = VI{};
        for (int t = 0; t < T; ++t) {
            V u;
            splat(u, up[t]);
            c -= (VI)(v >= u);  // a true comparison is -1 in every bit
        }
        std::memcpy(pos + i, &c, sizeof(VI));
    }
    for (; i < n; ++i) {
        std::uint32_t c = 0;
        for (int t = 0; t < T; ++t) c += y[i] >= up[t] ? 1u : 0u;
        pos[i] = c;
    }
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define FQ_SEARCH_X86 1
__attribute__((target("avx512f"))) void search_avx512(const float* cw, const float* norms, int N,
                                                      int k, const float* y, std::size_t n,
                                                      std::uint32_t* idx, float* dist) {
    dispatch_k<VecF16, VecI16, 32>(cw, norms, N, k, y, n, idx, dist);
}
__attribute__((target("avx2"))) void search_avx2(const float* cw, const float* norms, int N, int k,
                                                 const float* y, std::size_t n, std::uint32_t* idx,
                                                 float* dist) {
    dispatch_k<VecF8, VecI8, 16>(cw, norms, N, k, y, n, idx, dist);
}
__attribute__((target("avx512f"))) void count_avx512(const float* up, int T, const float* y,
                                                     std::size_t n, std::uint32_t* pos) {
    count_rows<VecF16, VecI16>(up, T, y, n, pos);
}
__attribute__((target("avx2"))) void count_avx2(const float* up, int T, const float* y,
                                                std::size_t n, std::uint32_t* pos) {
    count_rows<VecF8, VecI8>(up, T, y, n, pos);
}
#endif
void count_sse2(const float* up, int T, const float* y, std::size_t n, std::uint32_t* pos) {
    count_rows<VecF4, VecI4>(up, T, y, n, pos);
}
void search_sse2(const float* cw, const float* norms, int N, int k, const float* y, std::size_t n,
                 std::uint32_t* idx, float* dist) {
    dispatch_k<VecF4, VecI4, 16>(cw, norms, N, k, y, n, idx, dist);
}

}  // namespace

const std::vector<SearchIsa>& available_search_isas() {
    static const std::vector<SearchIsa> isas = [] {
        std::vector<SearchIsa> out{SearchIsa::sse2};
#ifdef FQ_SEARCH_X86
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2")) out.push_back(SearchIsa::avx2);
        if (__builtin_cpu_supports("avx512f")) out.push_back(SearchIsa::avx512);
#endif
        return out;
    }();
    return isas;
}

SearchIsa best_search_isa() {
    static const SearchIsa best = available_search_isas().back();
    return best;
}

const char* search_isa_name(SearchIsa isa) {
    switch (isa) {
        case SearchIsa::sse2:
            return "sse2";
        case SearchIsa::avx2:
            return "avx2";
        case SearchIsa::avx512:
            return "avx512";
    }
    return "?";
}

void require_isa(SearchIsa isa) {
    const auto& isas = available_search_isas();
    require(std::find(isas.begin(), isas.end(), isa) != isas.end(),
            std::string("nearest search: this CPU cannot run ") + search_isa_name(isa));
}

void count_at_or_above(SearchIsa isa, const float* up, int T, const float* y, std::size_t n,
                       std::uint32_t* pos) {
    require(T >= 0, "count_at_or_above: negative threshold count");
    require_isa(isa);
    switch (isa) {
#ifdef FQ_SEARCH_X86
        case SearchIsa::avx512:
            count_avx512(up, T, y, n, pos);
            return;
        case SearchIsa::avx2:
            count_avx2(up, T, y, n, pos);
            return;
#endif
        default:
            count_sse2(up, T, y, n, pos);
            return;
    }
}

void nearest_rows(SearchIsa isa, const float* cw, const float* norms, int N, int k, const float* y,
                  std::size_t n, std::uint32_t* idx, float* dist) {
    require(k >= 2 && N >= 1, "nearest_rows: need k >= 2 and N >= 1");
    require_isa(isa);
    switch (isa) {
#ifdef FQ_SEARCH_X86
        case SearchIsa::avx512:
            search_avx512(cw, norms, N, k, y, n, idx, dist);
            return;
        case SearchIsa::avx2:
            search_avx2(cw, norms, N, k, y, n, idx, dist);
            return;
#endif
        default:
            search_sse2(cw, norms, N, k, y, n, idx, dist);
            return;
    }
}

}  // namespace fq::codecs::detail

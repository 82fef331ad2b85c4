#include "fq/codecs/trellis.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>

#include "fq/core/error.hpp"

namespace fq::codecs {

void validate(const Trellis& t) {
    require(t.K >= 1 && t.K <= 8 && t.L >= t.K && t.L <= 20,
            "trellis: need 1 <= K <= 8 and K <= L <= 20 (L = " + std::to_string(t.L) +
                ", K = " + std::to_string(t.K) + ")");
    require(t.V >= 1 && t.V <= 8, "trellis: need 1 <= V <= 8");
    require(t.lut.size() == static_cast<std::size_t>(t.states()) * static_cast<std::size_t>(t.V),
            "trellis: the table needs 2^L rows of V numbers");
    for (float v : t.lut) require(std::isfinite(v), "trellis: non-finite table entry");
}

TrellisSearch::TrellisSearch(const Trellis& t, int T) : m_t(t), m_T(T) {
    validate(t);
    require(T >= 1 && static_cast<long>(T) * t.K >= t.L,
            "trellis: " + std::to_string(T) + " steps of " + std::to_string(t.K) +
                " bits do not fill a state of " + std::to_string(t.L) + " bits");
    // The back pointers of one search: T x 2^(L-K) bytes.
    require(static_cast<double>(T) * static_cast<double>(t.states() >> t.K) <= k_max_search_bytes,
            "trellis: a search of " + std::to_string(T) + " steps over 2^" + std::to_string(t.L) +
                " states is too large");
    m_lut_by_coord.assign(static_cast<std::size_t>(t.V), std::vector<float>(t.states()));
    for (std::uint32_t s = 0; s < t.states(); ++s)
        for (int v = 0; v < t.V; ++v)
            m_lut_by_coord[static_cast<std::size_t>(v)][s] =
                t.lut[static_cast<std::size_t>(s) * static_cast<std::size_t>(t.V) +
                      static_cast<std::size_t>(v)];
}

namespace {

// dist[s] = sum_v (x[v] - lut_v[s])^2, v in order (elementwise over s: vectorisable, and
// the same sums whatever the vector width).
void step_distances(const std::vector<std::vector<float>>& lut, const float* x, std::size_t S,
                    float* dist) {
    const float* l0 = lut[0].data();
    const float x0 = x[0];
    for (std::size_t s = 0; s < S; ++s) {
        const float e = x0 - l0[s];
        dist[s] = e * e;
    }
    for (std::size_t v = 1; v < lut.size(); ++v) {
        const float* lv = lut[v].data();
        const float xv = x[v];
        for (std::size_t s = 0; s < S; ++s) {
            const float e = xv - lv[s];
            dist[s] = dist[s] + e * e;
        }
    }
}

// m[q] = min_j cost[q + j Q] over j < R, back[q] = the lowest such j.
void predecessor_min(const float* cost, std::size_t Q, std::size_t R, float* m,
                     std::uint8_t* back) {
    for (std::size_t q = 0; q < Q; ++q) {
        m[q] = cost[q];
        back[q] = 0;
    }
    for (std::size_t j = 1; j < R; ++j) {
        const float* c = cost + j * Q;
        const auto jj = static_cast<std::uint8_t>(j);
        for (std::size_t q = 0; q < Q; ++q) {
            const bool lt = c[q] < m[q];
            m[q] = lt ? c[q] : m[q];
            back[q] = lt ? jj : back[q];
        }
    }
}

// next[q R + u] = m[q] + dist[q R + u].
template <std::size_t R>
void expand_fixed(const float* m, const float* dist, std::size_t Q, float* next) {
    for (std::size_t q = 0; q < Q; ++q) {
        const float mq = m[q];
        for (std::size_t u = 0; u < R; ++u) next[q * R + u] = mq + dist[q * R + u];
    }
}

void expand(const float* m, const float* dist, std::size_t Q, std::size_t R, float* next) {
    switch (R) {
        case 2:
            return expand_fixed<2>(m, dist, Q, next);
        case 4:
            return expand_fixed<4>(m, dist, Q, next);
        case 8:
            return expand_fixed<8>(m, dist, Q, next);
        case 16:
            return expand_fixed<16>(m, dist, Q, next);
        default:
            for (std::size_t q = 0; q < Q; ++q)
                for (std::size_t u = 0; u < R; ++u) next[q * R + u] = m[q] + dist[q * R + u];
    }
}

// ---- the fused step: predecessor minimum, distances and the new costs in registers.
// GCC vector extensions of W lanes, compiled for AVX-512 (W = 16), AVX2 (8) and SSE2 (4) and
// chosen at run time; every operation is elementwise in the same order as the plain loops
// above, so all three give the plain loops' bits.
#if defined(__GNUC__) && defined(__x86_64__)
#define FQ_TRELLIS_FAST_PATH 1

typedef float VecF16 __attribute__((vector_size(64)));
typedef float VecF8 __attribute__((vector_size(32)));
typedef float VecF4 __attribute__((vector_size(16)));
typedef int VecI16 __attribute__((vector_size(64)));
typedef int VecI8 __attribute__((vector_size(32)));
typedef int VecI4 __attribute__((vector_size(16)));

template <class F, class I, int W, int R, int V>
[[gnu::always_inline]] inline void fused_step(const float* cost, std::size_t Q,
                                              const float* const* lut, const float* x, float* next,
                                              std::uint8_t* back) {
    for (std::size_t q = 0; q < Q; q += W) {
        F mv;
        __builtin_memcpy(&mv, cost + q, sizeof(F));
        I bv = {};
        for (int j = 1; j < R; ++j) {
            F c;
            __builtin_memcpy(&c, cost + static_cast<std::size_t>(j) * Q + q, sizeof(F));
            const I lt = c < mv;
            mv = lt ? c : mv;
            bv = lt ? (I{} + j) : bv;
        }
        typedef std::uint8_t B __attribute__((vector_size(W)));
        const B bb = __builtin_convertvector(bv, B);
        __builtin_memcpy(back + q, &bb, sizeof(B));
        for (int c = 0; c < R; ++c) {
#if defined(__clang__)  // (no __builtin_shuffle; the same lanes, moved one by one)
            F mrep;
            for (int i = 0; i < W; ++i) mrep[i] = mv[(c * W + i) / R];
#else
            I idx;
            for (int i = 0; i < W; ++i) idx[i] = (c * W + i) / R;
            const F mrep = __builtin_shuffle(mv, idx);
#endif
            const std::size_t s0 = q * R + static_cast<std::size_t>(c) * W;
            F l0;
            __builtin_memcpy(&l0, lut[0] + s0, sizeof(F));
            const F e0 = x[0] - l0;
            F acc = e0 * e0;
            for (int v = 1; v < V; ++v) {
                F lv;
                __builtin_memcpy(&lv, lut[v] + s0, sizeof(F));
                const F ev = x[v] - lv;
                acc = acc + ev * ev;
            }
            const F out = mrep + acc;
            __builtin_memcpy(next + s0, &out, sizeof(F));
        }
    }
}

using StepFn = void (*)(const float*, std::size_t, const float* const*, const float*, float*,
                        std::uint8_t*);

#define FQ_TRELLIS_STEPS(F, I, W, ATTR, NAME)                                                 \
    template <int R, int V>                                                                   \
    ATTR void NAME(const float* cost, std::size_t Q, const float* const* lut, const float* x, \
                   float* next, std::uint8_t* back) {                                         \
        fused_step<F, I, W, R, V>(cost, Q, lut, x, next, back);                               \
    }
FQ_TRELLIS_STEPS(VecF16, VecI16, 16, __attribute__((target("avx512f"))), step_avx512)
FQ_TRELLIS_STEPS(VecF8, VecI8, 8, __attribute__((target("avx2"))), step_avx2)
FQ_TRELLIS_STEPS(VecF4, VecI4, 4, , step_sse2)
#undef FQ_TRELLIS_STEPS

// Kernels: 0 plain loops, 1 SSE2, 2 AVX2, 3 AVX-512.
int best_kernel() {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 3;
    if (__builtin_cpu_supports("avx2")) return 2;
    return 1;
}
std::atomic<int> g_kernel{-1};  // -1: best_kernel()

template <int R, int V>
StepFn step_for(int kernel) {
    switch (kernel) {
        case 3:
            return step_avx512<R, V>;
        case 2:
            return step_avx2<R, V>;
        case 1:
            return step_sse2<R, V>;
        default:
            return nullptr;
    }
}

// The fused step for (R, V) and the kernel in force, null when there is none (then the
// plain loops run).
StepFn fused_step_for(std::size_t R, int V) {
    static const int best = best_kernel();
    const int forced = g_kernel.load(std::memory_order_relaxed);
    const int k = forced < 0 ? best : forced;
    if (V == 1) {
        if (R == 2) return step_for<2, 1>(k);
        if (R == 4) return step_for<4, 1>(k);
        if (R == 8) return step_for<8, 1>(k);
        if (R == 16) return step_for<16, 1>(k);
    } else if (V == 2) {
        if (R == 2) return step_for<2, 2>(k);
        if (R == 4) return step_for<4, 2>(k);
        if (R == 8) return step_for<8, 2>(k);
        if (R == 16) return step_for<16, 2>(k);
    }
    return nullptr;
}
// The widest lane count a fused step may use: Q must be a multiple of it.
constexpr std::size_t k_max_lanes = 16;
#endif

}  // namespace

std::vector<std::string> trellis_kernels() {
#ifdef FQ_TRELLIS_FAST_PATH
    std::vector<std::string> out = {"plain", "sse2"};
    const int best = best_kernel();
    if (best >= 2) out.push_back("avx2");
    if (best >= 3) out.push_back("avx512");
    return out;
#else
    return {"plain"};
#endif
}

bool force_trellis_kernel(const std::string& name) {
#ifdef FQ_TRELLIS_FAST_PATH
    const std::vector<std::string> have = trellis_kernels();
    if (name.empty()) {
        g_kernel = -1;
        return true;
    }
    for (std::size_t i = 0; i < have.size(); ++i)
        if (have[i] == name) {
            g_kernel = static_cast<int>(i);
            return true;
        }
    return false;
#else
    return name.empty() || name == "plain";
#endif
}

float TrellisSearch::search(const float* x, long overlap, TrellisWorkspace& w, TrellisPath& path,
                            std::uint32_t* states) const {
    const int K = m_t.K, V = m_t.V, T = m_T;
    const std::size_t S = m_t.states(), R = std::size_t{1} << K, Q = S >> K;
    constexpr float inf = std::numeric_limits<float>::infinity();
    w.cost.resize(S);
    w.next.resize(S);
    w.dist.resize(S);
    w.m.resize(Q);
    w.back.resize(static_cast<std::size_t>(T) * Q);

    step_distances(m_lut_by_coord, x, S, w.dist.data());
    if (overlap < 0) {
        std::copy(w.dist.begin(), w.dist.end(), w.cost.begin());
    } else {
        // s_0's high L - K bits are the overlap: states c R .. c R + R - 1.
        std::fill(w.cost.begin(), w.cost.end(), inf);
        const std::size_t c = static_cast<std::size_t>(overlap);
        for (std::size_t u = 0; u < R; ++u) w.cost[c * R + u] = w.dist[c * R + u];
    }
#ifdef FQ_TRELLIS_FAST_PATH
    const StepFn fused = Q % k_max_lanes == 0 ? fused_step_for(R, V) : nullptr;
    const float* luts[8] = {};
    for (int v = 0; v < V; ++v) luts[v] = m_lut_by_coord[static_cast<std::size_t>(v)].data();
#endif
    for (int i = 1; i < T; ++i) {
        std::uint8_t* back = &w.back[static_cast<std::size_t>(i) * Q];
#ifdef FQ_TRELLIS_FAST_PATH
        if (fused) {
            fused(w.cost.data(), Q, luts, x + static_cast<std::size_t>(i) * V, w.next.data(), back);
            std::swap(w.cost, w.next);
            continue;
        }
#endif
        predecessor_min(w.cost.data(), Q, R, w.m.data(), back);
        step_distances(m_lut_by_coord, x + static_cast<std::size_t>(i) * V, S, w.dist.data());
        expand(w.m.data(), w.dist.data(), Q, R, w.next.data());
        std::swap(w.cost, w.next);
    }
    // The end state: any, or one whose low L - K bits are the overlap; the lowest on ties.
    std::size_t best = S;
    float best_cost = inf;
    if (overlap < 0) {
        for (std::size_t s = 0; s < S; ++s)
            if (best == S || w.cost[s] < best_cost) {
                best = s;
                best_cost = w.cost[s];
            }
    } else {
        for (std::size_t s = static_cast<std::size_t>(overlap); s < S; s += Q)
            if (best == S || w.cost[s] < best_cost) {
                best = s;
                best_cost = w.cost[s];
            }
    }
    path.resize(static_cast<std::size_t>(T));
    std::size_t s = best;
    path[static_cast<std::size_t>(T - 1)] = static_cast<std::uint8_t>(s & (R - 1));
    if (states) states[T - 1] = static_cast<std::uint32_t>(s);
    for (int i = T - 1; i >= 1; --i) {
        const std::size_t q = s >> K;
        s = q + w.back[static_cast<std::size_t>(i) * Q + q] * Q;
        path[static_cast<std::size_t>(i - 1)] = static_cast<std::uint8_t>(s & (R - 1));
        if (states) states[i - 1] = static_cast<std::uint32_t>(s);
    }
    return best_cost;
}

float TrellisSearch::viterbi_free(const float* x, TrellisWorkspace& w, TrellisPath& path) const {
    return search(x, -1, w, path);
}

float TrellisSearch::viterbi_constrained(const float* x, std::uint32_t overlap, TrellisWorkspace& w,
                                         TrellisPath& path) const {
    require(overlap < (m_t.states() >> m_t.K), "trellis: overlap out of range");
    return search(x, static_cast<long>(overlap), w, path);
}

float TrellisSearch::encode(const float* x, TrellisWorkspace& w, TrellisPath& path) const {
    // Pass 1: the free search on the tape rotated by h = T / 2, so that the seam of the
    // circular stream (step T - 1 to step 0) lies in the middle of that path, where the free
    // search chooses its states knowing both sides. Its state at the original step T - 1
    // fixes the overlap of pass 2, the exact search among paths with that overlap.
    const int T = m_T, V = m_t.V, h = T / 2;
    const auto Vu = static_cast<std::size_t>(V);
    w.rotated.resize(static_cast<std::size_t>(T) * Vu);
    for (int i = 0; i < T; ++i)
        std::copy(x + static_cast<std::size_t>((i + h) % T) * Vu,
                  x + static_cast<std::size_t>((i + h) % T + 1) * Vu,
                  w.rotated.begin() + static_cast<long>(static_cast<std::size_t>(i) * Vu));
    w.states.resize(static_cast<std::size_t>(T));
    search(w.rotated.data(), -1, w, path, w.states.data());
    const std::uint32_t seam = w.states[static_cast<std::size_t>(T - 1 - h)];
    const std::uint32_t overlap = seam & ((m_t.states() >> m_t.K) - 1);
    return search(x, static_cast<long>(overlap), w, path);
}

float TrellisSearch::encode_exact(const float* x, TrellisWorkspace& w, TrellisPath& path) const {
    const std::uint32_t Q = m_t.states() >> m_t.K;
    TrellisPath candidate;
    float best = std::numeric_limits<float>::infinity();
    for (std::uint32_t c = 0; c < Q; ++c) {
        const float cost = search(x, static_cast<long>(c), w, candidate);
        if (c == 0 || cost < best) {
            best = cost;
            path = candidate;
        }
    }
    return best;
}

void TrellisSearch::decode(const TrellisPath& path, float* y, std::uint32_t* states) const {
    const int K = m_t.K, V = m_t.V, T = m_T;
    const std::uint32_t mask = m_t.states() - 1;
    const int W = (m_t.L + K - 1) / K;  // steps that fill a state (T >= W)
    std::uint32_t s = 0;
    for (int j = T - W; j < T; ++j) s = ((s << K) | path[static_cast<std::size_t>(j)]) & mask;
    for (int i = 0; i < T; ++i) {
        s = ((s << K) | path[static_cast<std::size_t>(i)]) & mask;
        if (states != nullptr) states[i] = s;
        const float* row = &m_t.lut[static_cast<std::size_t>(s) * static_cast<std::size_t>(V)];
        std::copy(row, row + V, y + static_cast<std::size_t>(i) * static_cast<std::size_t>(V));
    }
}

void TrellisSearch::decode_packed(const std::uint8_t* in, std::size_t bit_offset, float scale,
                                  float* y) const {
    const int K = m_t.K, V = m_t.V, T = m_T;
    const std::uint32_t mask = m_t.states() - 1, step_mask = (1u << K) - 1;
    const int W = (m_t.L + K - 1) / K;  // steps that fill a state (T >= W)
    // The starting state: the last W steps (tail-biting), read one by one.
    const std::size_t end_byte = (bit_offset + static_cast<std::size_t>(T) * K + 7) / 8;
    std::uint32_t s = 0;
    for (int j = T - W; j < T; ++j) {
        const std::size_t bit = bit_offset + static_cast<std::size_t>(j) * K;
        const std::size_t byte = bit / 8, n = std::min<std::size_t>(3, end_byte - byte);
        std::uint32_t w = 0;  // K <= 8 bits from at most 2 bytes (3 read when there)
        for (std::size_t b = 0; b < n; ++b)
            w |= static_cast<std::uint32_t>(in[byte + b]) << (8 * b);
        s = ((s << K) | ((w >> (bit % 8)) & step_mask)) & mask;
    }
    // The walk: a bit buffer refilled a byte at a time (never past the last step's byte).
    const std::uint8_t* p = in + bit_offset / 8;
    std::uint64_t buf = *p++ >> (bit_offset % 8);
    int have = 8 - static_cast<int>(bit_offset % 8);
    const float* lut = m_t.lut.data();
    for (int i = 0; i < T; ++i) {
        while (have < K) {
            buf |= static_cast<std::uint64_t>(*p++) << have;
            have += 8;
        }
        s = ((s << K) | (static_cast<std::uint32_t>(buf) & step_mask)) & mask;
        buf >>= K;
        have -= K;
        const float* row = lut + static_cast<std::size_t>(s) * static_cast<std::size_t>(V);
        float* out = y + static_cast<std::size_t>(i) * static_cast<std::size_t>(V);
        for (int v = 0; v < V; ++v) out[v] = row[v] * scale;
    }
}

void pack_path(const TrellisPath& path, int K, std::uint8_t* out, std::size_t bit_offset) {
    std::size_t bit = bit_offset;
    for (std::uint8_t u : path)
        for (int b = 0; b < K; ++b, ++bit)
            if ((u >> b) & 1u) out[bit / 8] |= static_cast<std::uint8_t>(1u << (bit % 8));
}

void unpack_path(const std::uint8_t* in, std::size_t bit_offset, int K, int T, TrellisPath& path) {
    path.resize(static_cast<std::size_t>(T));
    const std::size_t end_byte = (bit_offset + static_cast<std::size_t>(T) * K + 7) / 8;
    const std::uint64_t mask = (std::uint64_t{1} << K) - 1;
    std::size_t bit = bit_offset;
    for (int i = 0; i < T; ++i, bit += static_cast<std::size_t>(K)) {
        // Up to 8 bytes from the one holding the step's first bit, never past the code.
        const std::size_t byte = bit / 8, n = std::min<std::size_t>(8, end_byte - byte);
        std::uint64_t w = 0;
        for (std::size_t b = 0; b < n; ++b)
            w |= static_cast<std::uint64_t>(in[byte + b]) << (8 * b);
        path[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>((w >> (bit % 8)) & mask);
    }
}

}  // namespace fq::codecs

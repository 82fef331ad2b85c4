#include "fq/codecs/tree_search.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "fq/codecs/nearest_kernel.hpp"
#include "fq/core/error.hpp"
#include "fq/core/simd_types.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif  // see nearest_kernel.cpp

namespace fq::codecs {

namespace {

constexpr int k_max_probes = 8;

using namespace core::simd;  // VecF4 .. VecI16, lanes<V>

// The T nearest parents of each row y (m, k), rows in SIMD lanes: each parent's distance
// norm - 2 s (the exhaustive search's arithmetic) enters a sorted list of T per lane by
// insertion, after every kept parent it does not beat strictly, so the list is sorted by
// (distance, parent index); NaN and +inf never enter. probe (m, T): parent indices;
// nprobe[r]: how many are valid.
template <class V, class VI, int T>
[[gnu::always_inline]] inline void top_parents(const float* pcw, const float* pnorm, int P, int k,
                                               const float* y, std::size_t m, int* probe,
                                               int* nprobe) {
    constexpr int L = sizeof(V) / sizeof(float);
    const auto ku = static_cast<std::size_t>(k);
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> yt(ku * L);
    for (std::size_t r0 = 0; r0 < m; r0 += L) {
        const std::size_t rows = std::min<std::size_t>(L, m - r0);
        for (std::size_t l = 0; l < static_cast<std::size_t>(L); ++l)
            for (std::size_t j = 0; j < ku; ++j)
                yt[j * L + l] = l < rows ? y[(r0 + l) * ku + j] : 0.0f;
        V kv[T];
        VI kp[T];
        for (int t = 0; t < T; ++t) {
            splat(kv[t], inf);
            splat(kp[t], -1);
        }
        VI pnext, one;  // the parent index in every lane, advanced by a vector add
        splat(pnext, 0);
        splat(one, 1);
        for (int p = 0; p < P; ++p, pnext += one) {
            const float* c = pcw + static_cast<std::size_t>(p) * ku;
            V yj, s;
            std::memcpy(&yj, yt.data(), sizeof(V));
            s = yj * c[0];
            for (std::size_t j = 1; j < ku; ++j) {
                std::memcpy(&yj, yt.data() + j * L, sizeof(V));
                s = s + yj * c[j];
            }
            V d;
            splat(d, pnorm[p]);
            d = d - 2.0f * s;
            VI pi = pnext;
            for (int t = 0; t < T; ++t) {
                const VI lt = d < kv[t];
                const V od = kv[t];
                const VI oi = kp[t];
                kv[t] = lt ? d : od;
                kp[t] = lt ? pi : oi;
                d = lt ? od : d;
                pi = lt ? oi : pi;
            }
        }
        for (std::size_t l = 0; l < rows; ++l) {
            int kept = 0;
            for (int t = 0; t < T; ++t)
                if (kv[t][l] < inf) probe[(r0 + l) * T + kept++] = kp[t][l];
            nprobe[r0 + l] = kept;
        }
    }
}

template <class V, class VI>
[[gnu::always_inline]] inline void top_parents_any(const float* pcw, const float* pnorm, int P,
                                                   int k, int T, const float* y, std::size_t m,
                                                   int* probe, int* nprobe) {
    switch (T) {
#define FQ_TOP(TT)                                                     \
    case TT:                                                           \
        top_parents<V, VI, TT>(pcw, pnorm, P, k, y, m, probe, nprobe); \
        return;
        FQ_TOP(1)
        FQ_TOP(2)
        FQ_TOP(3)
        FQ_TOP(4)
        FQ_TOP(5)
        FQ_TOP(6)
        FQ_TOP(7)
        FQ_TOP(8)
#undef FQ_TOP
        default:
            return;
    }
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define FQ_TREE_X86 1
__attribute__((target("avx512f"))) void top_avx512(const float* pcw, const float* pnorm, int P,
                                                   int k, int T, const float* y, std::size_t m,
                                                   int* probe, int* nprobe) {
    top_parents_any<VecF16, VecI16>(pcw, pnorm, P, k, T, y, m, probe, nprobe);
}
__attribute__((target("avx2"))) void top_avx2(const float* pcw, const float* pnorm, int P, int k,
                                              int T, const float* y, std::size_t m, int* probe,
                                              int* nprobe) {
    top_parents_any<VecF8, VecI8>(pcw, pnorm, P, k, T, y, m, probe, nprobe);
}
#endif
void top_sse2(const float* pcw, const float* pnorm, int P, int k, int T, const float* y,
              std::size_t m, int* probe, int* nprobe) {
    top_parents_any<VecF4, VecI4>(pcw, pnorm, P, k, T, y, m, probe, nprobe);
}

void nearest_parents(const float* pcw, const float* pnorm, int P, int k, int T, const float* y,
                     std::size_t m, int* probe, int* nprobe) {
#ifdef FQ_TREE_X86
    switch (detail::best_search_isa()) {
        case detail::SearchIsa::avx512:
            top_avx512(pcw, pnorm, P, k, T, y, m, probe, nprobe);
            return;
        case detail::SearchIsa::avx2:
            top_avx2(pcw, pnorm, P, k, T, y, m, probe, nprobe);
            return;
        default:
            break;
    }
#endif
    top_sse2(pcw, pnorm, P, k, T, y, m, probe, nprobe);
}

// The T shells whose radius is nearest each row's norm: rho = |y| (float, coordinates in
// order), then two pointers out from the first radius >= rho; on equal gaps the smaller
// radius (lower shell) first. radius: P values, non-decreasing.
void nearest_shells(const float* radius, int P, int k, int T, const float* y, std::size_t m,
                    int* probe, int* nprobe) {
    const auto ku = static_cast<std::size_t>(k);
    for (std::size_t r = 0; r < m; ++r) {
        float s = 0.0f;
        for (std::size_t j = 0; j < ku; ++j) s += y[r * ku + j] * y[r * ku + j];
        const float rho = std::sqrt(s);
        // The first radius >= rho, counted without branches (a binary search mispredicts
        // about every step; P compares vectorise).
        int hi = 0;
        for (int p = 0; p < P; ++p) hi += radius[p] < rho ? 1 : 0;
        int lo = hi - 1, kept = 0;
        while (kept < T && (lo >= 0 || hi < P)) {
            const bool take_lo = hi >= P || (lo >= 0 && rho - radius[lo] <= radius[hi] - rho);
            probe[r * static_cast<std::size_t>(T) + static_cast<std::size_t>(kept++)] =
                take_lo ? lo-- : hi++;
        }
        nprobe[r] = kept;
    }
}

double dist2(const double* a, const double* b, int k) {
    double s = 0;
    for (int j = 0; j < k; ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
    return s;
}

// k-means of the codewords (double): parents start at codewords 0, N/P, 2N/P, ...;
// assignment ties to the lower parent; an empty parent keeps its place. parent: (P, k).
void kmeans_parents(const BlockCodebook& cb, int iterations, std::vector<double>& parent,
                    std::vector<int>& owner) {
    const int k = cb.k, N = cb.N;
    const auto ku = static_cast<std::size_t>(k);
    const int P = static_cast<int>(parent.size() / ku);
    for (int p = 0; p < P; ++p)
        std::copy_n(cb.codeword(static_cast<int>(static_cast<long long>(p) * N / P)), k,
                    parent.begin() + static_cast<std::ptrdiff_t>(p * ku));
    auto assign_owners = [&] {
        for (int n = 0; n < N; ++n) {
            double bd = std::numeric_limits<double>::infinity();
            for (int p = 0; p < P; ++p) {
                const double dd = dist2(cb.codeword(n), parent.data() + p * ku, k);
                if (dd < bd) {
                    bd = dd;
                    owner[n] = p;
                }
            }
        }
    };
    for (int it = 0; it < iterations; ++it) {
        assign_owners();
        std::vector<double> sum(parent.size(), 0.0);
        std::vector<int> count(P, 0);
        for (int n = 0; n < N; ++n) {
            ++count[owner[n]];
            for (int j = 0; j < k; ++j) sum[owner[n] * ku + j] += cb.codeword(n)[j];
        }
        for (int p = 0; p < P; ++p)
            if (count[p] > 0)
                for (int j = 0; j < k; ++j) parent[p * ku + j] = sum[p * ku + j] / count[p];
    }
    assign_owners();
}

// Codewords order[i] of cw (rows of k doubles) -> rows begin + i of out (float, row-major)
// with their squared norms summed in double (as NearestCodeword computes them).
void copy_rows(const std::vector<double>& cw, const std::vector<std::uint32_t>& order, int k,
               std::size_t begin, std::vector<float>& out, std::vector<float>& norms) {
    const auto ku = static_cast<std::size_t>(k);
    for (std::size_t i = 0; i < order.size(); ++i) {
        double s = 0;
        for (std::size_t j = 0; j < ku; ++j) {
            const double v = cw[order[i] * ku + j];
            out[(begin + i) * ku + j] = static_cast<float>(v);
            s += v * v;
        }
        norms[begin + i] = static_cast<float>(s);
    }
}

}  // namespace

TreeSearch::TreeSearch(const BlockCodebook& cb, const TreeSearchOptions& opt)
    : m_k(cb.k), m_N(cb.N) {
    require(cb.k >= 2 && cb.N >= 1, "tree search: needs k >= 2 and N >= 1");
    require(cb.codewords.size() == static_cast<std::size_t>(cb.k) * cb.N,
            "tree search: codeword array has the wrong size");
    m_P = opt.parents > 0 ? opt.parents
                          : std::max(1, static_cast<int>(std::lround(std::sqrt(double(cb.N)))));
    require(m_P <= m_N, "tree search: more parents than codewords");
    m_T = opt.probes != 0 ? opt.probes : (cb.k <= 4 ? 4 : 8);
    require(m_T >= 1 && m_T <= m_P && m_T <= k_max_probes,
            "tree search: need 1 <= probes <= min(parents, " + std::to_string(k_max_probes) + ")");
    const int k = m_k, N = m_N, P = m_P;
    const auto ku = static_cast<std::size_t>(k);
    m_grouping = opt.grouping;
    std::vector<int> owner(N, 0);
    if (m_grouping == TreeGrouping::shells) {
        // Codewords by (norm, index), cut into P runs of consecutive norms; a shell's radius
        // is its mean norm (probes come from the radii: no parent table).
        std::vector<double> norm(N);
        for (int n = 0; n < N; ++n) {
            double s = 0;
            for (int j = 0; j < k; ++j) s += cb.codeword(n)[j] * cb.codeword(n)[j];
            norm[n] = std::sqrt(s);
        }
        std::vector<int> by_norm(N);
        for (int n = 0; n < N; ++n) by_norm[n] = n;
        std::stable_sort(by_norm.begin(), by_norm.end(),
                         [&](int a, int b) { return norm[a] < norm[b]; });
        m_shell_radius.assign(P, 0.0f);
        for (int p = 0; p < P; ++p) {
            const int b = static_cast<int>(static_cast<long long>(p) * N / P);
            const int e = static_cast<int>(static_cast<long long>(p + 1) * N / P);
            double sum = 0;
            for (int i = b; i < e; ++i) {
                owner[by_norm[i]] = p;
                sum += norm[by_norm[i]];
            }
            m_shell_radius[p] = static_cast<float>(sum / std::max(1, e - b));
        }
        // Float rounding could break the order of nearly equal means: keep it monotone.
        for (int p = 1; p < P; ++p)
            m_shell_radius[p] = std::max(m_shell_radius[p], m_shell_radius[p - 1]);
    } else {
        std::vector<double> parent(static_cast<std::size_t>(P) * ku);
        kmeans_parents(cb, opt.iterations, parent, owner);
        m_parent_cw.assign(static_cast<std::size_t>(P) * ku, 0.0f);
        m_parent_norms.assign(P, 0.0f);
        std::vector<std::uint32_t> porder(P);
        for (int p = 0; p < P; ++p) porder[p] = static_cast<std::uint32_t>(p);
        copy_rows(parent, porder, k, 0, m_parent_cw, m_parent_norms);
    }

    // Each parent's (shell's) children, ascending original index, contiguous.
    std::vector<std::vector<std::uint32_t>> children(P);
    for (int n = 0; n < N; ++n) children[owner[n]].push_back(static_cast<std::uint32_t>(n));
    m_child_begin.assign(P + 1, 0);
    for (int p = 0; p < P; ++p)
        m_child_begin[p + 1] = m_child_begin[p] + static_cast<std::uint32_t>(children[p].size());
    m_child_cw.assign(static_cast<std::size_t>(N) * ku, 0.0f);
    m_child_norms.assign(N, 0.0f);
    m_child_index.assign(N, 0);
    for (int p = 0; p < P; ++p) {
        copy_rows(cb.codewords, children[p], k, m_child_begin[p], m_child_cw, m_child_norms);
        std::copy(children[p].begin(), children[p].end(), m_child_index.begin() + m_child_begin[p]);
    }
}

double TreeSearch::mean_distances() const {
    // Children of T parents, each parent weighted by its share of the codewords.
    double mean_children = 0;
    for (int p = 0; p < m_P; ++p) {
        const double c = m_child_begin[p + 1] - m_child_begin[p];
        mean_children += c * c;
    }
    return (m_grouping == TreeGrouping::shells ? 0 : m_P) + m_T * mean_children / std::max(1, m_N);
}

void TreeSearch::assign(const float* y, std::size_t n, std::uint32_t* idx) const {
    // Batches of rows: (1) each row's T nearest parents; (2) the rows bucketed by probed
    // parent; (3) each parent's bucket searched over its children by the fused exhaustive
    // kernel (rows in SIMD lanes, nearest_kernel.hpp), which also returns the distance;
    // (4) each row keeps its smallest (distance, original index) over its T probes.
    const int k = m_k, P = m_P, T = m_T;
    const auto ku = static_cast<std::size_t>(k);
    const float inf = std::numeric_limits<float>::infinity();
    const auto isa = detail::best_search_isa();
    constexpr std::size_t batch = 4096;
    const std::size_t cap = std::min(n, batch);
    std::vector<int> probe(cap * T), nprobe(cap);
    std::vector<std::uint32_t> bucket_begin(P + 1), fill(P), bucket_rows(cap * T), local(cap * T);
    std::vector<float> ybuf(cap * T * ku), bdist(cap * T), best(cap);
    for (std::size_t r0 = 0; r0 < n; r0 += batch) {
        const std::size_t m = std::min(batch, n - r0);
        const float* yb = y + r0 * ku;
        std::fill(bucket_begin.begin(), bucket_begin.end(), 0u);
        if (m_grouping == TreeGrouping::shells)
            nearest_shells(m_shell_radius.data(), P, k, T, yb, m, probe.data(), nprobe.data());
        else
            nearest_parents(m_parent_cw.data(), m_parent_norms.data(), P, k, T, yb, m, probe.data(),
                            nprobe.data());
        for (std::size_t r = 0; r < m; ++r)
            for (int u = 0; u < nprobe[r]; ++u) ++bucket_begin[probe[r * T + u] + 1];
        for (int p = 0; p < P; ++p) bucket_begin[p + 1] += bucket_begin[p];
        std::copy(bucket_begin.begin(), bucket_begin.end() - 1, fill.begin());
        for (std::size_t r = 0; r < m; ++r)
            for (int u = 0; u < nprobe[r]; ++u) {
                const std::uint32_t slot = fill[probe[r * T + u]]++;
                bucket_rows[slot] = static_cast<std::uint32_t>(r);
                std::copy_n(yb + r * ku, ku, ybuf.begin() + static_cast<std::ptrdiff_t>(slot * ku));
            }
        for (int p = 0; p < P; ++p) {
            const std::size_t b0 = bucket_begin[p], b1 = bucket_begin[p + 1];
            if (b0 == b1) continue;
            const std::size_t c0 = m_child_begin[p];
            const int count = static_cast<int>(m_child_begin[p + 1] - c0);
            if (count == 0) {  // a parent left without children (k-means): nothing to offer
                std::fill(bdist.begin() + static_cast<std::ptrdiff_t>(b0),
                          bdist.begin() + static_cast<std::ptrdiff_t>(b1), inf);
                continue;
            }
            detail::nearest_rows(isa, m_child_cw.data() + c0 * ku, m_child_norms.data() + c0, count,
                                 k, ybuf.data() + b0 * ku, b1 - b0, local.data() + b0,
                                 bdist.data() + b0);
            for (std::size_t b = b0; b < b1; ++b) local[b] = m_child_index[c0 + local[b]];
        }
        std::fill(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(m), inf);
        for (std::size_t r = 0; r < m; ++r) idx[r0 + r] = static_cast<std::uint32_t>(m_N);
        for (std::size_t b = 0; b < bucket_begin[P]; ++b) {
            const std::uint32_t r = bucket_rows[b];
            const float dv = bdist[b];
            if (dv < best[r] || (dv == best[r] && dv < inf && local[b] < idx[r0 + r])) {
                best[r] = dv;
                idx[r0 + r] = local[b];
            }
        }
        for (std::size_t r = 0; r < m; ++r)
            if (!(best[r] < inf)) idx[r0 + r] = 0;
    }
}

}  // namespace fq::codecs

#include "fq/codecs/nearest.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "fq/core/error.hpp"

namespace fq::codecs {

namespace {
// Rows per matrix product: the score block (rows x N floats) stays in L2 for N <= 4096.
constexpr std::size_t k_rows = 128;

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// k = 1 with at most this many midpoints: count thresholds instead of a binary search.
constexpr std::size_t k_max_count_mids = 32;

// Smallest float u with (float v >= u) <=> (double(v) > mid) for every float v: the float
// just above mid (mid itself rounded up, or the next float when mid is a float).
float strict_upper_float(double mid) {
    float f = static_cast<float>(mid);
    if (!(static_cast<double>(f) > mid))
        f = std::nextafter(f, std::numeric_limits<float>::infinity());
    return f;
}

// First index of the minimum of norms[c] - 2 s[c] over c < N (strict <, so ties go to the
// lowest index; 0 when nothing is below +inf, NaN never chosen), as the scalar loop.
std::uint32_t argmin_scalar(const float* norms, const float* s, int N) {
    float best = std::numeric_limits<float>::infinity();
    std::uint32_t bi = 0;
    for (int c = 0; c < N; ++c) {
        const float dist = norms[c] - 2.0f * s[c];
        if (dist < best) {
            best = dist;
            bi = static_cast<std::uint32_t>(c);
        }
    }
    return bi;
}

#if defined(__SSE2__)
// Same result as argmin_scalar for N a multiple of 8, without its unpredictable branch
// (which dominated the N = 256 search). 8 lanes (2 x 4) each keep the first index of their
// own minimum (minps(d, best) = d < best ? d : best, the same strict compare); the lanes
// are then merged by (value, index), which yields the lowest index among the global minima.
// The distance is computed with the same two float operations, norms - (2 * s).
std::uint32_t argmin_sse2(const float* norms, const float* s, int N) {
    const __m128 two = _mm_set1_ps(2.0f);
    const __m128i eight = _mm_set1_epi32(8);
    __m128 best0 = _mm_set1_ps(std::numeric_limits<float>::infinity()), best1 = best0;
    __m128i bi0 = _mm_setzero_si128(), bi1 = bi0;
    __m128i ci0 = _mm_setr_epi32(0, 1, 2, 3), ci1 = _mm_setr_epi32(4, 5, 6, 7);
    for (int c = 0; c < N; c += 8) {
        const __m128 d0 = _mm_sub_ps(_mm_loadu_ps(norms + c), _mm_mul_ps(two, _mm_loadu_ps(s + c)));
        const __m128 d1 =
            _mm_sub_ps(_mm_loadu_ps(norms + c + 4), _mm_mul_ps(two, _mm_loadu_ps(s + c + 4)));
        const __m128i lt0 = _mm_castps_si128(_mm_cmplt_ps(d0, best0));
        const __m128i lt1 = _mm_castps_si128(_mm_cmplt_ps(d1, best1));
        best0 = _mm_min_ps(d0, best0);
        best1 = _mm_min_ps(d1, best1);
        bi0 = _mm_or_si128(_mm_and_si128(lt0, ci0), _mm_andnot_si128(lt0, bi0));
        bi1 = _mm_or_si128(_mm_and_si128(lt1, ci1), _mm_andnot_si128(lt1, bi1));
        ci0 = _mm_add_epi32(ci0, eight);
        ci1 = _mm_add_epi32(ci1, eight);
    }
    alignas(16) float v[8];
    alignas(16) std::uint32_t ix[8];
    _mm_store_ps(v, best0);
    _mm_store_ps(v + 4, best1);
    _mm_store_si128(reinterpret_cast<__m128i*>(ix), bi0);
    _mm_store_si128(reinterpret_cast<__m128i*>(ix + 4), bi1);
    float bv = v[0];
    std::uint32_t bi = ix[0];
    for (int l = 1; l < 8; ++l) {
        if (v[l] < bv || (v[l] == bv && ix[l] < bi)) {
            bv = v[l];
            bi = ix[l];
        }
    }
    return bi;
}
#endif
}  // namespace

NearestCodeword::NearestCodeword(const BlockCodebook& cb) : m_k(cb.k), m_N(cb.N) {
    require(cb.k >= 1 && cb.N >= 1, "nearest codeword: empty codebook");
    require(cb.codewords.size() == static_cast<std::size_t>(cb.k) * cb.N,
            "nearest codeword: codeword array has the wrong size");
    m_cwd = cb.codewords;
    m_cw.assign(m_cwd.begin(), m_cwd.end());
    m_norms.resize(m_N);
    for (int n = 0; n < m_N; ++n) {
        double s = 0;
        for (int j = 0; j < m_k; ++j) s += m_cwd[n * m_k + j] * m_cwd[n * m_k + j];
        m_norms[n] = static_cast<float>(s);
    }
    if (m_k == 1) {
        m_order.resize(m_N);
        std::iota(m_order.begin(), m_order.end(), 0u);
        std::stable_sort(m_order.begin(), m_order.end(),
                         [&](std::uint32_t a, std::uint32_t b) { return m_cwd[a] < m_cwd[b]; });
        m_mid.resize(m_N > 0 ? m_N - 1 : 0);
        for (int i = 0; i + 1 < m_N; ++i)
            m_mid[i] = 0.5 * (m_cwd[m_order[i]] + m_cwd[m_order[i + 1]]);
        m_up.resize(m_mid.size());
        for (std::size_t i = 0; i < m_mid.size(); ++i) m_up[i] = strict_upper_float(m_mid[i]);
    }
}

void NearestCodeword::assign(const float* y, std::size_t n, std::uint32_t* idx) const {
    if (m_k == 1) {
        if (m_mid.size() <= k_max_count_mids) {
            // Fast path (scalar codebooks, a few levels): the cell of v is the number of
            // midpoints below v, counted with float thresholds m_up (v >= m_up[t] exactly
            // when double(v) > m_mid[t], see strict_upper_float), a loop the compiler
            // vectorises, instead of a branchy binary search in double. Same result as the
            // lower_bound below, including the tie rule.
            for (std::size_t i = 0; i < n; ++i) idx[i] = 0;
            for (const float u : m_up)
                for (std::size_t i = 0; i < n; ++i) idx[i] += y[i] >= u ? 1u : 0u;
            for (std::size_t i = 0; i < n; ++i) {
                const std::size_t pos = idx[i];
                std::uint32_t best = m_order[pos];
                if (pos < m_mid.size() && m_mid[pos] == static_cast<double>(y[i]))
                    best = std::min(best, m_order[pos + 1]);
                idx[i] = best;
            }
            return;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const double v = y[i];
            // First midpoint >= v: the cell of v. At an exact midpoint both neighbours are
            // equally near; take the lower original index.
            const auto it = std::lower_bound(m_mid.begin(), m_mid.end(), v);
            auto pos = static_cast<std::size_t>(it - m_mid.begin());
            std::uint32_t best = m_order[pos];
            if (it != m_mid.end() && *it == v) best = std::min(best, m_order[pos + 1]);
            idx[i] = best;
        }
        return;
    }
    const Eigen::Map<const RowMatF> cw(m_cw.data(), m_N, m_k);
    RowMatF scores(static_cast<Eigen::Index>(std::min(n, k_rows)), m_N);
    for (std::size_t r0 = 0; r0 < n; r0 += k_rows) {
        const auto rows = static_cast<Eigen::Index>(std::min(k_rows, n - r0));
        const Eigen::Map<const RowMatF> Y(y + r0 * m_k, rows, m_k);
        scores.topRows(rows).noalias() = Y * cw.transpose();
        for (Eigen::Index r = 0; r < rows; ++r) {
            const float* s = scores.data() + r * m_N;
            std::uint32_t bi;
#if defined(__SSE2__)
            if (m_N >= 64 && m_N % 8 == 0)
                bi = argmin_sse2(m_norms.data(), s, m_N);
            else
#endif
                bi = argmin_scalar(m_norms.data(), s, m_N);
            idx[r0 + r] = bi;
        }
    }
}

void NearestCodeword::assign(const double* y, std::size_t n, std::uint32_t* idx,
                             double* dist2) const {
    // The search runs in float (twice the SIMD width of double; a float-level near tie can
    // only cost ~1e-7 relative distortion), the reported distance is exact in double.
    std::vector<float> yf(std::min(n, k_rows) * m_k);
    for (std::size_t r0 = 0; r0 < n; r0 += k_rows) {
        const std::size_t rows = std::min(k_rows, n - r0);
        for (std::size_t i = 0; i < rows * m_k; ++i) yf[i] = static_cast<float>(y[r0 * m_k + i]);
        assign(yf.data(), rows, idx + r0);
        for (std::size_t r = 0; r < rows; ++r) {
            const double* yr = y + (r0 + r) * m_k;
            const double* c = m_cwd.data() + static_cast<std::size_t>(idx[r0 + r]) * m_k;
            double d2 = 0;
            for (int j = 0; j < m_k; ++j) d2 += (yr[j] - c[j]) * (yr[j] - c[j]);
            dist2[r0 + r] = d2;
        }
    }
}

}  // namespace fq::codecs

#include "fq/codecs/nearest.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "fq/codecs/nearest_kernel.hpp"
#include "fq/core/error.hpp"

namespace fq::codecs {

namespace {
// Rows converted from double to float at a time by the double search.
constexpr std::size_t k_rows = 1024;

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
        m_sorted = true;
        for (int i = 0; i < m_N; ++i)
            m_sorted = m_sorted && m_order[i] == static_cast<std::uint32_t>(i);
        m_up.resize(m_mid.size());
        for (std::size_t i = 0; i < m_mid.size(); ++i) m_up[i] = strict_upper_float(m_mid[i]);
    }
}

void NearestCodeword::assign(const float* y, std::size_t n, std::uint32_t* idx) const {
    if (m_k == 1) {
        if (m_mid.size() <= k_max_count_mids) {
            // Fast path (scalar codebooks, a few levels): the cell of v is the number of
            // midpoints below v, counted with float thresholds m_up (v >= m_up[t] exactly
            // when double(v) > m_mid[t], see strict_upper_float) by the SIMD count of
            // nearest_kernel.hpp, instead of a branchy binary search in double. Same result
            // as the lower_bound below, including the tie rule.
            detail::count_at_or_above(detail::best_search_isa(), m_up.data(),
                                      static_cast<int>(m_up.size()), y, n, idx);
            // Codewords already ascending (every scalar codebook): the cell is the index,
            // and at an exact midpoint the lower of the two equidistant indices is the cell.
            if (m_sorted) return;
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
    detail::nearest_rows(detail::best_search_isa(), m_cw.data(), m_norms.data(), m_N, m_k, y, n,
                         idx);
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

#include "fq/codecs/nearest.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <limits>
#include <numeric>

#include "fq/core/error.hpp"

namespace fq::codecs {

namespace {
// Rows per matrix product: the score block (rows x N floats) stays in L2 for N <= 4096.
constexpr std::size_t k_rows = 128;

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
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
    }
}

void NearestCodeword::assign(const float* y, std::size_t n, std::uint32_t* idx) const {
    if (m_k == 1) {
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
            float best = std::numeric_limits<float>::infinity();
            std::uint32_t bi = 0;
            for (int c = 0; c < m_N; ++c) {
                const float dist = m_norms[c] - 2.0f * s[c];
                if (dist < best) {
                    best = dist;
                    bi = static_cast<std::uint32_t>(c);
                }
            }
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

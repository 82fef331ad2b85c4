// NearestCodeword: exhaustive nearest-codeword search for a BlockCodebook,
//   idx(y) = argmin_n ||c_n||^2 - 2 <y, c_n>   (ties: lowest n),
// with precomputed norms ||c_n||^2, for k >= 2 by the fused SIMD kernel of nearest_kernel.hpp
// (distances and argmin in registers; its header defines the exact float arithmetic). For k = 1 the
// codewords are sorted once and the search locates the value among the midpoints (a count of the
// midpoints below it for up to 32 midpoints, a binary search above). Results depend on each row
// alone, never on the batch size, the thread count or the SIMD path taken.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fq/codecs/codebook.hpp"

namespace fq::codecs {

class NearestCodeword {
public:
    NearestCodeword() = default;
    explicit NearestCodeword(const BlockCodebook& cb);

    int k() const { return m_k; }
    int size() const { return m_N; }

    // y: (n, k) row-major float -> idx: n indices in [0, N). Single-threaded; callers
    // parallelise over rows.
    void assign(const float* y, std::size_t n, std::uint32_t* idx) const;
    // Same for double rows (searched in float), and the exact squared distance
    // ||y - c_idx||^2 in double into dist2 (n values).
    void assign(const double* y, std::size_t n, std::uint32_t* idx, double* dist2) const;

private:
    int m_k = 0;
    int m_N = 0;
    std::vector<float> m_cw;     // (N, k) row-major float
    std::vector<double> m_cwd;   // (N, k) row-major double
    std::vector<float> m_norms;  // ||c_n||^2 in float, as used by the float search
    // k == 1: order of codewords by value and the midpoints between consecutive ones.
    std::vector<std::uint32_t> m_order;
    std::vector<double> m_mid;
    bool m_sorted = false;    // k = 1: m_order is the identity
    std::vector<float> m_up;  // k = 1: float thresholds, v >= m_up[t] <=> double(v) > m_mid[t]
};

}  // namespace fq::codecs

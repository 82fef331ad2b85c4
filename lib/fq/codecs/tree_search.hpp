// TreeSearch: a two-level approximate nearest-codeword search for large block codebooks
// (FibQuant paper, appendix "fast encoders"). The N codewords are clustered into P parents
// (k-means of the codewords themselves, deterministic); every codeword is the child of its
// nearest parent. A block y is compared with the P parents, then only with the children of
// its T nearest parents: P + T N / P distances instead of N (N = 4096, P = 64, T = 4: 320).
//
// Distances are the exhaustive search's, dist_n = norms[n] - 2 s_n in float with s_n summed
// in coordinate order (nearest_kernel.hpp), and exact ties go to the lowest codeword index, so
// whenever the exhaustive winner is among the probed children the result is the same index;
// otherwise it is the best probed codeword (a slightly larger distance). Results depend on
// each row alone, never on the batch or thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fq/codecs/codebook.hpp"

namespace fq::codecs {

struct TreeSearchOptions {
    int parents = 0;  // P; 0 = round(sqrt(N))
    int probes = 0;   // T, 1 <= T <= min(P, 8); 0 = 4 for k <= 4, 8 above (measured: N = 4096
                      // k = 4 (64, 4) loses 0.006 dB at 6x; k = 8 (64, 8) 0.011 dB at 3.8x)
    int iterations = 25;
};

class TreeSearch {
public:
    TreeSearch() = default;
    // Throws UsageError unless k >= 2, N >= 1, 1 <= parents <= N, 1 <= probes <= min(parents, 8).
    TreeSearch(const BlockCodebook& cb, const TreeSearchOptions& opt = {});

    int k() const { return m_k; }
    int size() const { return m_N; }
    int parents() const { return m_P; }
    int probes() const { return m_T; }
    // Distances evaluated per block: P + the mean children of T parents (a bound's average).
    double mean_distances() const;

    // y: (n, k) row-major float -> idx: n indices in [0, N).
    void assign(const float* y, std::size_t n, std::uint32_t* idx) const;

private:
    int m_k = 0, m_N = 0, m_P = 0, m_T = 0;
    std::vector<float> m_parent_cw, m_parent_norms;  // (P, k) row-major, squared norms
    std::vector<std::uint32_t> m_child_begin;        // P + 1 offsets into the children
    std::vector<float> m_child_cw, m_child_norms;    // (N, k) grouped by parent
    std::vector<std::uint32_t> m_child_index;        // their original codeword indices
};

}  // namespace fq::codecs

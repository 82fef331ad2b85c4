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

// How codewords are grouped and a block's groups chosen:
//   kmeans  parents are k-means centroids of the codewords; a block probes the T parents
//           nearest to it (P distances);
//   shells  shell-first (paper, appendix): the codewords sorted by norm and cut into P shells
//           of N / P consecutive norms, each with its mean radius; a block probes the T shells
//           whose radius is nearest its own norm (a binary search, no distance), then
//           searches only their codewords. Made for radial-angular codebooks (L radius levels
//           x M directions, the k = 3 multishell init): there (N = 4096, P = L = 64) T = 1
//           loses 0.047 dB at 10x the exhaustive speed. Lloyd-trained codebooks have no shell
//           structure left: on the shipped N = 4096 ones it loses 1.4-5.6 dB, so the fib
//           codec offers the k-means tree only (bench/README.md, "shell-first").
enum class TreeGrouping { kmeans, shells };

struct TreeSearchOptions {
    TreeGrouping grouping = TreeGrouping::kmeans;
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
    TreeGrouping grouping() const { return m_grouping; }
    // Distances evaluated per block: P + the mean children of T parents (a bound's average).
    double mean_distances() const;

    // y: (n, k) row-major float -> idx: n indices in [0, N).
    void assign(const float* y, std::size_t n, std::uint32_t* idx) const;

private:
    int m_k = 0, m_N = 0, m_P = 0, m_T = 0;
    TreeGrouping m_grouping = TreeGrouping::kmeans;
    std::vector<float> m_shell_radius;               // shells: P mean radii, non-decreasing
    std::vector<float> m_parent_cw, m_parent_norms;  // kmeans: (P, k) row-major, squared norms
    std::vector<std::uint32_t> m_child_begin;        // P + 1 offsets into the children
    std::vector<float> m_child_cw, m_child_norms;    // (N, k) grouped by parent
    std::vector<std::uint32_t> m_child_index;        // their original codeword indices
};

}  // namespace fq::codecs

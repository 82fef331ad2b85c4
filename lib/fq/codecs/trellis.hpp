// The tail-biting "bitshift" trellis of the tcq family (QTIP's trellis, Tseng et al. 2024;
// issue 11; docs/FORMAT.md §1.9). One vector of d = T V numbers (the rotated, normalised
// coordinates scaled to unit variance) is one tape of T steps:
//   - the code is a circular bitstream of T K bits; step i holds bits [i K, i K + K), its
//     value u_i (LSB first);
//   - the state after step i is s_i = ((s_{i-1} << K) | u_i) mod 2^L, an L-bit window of
//     the stream; circular (tail-biting): s_{-1} = s_{T-1}, so the stream has no start-up
//     bits and the rate is exactly K / V bits per number;
//   - step i reconstructs its V numbers as lut[s_i] (a table of 2^L rows of V floats).
// Decoding is a shift register and a table lookup. Encoding searches the path of least
// squared error with the Viterbi algorithm over the 2^L states (2^K predecessors each):
//   - viterbi_free: the best path with any start and end (not tail-biting);
//   - viterbi_constrained(c): the best tail-biting path whose overlap, the low L - K bits of
//     s_{T-1} (= the high L - K bits of s_0), is c;
//   - encode (the codec's search): viterbi_free on the tape rotated by T / 2 (the seam of
//     the circle in the middle), then viterbi_constrained with the overlap of that path's
//     state at the seam: two passes, a valid tail-biting path, near the optimum
//     (tests/unit/codecs/test_trellis.cpp measures its loss against encode_exact);
//   - encode_exact: viterbi_constrained for every overlap, the best: the optimal tail-biting
//     path (2^(L-K) passes; for tests and small L).
// Ties are broken towards the lower state/predecessor index, so results do not depend on
// vectorisation or threads. Costs are accumulated in float, step by step, elementwise.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fq::codecs {

struct Trellis {
    int L = 0;               // state bits, 1..20 (K <= L)
    int K = 0;               // bits per step, 1..8
    int V = 0;               // numbers per step, 1..8
    std::vector<float> lut;  // 2^L rows of V numbers, row-major

    std::uint32_t states() const { return 1u << L; }
};

// Checks the sizes (UsageError): 1 <= K <= L <= 20, K <= 8, 1 <= V <= 8, lut of 2^L V
// numbers, all finite.
void validate(const Trellis& t);

// A path: the T step values u_i (each < 2^K), i.e. the bitstream.
using TrellisPath = std::vector<std::uint8_t>;

// Reusable buffers of one search (one per thread).
struct TrellisWorkspace {
    std::vector<float> cost, next, m, dist, rotated;
    std::vector<std::uint32_t> states;
    std::vector<std::uint8_t> back;  // T x 2^(L-K) predecessor choices
};

// The largest search TrellisSearch accepts: T 2^(L-K) bytes of back pointers (256 MiB).
inline constexpr double k_max_search_bytes = 268435456.0;

class TrellisSearch {
public:
    TrellisSearch() = default;
    // T steps (T K >= L so that each state is a window of the stream, T 2^(L-K) at most
    // k_max_search_bytes). UsageError otherwise.
    TrellisSearch(const Trellis& t, int T);

    int steps() const { return m_T; }
    const Trellis& trellis() const { return m_t; }

    // x: T V numbers. The path and its squared error (float, the search's own sum).
    float viterbi_free(const float* x, TrellisWorkspace& w, TrellisPath& path) const;
    float viterbi_constrained(const float* x, std::uint32_t overlap, TrellisWorkspace& w,
                              TrellisPath& path) const;
    float encode(const float* x, TrellisWorkspace& w, TrellisPath& path) const;
    float encode_exact(const float* x, TrellisWorkspace& w, TrellisPath& path) const;

    // The T V numbers a tail-biting path decodes to; the state of every step in `states`
    // when not null (T entries).
    void decode(const TrellisPath& path, float* y, std::uint32_t* states = nullptr) const;
    // The same from the packed bitstream (pack_path's layout: step i at bits [i K, i K + K)
    // after bit_offset, LSB first; reads no byte past the last step's), each number times
    // `scale`: equals decode(unpack_path(...)) then y *= scale, bit for bit, without the path.
    void decode_packed(const std::uint8_t* in, std::size_t bit_offset, float scale, float* y) const;

private:
    Trellis m_t;
    int m_T = 0;
    std::vector<std::vector<float>> m_lut_by_coord;  // V arrays of 2^L numbers (SoA)
    // The search over all steps; `overlap` < 0: free start and end.
    // states: when not null, the T states of the path found.
    float search(const float* x, long overlap, TrellisWorkspace& w, TrellisPath& path,
                 std::uint32_t* states = nullptr) const;
};

// The step kernels this machine runs ("plain" loops, "sse2", "avx2", "avx512"; the fused
// ones need 2^(L-K) a multiple of 16, K <= 4 and V <= 2, else the plain loops run), all
// giving the same bits; force_trellis_kernel picks one for every search ("" = the best, the
// default; false if unavailable): for tests and benchmarks, not thread-safe against running
// searches.
std::vector<std::string> trellis_kernels();
bool force_trellis_kernel(const std::string& name);

// Bit packing of a path (T K bits, step i at bits [i K, i K + K) after bit_offset, LSB
// first). pack ORs into out (zeroed by the caller).
void pack_path(const TrellisPath& path, int K, std::uint8_t* out, std::size_t bit_offset);
void unpack_path(const std::uint8_t* in, std::size_t bit_offset, int K, int T, TrellisPath& path);

}  // namespace fq::codecs

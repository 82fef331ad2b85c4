// Per-head centring ("center": "head" in a codec description, docs/FORMAT.md §2): the mean
// of each head's coded vectors over its tokens is subtracted before coding and added back
// after decoding. Keys carry large per-channel offsets; a constant added to every key of a
// head changes every score of a query by the same amount, which softmax ignores, and the
// centred directions are closer to uniform on the sphere, which universal codebooks assume.
// The mean is stored in float16 (heads x d x 16 bits of side information, counted in the
// rate); the coding subtracts exactly the stored (rounded) value, so decoding restores what
// was coded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fq::codecs {

// Means of (heads, n, d) vectors over their tokens, accumulated slab by slab in double, in
// token order per head: the same tokens give the same bits however they are cut into slabs.
class HeadMeans {
public:
    HeadMeans(std::size_t heads, std::size_t d);
    // x: (heads, n, d), the next n tokens of every head.
    void add(const float* x, std::size_t n);
    std::size_t tokens() const { return m_tokens; }
    // The means as float16 bit patterns (heads, d), round to nearest even; zero without
    // tokens. NumericError if a mean is beyond the float16 range.
    std::vector<std::uint16_t> float16() const;

private:
    std::size_t m_heads, m_d, m_tokens = 0;
    std::vector<double> m_sum;  // (heads, d)
};

// x: (heads, T, d) in place: x[h, t, :] -= center[h, :] (center: float16 bit patterns).
void subtract_center(float* x, std::size_t heads, std::size_t T, std::size_t d,
                     const std::uint16_t* center);
// x: (heads, T, d) in place: x[h, t, :] += center[h, :].
void add_center(float* x, std::size_t heads, std::size_t T, std::size_t d,
                const std::uint16_t* center);

// scores: (nq, T) inner products of queries q: (nq, d) with centred keys of one head; adds
// q_i . center (float16 bit patterns, in double) to row i: what centring removed from the
// inner product of q_i with every key (estimators of inner products add it back).
void add_center_scores(const float* q, std::size_t nq, const std::uint16_t* center, std::size_t d,
                       std::size_t T, double* scores);

// Side bits of a centred tensor of `heads` heads of dimension d: 16 heads d.
inline double center_bits(std::size_t heads, std::size_t d) {
    return 16.0 * static_cast<double>(heads) * static_cast<double>(d);
}

}  // namespace fq::codecs

// The fused nearest-codeword search for blocks of k >= 2 coordinates: distances and argmin
// kept in SIMD registers, no score matrix written to memory.
//
// For each row y (k floats) and codewords c_0..c_(N-1) (k floats each) with squared norms
// norms[n] (float), the result is
//   idx(y) = the first n with dist_n < dist_m for every m < n and dist_n <= dist_m for every
//            m > n, where  s_n = (((y_0 c_n0) + y_1 c_n1) + ...) + y_(k-1) c_n(k-1)
//            and dist_n = norms[n] - 2 s_n,
// every product and sum a separately rounded float operation in that order (no FMA), i.e.
// the plain loop `best = +inf; for n: if (dist_n < best) {best = dist_n; idx = n;}`: ties go
// to the lowest index, a NaN distance is never chosen, and a row whose distances are all NaN
// or +inf gets index 0.
//
// Layout: rows sit in SIMD lanes (L = 4, 8 or 16 rows per register, R registers of rows per
// pass), each codeword's coordinates are broadcast once per pass and serve all R x L rows,
// the running minimum and its index stay in registers. Every row's arithmetic is the same
// sequence of float operations whatever the instruction set, the pass or the batch, so the
// result is bit-identical across instruction sets, batch sizes and thread counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fq::codecs::detail {

enum class SearchIsa { sse2, avx2, avx512 };

// The instruction sets this CPU can run, in increasing width (sse2 always).
const std::vector<SearchIsa>& available_search_isas();
// The widest of them (what NearestCodeword uses).
SearchIsa best_search_isa();
const char* search_isa_name(SearchIsa isa);

// idx[r] for rows y (n, k) row-major, codewords cw (N, k) row-major, norms (N). k >= 2,
// N >= 1. dist (optional, n floats): the minimum distance dist_idx (+inf when none is below
// +inf). Throws UsageError if isa is not available on this CPU.
void nearest_rows(SearchIsa isa, const float* cw, const float* norms, int N, int k, const float* y,
                  std::size_t n, std::uint32_t* idx, float* dist = nullptr);

// k = 1: pos[i] = the number of t < T with y[i] >= up[t] (float compares; a NaN counts 0),
// the cell of y[i] among ascending thresholds. Throws UsageError if isa is not available.
void count_at_or_above(SearchIsa isa, const float* up, int T, const float* y, std::size_t n,
                       std::uint32_t* pos);

// Checks that this CPU can run isa (UsageError otherwise).
void require_isa(SearchIsa isa);

}  // namespace fq::codecs::detail

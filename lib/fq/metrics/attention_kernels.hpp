// Float SIMD kernels behind metrics/attention: internal to the metrics module, declared here
// so that tests can run every instruction-set path.
//
// Three paths: plain scalar code (any CPU; slow where std::fma has no hardware instruction),
// AVX2 + FMA and AVX-512F, chosen at run time by __builtin_cpu_supports (the widest the CPU
// has). They give bit-identical results (also between GCC and clang): every output element
// is the same sequence of IEEE float operations in every path (products accumulated over the
// inner dimension in a fixed order with fused multiply-adds, std::fma in the scalar path;
// per-row reductions kept in 16 "virtual lanes", lane l holding the keys j = l mod 16 in
// increasing order, whatever the register width; exp and expm1 built from +, *, fma and
// exponent-bit arithmetic only, no libm). The scalar path is the reference; the others are its
// vectorisation.
//
// Layouts. A key panel holds 16 consecutive keys transposed: panels (P, d, 16) row-major
// float, P = ceil(T / 16), entry (p, c, l) = x[16 p + l][c] (zero past T).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fq/metrics/attention.hpp"

namespace fq::metrics::detail {

enum class KernelIsa { scalar, avx2, avx512 };

// The paths this CPU can run, scalar first; the default is the last (widest).
std::vector<KernelIsa> supported_isas();
KernelIsa default_isa();
const char* isa_name(KernelIsa isa);

constexpr std::size_t k_panel = 16;  // keys per panel = virtual lanes of a row reduction

// Keys [j0, j0 + count) of x: (n, d) row-major float -> panels (count / 16, d, 16) of x, or
// of x - minus (float subtraction) when minus (n, d) is given; keys at or past n are 0.
// count: a multiple of 16.
void pack_panels(const float* x, const float* minus, std::size_t n, std::size_t j0,
                 std::size_t count, std::size_t d, float* panels);

// Top-5 of one score row under the order (value descending, index ascending): the first n
// entries of val / idx, sorted. Independent of the order in which candidates are offered.
struct Top5 {
    float val[5];
    std::uint32_t idx[5];
    int n = 0;
    void offer(float v, std::uint32_t j);
    float threshold() const;  // candidates below it cannot enter; -inf while n < 5
};

// Partial sums of one row over one key tile, per virtual lane. The expm1 forms are taken
// about a centre x0 (y = x - x0, x0 = x at the row's running maximum of c s), which leaves KL and
// the probability cosine unchanged but keeps their sums small where the softmax is concentrated.
constexpr int k_sum_z = 0;     // sum w                       (w = exp(c s - m))
constexpr int k_sum_wy = 1;    // sum w y                     (x = c e, e = s - s_hat)
constexpr int k_sum_wr = 2;    // sum w r                     (r = expm1(-y) + y)
constexpr int k_sum_ww = 3;    // sum w^2
constexpr int k_sum_wwg = 4;   // sum w^2 g                   (g = expm1(-y))
constexpr int k_sum_wgwg = 5;  // sum (w g)^2
constexpr int k_sum_zh = 6;    // sum w_hat                   (w_hat = exp(c s_hat - m_hat))
constexpr int k_sum_wwh = 7;   // sum w w_hat
constexpr int k_sum_whwh = 8;  // sum w_hat^2
constexpr int k_sum_e4 = 9;    // sum e^4
constexpr int k_sums = 10;
// ... and in double (products of floats are exact in double): the score cosine, whose 1 - cos
// would otherwise carry the rounding of float products, and the inner-product error sums.
constexpr int k_dsum_ss = 0;  // sum s^2
constexpr int k_dsum_se = 1;  // sum s e
constexpr int k_dsum_ee = 2;  // sum e^2
constexpr int k_dsum_e = 3;   // sum e
constexpr int k_dsums = 4;

// One row of one key tile: scores s[0..len) and differences e[0..len) in (x = c e, and
// c s_hat = c s - x for the weights), softmax weights and lane sums out. Keys past len (up to
// width, a multiple of 16) get weight 0. Rows are read up to the next multiple of 16.
struct RowTile {
    // in
    const float* s;
    const float* e;
    const float* sh;    // s_hat to rank, or null for s - e
    std::size_t len;    // valid keys, 1..width
    std::size_t width;  // w / w_hat entries to write
    std::uint32_t j0;   // index of the tile's first key (for the top-5 lists)
    float c;            // score scale
    float m_old;        // running maximum of c s before this tile (-inf at the first tile)
    float mh_old;       // running maximum of c s_hat before this tile
    float x0_old;       // centre before this tile
    Top5* top_s;        // ranked by s
    Top5* top_sh;       // ranked by s_hat
    // out
    float* w;   // exp(c s - m)
    float* wh;  // exp(c s_hat - m_hat)
    float m, mh;
    float x0;          // x at the new maximum (the first lane holding it), or x0_old if m = m_old
    float xmin, xmax;  // extremes of x over the valid keys
    float sums[k_sums][k_panel];
    double dsums[k_dsums][k_panel];
};

struct Kernels {
    // s[r ld + 16 p + l] = sum_c qt[c ldq + r] kp[(p d + c) 16 + l] for r < rows,
    // p < panels, accumulated in c order with fma from 0; the same into e from dkp when dkp is
    // not null. qt: the queries transposed, (d, ldq); rows are processed in blocks of
    // rows_step, so qt, s and e need room for `rows` rounded up (padding rows are read, their
    // outputs written).
    void (*scores)(const float* qt, std::size_t ldq, std::size_t rows, std::size_t d,
                   const float* kp, const float* dkp, std::size_t panels, float* s, float* e,
                   std::size_t ld);
    std::size_t rows_step;
    // Softmax weights and lane sums of one row tile.
    void (*row_tile)(RowTile& t);
    // o[r d + c] = fma(w[r ldw + j], v[j d + c], o[r d + c]) for j = 0..keys-1 in order,
    // r < rows (rounded up to out_rows_step: w and o must have room), c < d.
    void (*accumulate)(const float* w, std::size_t ldw, std::size_t rows, std::size_t keys,
                       const float* v, std::size_t d, float* o);
    std::size_t out_rows_step;
    // y = exp(x) elementwise (the kernels' exp, for tests): x < -87 gives 0, x <= 88.
    void (*exp)(const float* x, float* y, std::size_t n);
};

const Kernels& kernels(KernelIsa isa);

// The public functions of attention.hpp on a chosen path.
AttentionMetrics attention_metrics_isa(KernelIsa isa, const float* q, const float* k,
                                       const float* v, const float* k_hat, const float* v_hat,
                                       std::size_t T, std::size_t d, const AttentionOptions& opts);
AttentionMetrics attention_metrics_from_scores_isa(KernelIsa isa, const float* q, const float* k,
                                                   const float* v, const ScoreRowFn& score_hat,
                                                   const float* v_hat, std::size_t T, std::size_t d,
                                                   const AttentionOptions& opts);

}  // namespace fq::metrics::detail

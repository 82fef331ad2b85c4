// Causal attention fidelity for one (query head, KV head) pair: how much decoding the keys
// and values changes what each query attends to and what it reads.
//
// Inputs over T tokens (row t = token t): q: (T, d) queries, k, v: (T, d) exact keys and
// values, v_hat: (T, d) decoded values, all row-major float; the decoded keys enter either
// as k_hat: (T, d) row-major float (approximate scores q_t . k_hat_j) or through approximate
// scores supplied directly (ScoreRowFn), for estimators such as QJL that estimate <q, k>
// without reconstructing k. Scores in float, the softmax statistics in double (see
// "Precision" below).
//
// Query t sees keys j = 0..t (causal). With scale c (default 1/sqrt(d)):
//   s_tj = <q_t, k_j>,                    s_hat_tj = <q_t, k_hat_j> (or the supplied estimate)
//   log p_tj = c s_tj - logsumexp_{i<=t}(c s_ti)   (max subtracted first), p_t = exp(log p_t)
//   log p_hat_tj likewise from s_hat;  o_t = sum_j p_tj v_j,  o_hat_t = sum_j p_hat_tj v_hat_j
// and the per-query metrics are
//   kl                 = KL(p_t || p_hat_t) = sum_j p_tj (log p_tj - log p_hat_tj), in nats
//                        (evaluated as under "Precision"; rounding can give tiny negative
//                        values, which are reported as 0)
//   top1               = 1 if argmax_j s_tj = argmax_j s_hat_tj, else 0
//   top5               = |top5(s_t) n top5(s_hat_t)| / min(5, t + 1)
//   score_cosine       = cos(s_t, s_hat_t) over the causal row j = 0..t (attention-score cosine)
//   probability_cosine = cos(p_t, p_hat_t)                  (attention-probability cosine)
//   output_cosine      = cos(o_t, o_hat_t)                  (attention-output cosine)
// Rankings (argmax, top5) use the unscaled scores s, ties broken by the lowest key index;
// ranking the scores rather than p avoids ties made by probabilities rounding to 0. Cosines
// follow cosine_similarity() (fidelity.hpp): 1 if both vectors are 0, 0 if exactly one is.
// These are three different quantities; never report one under another's name.
//
// Precision. s_tj is a float dot product (fused multiply-adds in a fixed order) and the
// difference e_tj = s_tj - s_hat_tj is computed directly, as q_t . (k_j - k_hat_j) with
// k - k_hat in float (approximate scores: the double estimate subtracted from the float
// score), so x = c e carries float relative precision however small it is. The softmax runs
// over key tiles with running maxima (flash-attention style): weights exp(c s - m) in float
// (a vectorised exp within 2 ulp; weights below e^-87 of the largest are 0), their sums in
// double per tile. KL and the probability cosine come from x rather than from two
// log-softmaxes: with y = x - x0 (x0 = x at the row's maximum score; the metrics do not depend
// on it) and u = e^-y, p_hat is p u / E_p[u], so
//   kl = E_p[y] + log E_p[u] = a + log1p(b - a),  a = E_p[y], b = E_p[expm1(-y) + y],
//   probability_cosine = sum p^2 u / sqrt(sum p^2 sum p^2 u^2),
// with expm1(-y) + y evaluated to a few ulp of itself: a KL of 1e-8 keeps float relative
// precision. (When x spans more than 30 over a row these forms could overflow and the direct
// ones, from log Z and log Z_hat, are used.) The score cosine is formed from double sums of
// s^2, s e and e^2. What remains is the rounding of s itself (|ds| <= d eps |q| |k|), which
// moves each weight by up to c |ds|: the metrics agree with a double evaluation to about 1e-5
// relative (of the KL and of 1 - cos). Outputs are float sums: output_cosine to about 1e-6.
// Rankings use float s and s_hat = s - e (approximate scores: the estimate rounded to float),
// so keys whose scores differ by less than float rounding may rank either way; exact ties
// keep the lowest index. Every value is the same whatever the instruction set (scalar, AVX2,
// AVX-512: metrics/attention_kernels.hpp), the thread count, or the other positions asked for.
//
// Query t = 0 sees one key: p = p_hat = (1), so kl = 0 exactly and top1 = top5 =
// probability_cosine = 1; score_cosine and output_cosine still measure the decoded key and
// value. Such queries are kept (they are real decoding steps); callers wanting to exclude
// them choose positions that start at 1.
//
// No queries in the dump: the documented fallback is to pass q = k (the exact keys as
// queries, q_t = k_t: causal self-attention scores of the keys); callers must say so in
// their report.
//
// Cost: 4 products of |positions| x (t + 1) x d per head (s, e, o, o_hat; key tiles above
// the causal diagonal are skipped), in float SIMD kernels near the machine's float peak, plus
// three exps per (query, key) pair. Parallel over query positions in fixed chunks of 120;
// each chunk meets the keys in tiles of 256 that stay in L2, read as panels of 16 keys (k and
// k - k_hat transposed). With more than two query chunks the head's keys are packed once
// (2 T d floats); with one or two (a few positions of a long dump) each chunk packs the tiles
// it reads, so memory beyond the inputs is O(chunk x tile) per thread, not O(T d). Plus the
// approximate score rows of 16 queries at a time for attention_metrics_from_scores.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "fq/metrics/fidelity.hpp"

namespace fq::metrics {

// GQA: the KV head read by query head h when n_heads query heads share n_kv_heads KV heads,
// h / (n_heads / n_kv_heads). Throws UsageError unless n_kv_heads > 0 divides n_heads and
// h < n_heads.
std::size_t kv_head_for_query_head(std::size_t h, std::size_t n_heads, std::size_t n_kv_heads);

// Query positions for long dumps: every stride-th position counted back from the last
// token (T-1, T-1-stride, ...), restricted to the last `last` tokens when last > 0; returned
// in increasing order. stride = 1, last = 0 gives 0..T-1. Throws UsageError if stride = 0.
std::vector<std::size_t> select_positions(std::size_t T, std::size_t stride = 1,
                                          std::size_t last = 0);

// Approximate unscaled scores for query position t: must write row[j] ~ <q_t, k_j> for
// j = 0..t (row has room for at least t + 1 doubles; later entries are ignored). Called
// concurrently from several threads with different t, so it must be thread-safe. The scale
// is applied afterwards, to exact and approximate scores alike.
using ScoreRowFn = std::function<void(std::size_t t, double* row)>;

// ScoreRowFn reading s_hat: (T, T) row-major double, row t = approximate scores of query t;
// only the causal entries j <= t are read. s_hat must outlive the returned function.
ScoreRowFn score_rows_from_matrix(const double* s_hat, std::size_t T);

struct AttentionOptions {
    double scale = 0;                    // score scale c; 0 means 1/sqrt(d)
    std::vector<std::size_t> positions;  // query positions, strictly increasing, < T; empty = all
};

// Per-query metrics, each aligned with positions (one value per evaluated query).
struct AttentionMetrics {
    std::vector<std::size_t> positions;      // evaluated query positions t, increasing
    std::vector<double> kl;                  // KL(p || p_hat), nats
    std::vector<double> top1;                // top-1 agreement, 0 or 1
    std::vector<double> top5;                // top-5 agreement in [0, 1]
    std::vector<double> score_cosine;        // attention-score cosine
    std::vector<double> probability_cosine;  // attention-probability cosine
    std::vector<double> output_cosine;       // attention-output cosine; empty if v is null
    // Inner-product error of the decoded keys, e_tj = <q_t, k_hat_j> - <q_t, k_j> over the
    // causal keys j <= t, a by-product of the scores (e in float, as under "Precision"; sums
    // in double): per query, sum e, sum e^2, sum e^4. attention_metrics only (empty for
    // approximate scores).
    std::vector<double> ip_sum, ip_sum_sq, ip_sum_4;
};

// The causal inner-product error (fidelity.hpp) of the evaluated queries from the sums above:
// what inner_product_error(q, T, k, k_hat, T, d, PairSet::causal, m.positions) gives, to float
// rounding of e, without a second pass over the keys. Throws UsageError if m has no sums.
InnerProductError inner_product_error_from(const AttentionMetrics& m);

// Decoded keys given as vectors: q, k, k_hat: (T, d) row-major float. v, v_hat: (T, d)
// row-major float, or both null to skip the output cosine. Throws UsageError on bad sizes
// or positions, NumericError on non-finite input.
AttentionMetrics attention_metrics(const float* q, const float* k, const float* v,
                                   const float* k_hat, const float* v_hat, std::size_t T,
                                   std::size_t d, const AttentionOptions& opts = {});

// Decoded keys given as approximate scores: as above with s_hat_tj supplied by score_hat.
// Non-finite approximate scores throw NumericError.
AttentionMetrics attention_metrics_from_scores(const float* q, const float* k, const float* v,
                                               const ScoreRowFn& score_hat, const float* v_hat,
                                               std::size_t T, std::size_t d,
                                               const AttentionOptions& opts = {});

}  // namespace fq::metrics

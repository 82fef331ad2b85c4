// Causal attention fidelity for one (query head, KV head) pair: how much decoding the keys
// and values changes what each query attends to and what it reads.
//
// Inputs over T tokens (row t = token t): q: (T, d) queries, k, v: (T, d) exact keys and
// values, v_hat: (T, d) decoded values, all row-major float; the decoded keys enter either
// as k_hat: (T, d) row-major float (approximate scores q_t . k_hat_j) or through approximate
// scores supplied directly (ScoreRowFn), for estimators such as QJL that estimate <q, k>
// without reconstructing k. Arithmetic is in double.
//
// Query t sees keys j = 0..t (causal). With scale c (default 1/sqrt(d)):
//   s_tj = <q_t, k_j>,                    s_hat_tj = <q_t, k_hat_j> (or the supplied estimate)
//   log p_tj = c s_tj - logsumexp_{i<=t}(c s_ti)   (max subtracted first), p_t = exp(log p_t)
//   log p_hat_tj likewise from s_hat;  o_t = sum_j p_tj v_j,  o_hat_t = sum_j p_hat_tj v_hat_j
// and the per-query metrics are
//   kl                 = KL(p_t || p_hat_t) = sum_j p_tj (log p_tj - log p_hat_tj), in nats,
//                        from the log-softmax values; rounding can give values of order
//                        -1e-16, which are reported as 0
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
// Query t = 0 sees one key: p = p_hat = (1), so kl = 0 exactly and top1 = top5 =
// probability_cosine = 1; score_cosine and output_cosine still measure the decoded key and
// value. Such queries are kept (they are real decoding steps); callers wanting to exclude
// them choose positions that start at 1.
//
// No queries in the dump: the documented fallback is to pass q = k (the exact keys as
// queries, q_t = k_t: causal self-attention scores of the keys); callers must say so in
// their report.
//
// Cost O(|positions| T d) per head: scores and outputs are blocked matrix products (Eigen).
// Parallel over query positions in fixed chunks; results are identical for any thread count.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

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
};

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

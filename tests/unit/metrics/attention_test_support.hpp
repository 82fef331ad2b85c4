// Shared by the attention tests: byte-for-byte equality of two AttentionMetrics (every
// per-query vector, the inner-product sums included).
#pragma once

#include "fq/metrics/attention.hpp"
#include "test_support.hpp"

namespace fq::test {

inline bool same_bytes(const metrics::AttentionMetrics& a, const metrics::AttentionMetrics& b) {
    return a.positions == b.positions && same_bytes(a.kl, b.kl) && same_bytes(a.top1, b.top1) &&
           same_bytes(a.top5, b.top5) && same_bytes(a.score_cosine, b.score_cosine) &&
           same_bytes(a.probability_cosine, b.probability_cosine) &&
           same_bytes(a.output_cosine, b.output_cosine) && same_bytes(a.ip_sum, b.ip_sum) &&
           same_bytes(a.ip_sum_sq, b.ip_sum_sq) && same_bytes(a.ip_sum_4, b.ip_sum_4);
}

}  // namespace fq::test

// What a change to a model (its KV cache compressed) does to its next-token predictions,
// token by token: for each position t of a sequence, with p = softmax(base logits_t) and
// q = softmax(other logits_t) over the vocabulary, and y = the next token x_{t+1}:
//   nll_base = -log p_y,  nll = -log q_y         (nats)
//   kl       = KL(p || q) = sum_i p_i (log p_i - log q_i)   (>= 0; rounding below 0 -> 0)
//   top1     = argmax p == argmax q (lowest index on ties)
//   dp       = q_y - p_y                          (change of the correct token's probability)
// Arithmetic in double (log-softmax with the maximum subtracted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fq::metrics {

struct TokenPrediction {
    double nll_base = 0, nll = 0, kl = 0, dp = 0;
    bool top1 = true;
};

// base, other: (T, V) row-major float logits of one sequence; tokens: its T ids. Returns the
// T - 1 predictions of tokens 1..T-1. UsageError on a token outside the vocabulary,
// NumericError on non-finite logits.
std::vector<TokenPrediction> compare_predictions(const float* base, const float* other,
                                                 std::size_t T, std::size_t V,
                                                 const std::int32_t* tokens);

}  // namespace fq::metrics

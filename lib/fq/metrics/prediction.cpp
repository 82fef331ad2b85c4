#include "fq/metrics/prediction.hpp"

#include <cmath>
#include <string>

#include "fq/core/error.hpp"

namespace fq::metrics {

namespace {

// log-softmax of x[0..V) into out, and the argmax (lowest index).
std::size_t log_softmax(const float* x, std::size_t V, std::vector<double>& out) {
    std::size_t best = 0;
    for (std::size_t i = 0; i < V; ++i) {
        if (!std::isfinite(x[i])) throw NumericError("model logits: non-finite value");
        if (x[i] > x[best]) best = i;
    }
    const double mx = x[best];
    double z = 0;
    for (std::size_t i = 0; i < V; ++i) z += std::exp(static_cast<double>(x[i]) - mx);
    const double lz = mx + std::log(z);
    out.resize(V);
    for (std::size_t i = 0; i < V; ++i) out[i] = static_cast<double>(x[i]) - lz;
    return best;
}

}  // namespace

std::vector<TokenPrediction> compare_predictions(const float* base, const float* other,
                                                 std::size_t T, std::size_t V,
                                                 const std::int32_t* tokens) {
    std::vector<TokenPrediction> out;
    std::vector<double> lp, lq;
    for (std::size_t t = 0; t + 1 < T; ++t) {
        const std::int32_t y = tokens[t + 1];
        if (y < 0 || static_cast<std::size_t>(y) >= V)
            throw UsageError("token id " + std::to_string(y) + " outside the vocabulary");
        const std::size_t ap = log_softmax(base + t * V, V, lp);
        const std::size_t aq = log_softmax(other + t * V, V, lq);
        TokenPrediction p;
        p.nll_base = -lp[static_cast<std::size_t>(y)];
        p.nll = -lq[static_cast<std::size_t>(y)];
        double kl = 0;
        for (std::size_t i = 0; i < V; ++i) kl += std::exp(lp[i]) * (lp[i] - lq[i]);
        p.kl = kl > 0 ? kl : 0.0;
        p.top1 = ap == aq;
        p.dp =
            std::exp(lq[static_cast<std::size_t>(y)]) - std::exp(lp[static_cast<std::size_t>(y)]);
        out.push_back(p);
    }
    return out;
}

}  // namespace fq::metrics

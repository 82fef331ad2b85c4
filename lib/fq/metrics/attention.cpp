#include "fq/metrics/attention.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/metrics/fidelity.hpp"

namespace fq::metrics {

namespace {

// Queries per parallel chunk: each chunk is one pair of matrix products whose width is set
// by its last position, so small chunks waste little on the causal triangle.
constexpr std::size_t k_position_chunk = 16;
constexpr std::size_t k_top = 5;

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

RowMatrix to_double(const float* x, std::size_t rows, std::size_t d, const char* what) {
    RowMatrix m(rows, d);
    for (std::size_t i = 0; i < rows * d; ++i) {
        if (!std::isfinite(x[i]))
            throw NumericError(std::string("attention metrics: non-finite value in ") + what);
        m.data()[i] = x[i];
    }
    return m;
}

// Lowest index of the largest value among s[0..len).
std::size_t argmax(const double* s, std::size_t len) {
    std::size_t best = 0;
    for (std::size_t j = 1; j < len; ++j)
        if (s[j] > s[best]) best = j;
    return best;
}

// The k_top largest of s[0..len) (len > k_top), ties to the lowest index; idx is scratch.
std::array<std::size_t, k_top> top_indices(const double* s, std::size_t len,
                                           std::vector<std::size_t>& idx) {
    idx.resize(len);
    for (std::size_t j = 0; j < len; ++j) idx[j] = j;
    const auto first = idx.begin(), middle = idx.begin() + k_top;
    std::partial_sort(first, middle, idx.end(), [s](std::size_t a, std::size_t b) {
        return s[a] > s[b] || (s[a] == s[b] && a < b);
    });
    std::array<std::size_t, k_top> out{};
    std::copy(first, middle, out.begin());
    return out;
}

// log-softmax of c * s[0..len) into logp (max subtracted before exponentiating).
void log_softmax(const double* s, std::size_t len, double c, double* logp) {
    double mx = c * s[0];
    for (std::size_t j = 1; j < len; ++j) mx = std::max(mx, c * s[j]);
    double z = 0;
    for (std::size_t j = 0; j < len; ++j) {
        logp[j] = c * s[j] - mx;
        z += std::exp(logp[j]);
    }
    // z >= 1 (the maximum contributes exp(0)); for one key log z = 0 and log p = 0 exactly.
    const double log_z = std::log(z);
    for (std::size_t j = 0; j < len; ++j) logp[j] -= log_z;
}

// Approximate scores for the queries of one chunk: fills rows r of s_hat (one per position).
// qc: the chunk's queries (rows, d); positions: their positions; s_hat: (rows, ncols), zeroed.
using ChunkScoreFn = std::function<void(const RowMatrix& qc, const std::size_t* positions,
                                        std::size_t ncols, RowMatrix& s_hat)>;

AttentionMetrics evaluate(const float* q, const float* k, const float* v, const float* v_hat,
                          std::size_t T, std::size_t d, const AttentionOptions& opts,
                          const ChunkScoreFn& approx_scores) {
    require(d > 0, "attention metrics: d must be positive");
    require((v == nullptr) == (v_hat == nullptr),
            "attention metrics: give both v and v_hat, or neither");
    require(opts.scale >= 0 && std::isfinite(opts.scale),
            "attention metrics: scale must be finite and non-negative (0 = 1/sqrt(d))");
    const double c = opts.scale > 0 ? opts.scale : 1.0 / std::sqrt(static_cast<double>(d));

    AttentionMetrics out;
    out.positions = opts.positions.empty() ? select_positions(T) : opts.positions;
    const std::vector<std::size_t>& pos = out.positions;
    for (std::size_t i = 0; i < pos.size(); ++i) {
        require(pos[i] < T, "attention metrics: query position out of range");
        require(i == 0 || pos[i] > pos[i - 1],
                "attention metrics: query positions must be strictly increasing");
    }
    const std::size_t nq = pos.size();
    const bool with_output = v != nullptr;

    const RowMatrix qd = to_double(q, T, d, "q");
    const RowMatrix kd = to_double(k, T, d, "k");
    RowMatrix vd, vhd;
    if (with_output) {
        vd = to_double(v, T, d, "v");
        vhd = to_double(v_hat, T, d, "v_hat");
    }

    out.kl.resize(nq);
    out.top1.resize(nq);
    out.top5.resize(nq);
    out.score_cosine.resize(nq);
    out.probability_cosine.resize(nq);
    if (with_output) out.output_cosine.resize(nq);

    core::parallel_chunks(
        nq, k_position_chunk, [&](std::size_t, std::size_t begin, std::size_t end) {
            const std::size_t rows = end - begin;
            const std::size_t ncols = pos[end - 1] + 1;
            RowMatrix qc(rows, d);
            for (std::size_t r = 0; r < rows; ++r) qc.row(r) = qd.row(pos[begin + r]);
            const RowMatrix s = qc * kd.topRows(ncols).transpose();
            RowMatrix s_hat = RowMatrix::Zero(rows, ncols);
            approx_scores(qc, pos.data() + begin, ncols, s_hat);

            RowMatrix p = RowMatrix::Zero(rows, ncols), p_hat = RowMatrix::Zero(rows, ncols);
            std::vector<double> logp(ncols), logp_hat(ncols);
            std::vector<std::size_t> idx;
            for (std::size_t r = 0; r < rows; ++r) {
                const std::size_t i = begin + r, len = pos[i] + 1;
                const double* sr = s.row(r).data();
                const double* shr = s_hat.row(r).data();
                for (std::size_t j = 0; j < len; ++j)
                    if (!std::isfinite(shr[j]))
                        throw NumericError(
                            "attention metrics: non-finite approximate score for "
                            "query " +
                            std::to_string(pos[i]));

                out.score_cosine[i] = cosine_similarity(sr, shr, len);
                log_softmax(sr, len, c, logp.data());
                log_softmax(shr, len, c, logp_hat.data());
                double kl = 0;
                for (std::size_t j = 0; j < len; ++j) {
                    p(r, j) = std::exp(logp[j]);
                    p_hat(r, j) = std::exp(logp_hat[j]);
                    kl += p(r, j) * (logp[j] - logp_hat[j]);
                }
                out.kl[i] = std::max(0.0, kl);
                out.probability_cosine[i] =
                    cosine_similarity(p.row(r).data(), p_hat.row(r).data(), len);

                out.top1[i] = argmax(sr, len) == argmax(shr, len) ? 1.0 : 0.0;
                if (len <= k_top) {
                    out.top5[i] = 1.0;  // both top sets hold every key
                } else {
                    const auto a = top_indices(sr, len, idx), b = top_indices(shr, len, idx);
                    std::size_t common = 0;
                    for (std::size_t x : a)
                        common +=
                            static_cast<std::size_t>(std::find(b.begin(), b.end(), x) != b.end());
                    out.top5[i] = static_cast<double>(common) / static_cast<double>(k_top);
                }
            }
            if (with_output) {
                // Rows of p beyond a query's own position are zero, so later values contribute
                // exact zeros: causal masking holds bit for bit.
                const RowMatrix o = p * vd.topRows(ncols);
                const RowMatrix o_hat = p_hat * vhd.topRows(ncols);
                for (std::size_t r = 0; r < rows; ++r)
                    out.output_cosine[begin + r] =
                        cosine_similarity(o.row(r).data(), o_hat.row(r).data(), d);
            }
        });
    return out;
}

}  // namespace

std::size_t kv_head_for_query_head(std::size_t h, std::size_t n_heads, std::size_t n_kv_heads) {
    require(n_kv_heads > 0 && n_heads % n_kv_heads == 0,
            "GQA: " + std::to_string(n_heads) + " query heads cannot share " +
                std::to_string(n_kv_heads) + " KV heads evenly");
    require(h < n_heads, "GQA: query head " + std::to_string(h) + " out of range (" +
                             std::to_string(n_heads) + " heads)");
    return h / (n_heads / n_kv_heads);
}

std::vector<std::size_t> select_positions(std::size_t T, std::size_t stride, std::size_t last) {
    require(stride > 0, "select_positions: stride must be positive");
    const std::size_t first = (last > 0 && last < T) ? T - last : 0;
    std::vector<std::size_t> out;
    if (T == 0) return out;
    // Anchored at T - 1 so the query with the most keys is always evaluated.
    const std::size_t offset = (T - 1 - first) % stride;
    for (std::size_t t = first + offset; t < T; t += stride) out.push_back(t);
    return out;
}

ScoreRowFn score_rows_from_matrix(const double* s_hat, std::size_t T) {
    return [s_hat, T](std::size_t t, double* row) {
        require(t < T, "score_rows_from_matrix: query position out of range");
        std::copy(s_hat + t * T, s_hat + t * T + t + 1, row);
    };
}

AttentionMetrics attention_metrics(const float* q, const float* k, const float* v,
                                   const float* k_hat, const float* v_hat, std::size_t T,
                                   std::size_t d, const AttentionOptions& opts) {
    const RowMatrix khd = to_double(k_hat, T, d, "k_hat");
    return evaluate(q, k, v, v_hat, T, d, opts,
                    [&khd](const RowMatrix& qc, const std::size_t*, std::size_t ncols,
                           RowMatrix& s_hat) { s_hat = qc * khd.topRows(ncols).transpose(); });
}

AttentionMetrics attention_metrics_from_scores(const float* q, const float* k, const float* v,
                                               const ScoreRowFn& score_hat, const float* v_hat,
                                               std::size_t T, std::size_t d,
                                               const AttentionOptions& opts) {
    require(static_cast<bool>(score_hat), "attention metrics: empty score function");
    return evaluate(q, k, v, v_hat, T, d, opts,
                    [&score_hat](const RowMatrix& qc, const std::size_t* positions, std::size_t,
                                 RowMatrix& s_hat) {
                        for (Eigen::Index r = 0; r < qc.rows(); ++r)
                            score_hat(positions[r], s_hat.row(r).data());
                    });
}

}  // namespace fq::metrics

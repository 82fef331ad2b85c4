#include "fq/metrics/fidelity.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "fq/core/error.hpp"
#include "fq/core/finite.hpp"
#include "fq/core/parallel.hpp"

namespace fq::metrics {

namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t k_row_chunk = 1024;  // rows per parallel chunk in vector_fidelity
constexpr std::size_t k_query_chunk = 32;  // queries per parallel chunk
// Keys per block of a chunk's error matrix (one GEMM each): bounded memory whatever the number
// of keys. A multiple of Eigen's panel widths, and no block is narrower (the last one takes
// the remainder), so every entry is computed by the same kernel as in one product over all
// keys: the same bits.
constexpr std::size_t k_key_block = 1024;
constexpr std::size_t k_wave = 8;  // work items computed in parallel before they are summed

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void require_finite(const float* x, std::size_t count, const char* what) {
    if (core::all_finite(x, count)) return;
    for (std::size_t i = 0; i < count; ++i)
        if (!std::isfinite(x[i]))
            throw NumericError(std::string(what) + ": non-finite input value at flat index " +
                               std::to_string(i));
}

// The cosine from its sums ab = <a, b>, aa = ||a||^2, bb = ||b||^2 (zero rules included).
double cosine_from_sums(double ab, double aa, double bb) {
    if (aa == 0 && bb == 0) return 1.0;
    if (aa == 0 || bb == 0) return 0.0;
    // sqrt(aa * bb) rather than sqrt(aa) * sqrt(bb): for b = a it is exactly aa, so the
    // cosine of a vector with itself is exactly 1.
    return std::clamp(ab / std::sqrt(aa * bb), -1.0, 1.0);
}

}  // namespace

double cosine_similarity(const double* a, const double* b, std::size_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < n; ++i) {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    return cosine_from_sums(ab, aa, bb);
}

VectorFidelity vector_fidelity(const float* x, const float* x_hat, std::size_t n, std::size_t d) {
    require(d > 0, "vector_fidelity: d must be positive");
    VectorFidelity f;
    f.sq_error.resize(n);
    f.mse.resize(n);
    f.nmse.resize(n);
    f.cosine.resize(n);
    core::parallel_chunks(n, k_row_chunk, [&](std::size_t, std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
            // One pass: the cosine's sums in the order cosine_similarity() adds them.
            double err = 0, norm = 0, ab = 0, bb = 0;
            for (std::size_t c = 0; c < d; ++c) {
                const double a = x[i * d + c];
                const double b = x_hat[i * d + c];
                const double diff = a - b;
                err += diff * diff;
                norm += a * a;
                ab += a * b;
                bb += b * b;
            }
            f.sq_error[i] = err;
            f.mse[i] = err / static_cast<double>(d);
            f.nmse[i] = norm > 0 ? err / norm : (err == 0 ? 0.0 : k_nan);
            f.cosine[i] = cosine_from_sums(ab, norm, bb);
        }
    });
    // A squared error is finite exactly when both vectors are (float squares cannot overflow
    // a double): the inputs are checked in the same parallel pass, and only on a non-finite
    // one scanned again for the message.
    if (!std::all_of(f.sq_error.begin(), f.sq_error.end(),
                     [](double e) { return std::isfinite(e); })) {
        require_finite(x, n * d, "vector_fidelity: x");
        require_finite(x_hat, n * d, "vector_fidelity: x_hat");
    }
    return f;
}

double shannon_bound(double rate_bits) {
    return std::pow(4.0, -rate_bits);
}

double db_above_shannon(double distortion, double rate_bits) {
    require(std::isfinite(distortion) && distortion >= 0,
            "db_above_shannon: distortion must be finite and non-negative");
    require(std::isfinite(rate_bits), "db_above_shannon: rate must be finite");
    // log10(D / 4^-b) = log10(D) + b log10(4), which stays finite where 4^-b underflows.
    return 10.0 * (std::log10(distortion) + rate_bits * std::log10(4.0));
}

void InnerProductError::merge(const InnerProductError& other) {
    pairs += other.pairs;
    sum += other.sum;
    sum_sq += other.sum_sq;
    sum_4 += other.sum_4;
    const std::vector<double> qm = other.query_mean,
                              qs = other.query_mean_sq;  // other may be *this
    query_mean.insert(query_mean.end(), qm.begin(), qm.end());
    query_mean_sq.insert(query_mean_sq.end(), qs.begin(), qs.end());
}

double InnerProductError::bias() const {
    return pairs == 0 ? k_nan : sum / static_cast<double>(pairs);
}

double InnerProductError::bias_se() const {
    if (pairs < 2) return k_nan;
    const auto n = static_cast<double>(pairs);
    const double mean = sum / n;
    const double var = std::max(0.0, (sum_sq - n * mean * mean) / (n - 1.0));
    return std::sqrt(var / n);
}

double InnerProductError::rmse() const {
    return pairs == 0 ? k_nan : std::sqrt(sum_sq / static_cast<double>(pairs));
}

double InnerProductError::rmse_se() const {
    if (pairs < 2) return k_nan;
    const auto n = static_cast<double>(pairs);
    const double ms = sum_sq / n;
    if (ms == 0) return 0.0;
    const double var_sq = std::max(0.0, (sum_4 - n * ms * ms) / (n - 1.0));
    return std::sqrt(var_sq / n) / (2.0 * std::sqrt(ms));
}

InnerProductError inner_product_error(const float* q, std::size_t m, const float* k,
                                      const float* k_hat, std::size_t n, std::size_t d,
                                      PairSet pairs, std::span<const std::size_t> rows) {
    require(d > 0, "inner_product_error: d must be positive");
    require_finite(q, m * d, "inner_product_error: q");
    require_finite(k, n * d, "inner_product_error: k");
    require_finite(k_hat, n * d, "inner_product_error: k_hat");
    std::vector<std::size_t> all_rows;
    if (rows.empty()) {
        all_rows.resize(m);
        for (std::size_t i = 0; i < m; ++i) all_rows[i] = i;
        rows = all_rows;
    }
    for (std::size_t i : rows) require(i < m, "inner_product_error: query row out of range");

    const std::size_t nq = rows.size();
    std::vector<double> row_sum(nq), row_sq(nq), row_4(nq);
    std::vector<std::size_t> row_pairs(nq);
    // Work items: (query chunk, key block) pairs, chunk-major, keys in order. A wave of items
    // computes its error blocks in parallel; they are then summed in item order, so each
    // query's sums run over j = 0, 1, ... in one sequence whatever the thread count.
    struct Item {
        std::size_t begin, end;  // query rows [begin, end) of rows
        std::size_t j0, j1;      // keys
    };
    std::vector<Item> items;
    for (std::size_t begin = 0; begin < nq; begin += k_query_chunk) {
        const std::size_t end = std::min(nq, begin + k_query_chunk);
        std::size_t ncols = n;
        if (pairs == PairSet::causal) {
            std::size_t max_row = 0;
            for (std::size_t r = begin; r < end; ++r) max_row = std::max(max_row, rows[r]);
            ncols = std::min(n, max_row + 1);
        }
        for (std::size_t j0 = 0, j1 = 0; j0 < ncols; j0 = j1) {
            j1 = ncols - j0 >= 2 * k_key_block ? j0 + k_key_block : ncols;
            items.push_back({begin, end, j0, j1});
        }
    }
    std::vector<RowMatrix> e(k_wave);
    for (std::size_t w0 = 0; w0 < items.size(); w0 += k_wave) {
        const std::size_t nw = std::min(k_wave, items.size() - w0);
        core::parallel_chunks(nw, 1, [&](std::size_t, std::size_t slot, std::size_t) {
            const Item& it = items[w0 + slot];
            RowMatrix qc(static_cast<Eigen::Index>(it.end - it.begin),
                         static_cast<Eigen::Index>(d));
            for (std::size_t r = it.begin; r < it.end; ++r)
                for (std::size_t c = 0; c < d; ++c)
                    qc(static_cast<Eigen::Index>(r - it.begin), static_cast<Eigen::Index>(c)) =
                        q[rows[r] * d + c];
            // The difference of two floats is exact in double, so <q, k_hat - k> carries only
            // the rounding of one dot product instead of the cancellation of two.
            RowMatrix dl(static_cast<Eigen::Index>(it.j1 - it.j0), static_cast<Eigen::Index>(d));
            for (std::size_t j = it.j0; j < it.j1; ++j)
                for (std::size_t c = 0; c < d; ++c)
                    dl(static_cast<Eigen::Index>(j - it.j0), static_cast<Eigen::Index>(c)) =
                        double(k_hat[j * d + c]) - double(k[j * d + c]);
            e[slot].noalias() = qc * dl.transpose();
        });
        for (std::size_t slot = 0; slot < nw; ++slot) {
            const Item& it = items[w0 + slot];
            for (std::size_t r = it.begin; r < it.end; ++r) {
                const std::size_t lim = pairs == PairSet::causal ? std::min(n, rows[r] + 1) : n;
                double s = row_sum[r], s2 = row_sq[r], s4 = row_4[r];
                for (std::size_t j = it.j0; j < std::min(lim, it.j1); ++j) {
                    const double v = e[slot](static_cast<Eigen::Index>(r - it.begin),
                                             static_cast<Eigen::Index>(j - it.j0));
                    s += v;
                    s2 += v * v;
                    s4 += (v * v) * (v * v);
                }
                row_sum[r] = s;
                row_sq[r] = s2;
                row_4[r] = s4;
                row_pairs[r] = lim;
            }
        }
    }

    InnerProductError out;
    out.query_mean.resize(nq);
    out.query_mean_sq.resize(nq);
    for (std::size_t r = 0; r < nq; ++r) {
        out.pairs += row_pairs[r];
        out.sum += row_sum[r];
        out.sum_sq += row_sq[r];
        out.sum_4 += row_4[r];
        const auto np = static_cast<double>(row_pairs[r]);
        out.query_mean[r] = row_pairs[r] ? row_sum[r] / np : k_nan;
        out.query_mean_sq[r] = row_pairs[r] ? row_sq[r] / np : k_nan;
    }
    return out;
}

}  // namespace fq::metrics

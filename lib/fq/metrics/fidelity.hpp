// Reconstruction fidelity of decoded vectors: per-vector error, normalised error, cosine,
// distance to the Shannon bound, and the error of query-key inner products.
//
// Notation: x, x_hat: (n, d) row-major float, row i is vector x_i and its reconstruction.
// All arithmetic is in double; sums over coordinates run in index order.
//   sq_error_i = ||x_i - x_hat_i||^2
//   mse_i      = sq_error_i / d                          (MSE per coordinate)
//   nmse_i     = ||x_i - x_hat_i||^2 / ||x_i||^2         (normalised MSE)
//   cosine_i   = <x_i, x_hat_i> / (||x_i|| ||x_hat_i||)  (cosine similarity)
// Zero vectors: nmse_i = 0 when x_i = x_hat_i = 0 and NaN (undefined, skipped by
// summarize()) when x_i = 0 != x_hat_i. cosine(a, b) = 1 when a = b = 0 and 0 when exactly
// one of them is 0 (a zero reconstruction of a non-zero vector carries no direction).
// Non-finite inputs throw NumericError.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace fq::metrics {

// Cosine similarity of a, b: n doubles each, with the zero-vector rule above; clamped to
// [-1, 1].
double cosine_similarity(const double* a, const double* b, std::size_t n);

// Per-vector metrics, each a vector of n values aligned with the rows of x.
struct VectorFidelity {
    std::vector<double> sq_error;  // ||x_i - x_hat_i||^2
    std::vector<double> mse;       // ||x_i - x_hat_i||^2 / d
    std::vector<double> nmse;      // ||x_i - x_hat_i||^2 / ||x_i||^2 (zero rule above)
    std::vector<double> cosine;    // cos(x_i, x_hat_i) (zero rule above)
};

// x, x_hat: (n, d) row-major float. Parallel over rows; identical results for any thread
// count.
VectorFidelity vector_fidelity(const float* x, const float* x_hat, std::size_t n, std::size_t d);

// Shannon distortion-rate bound for unit-norm vectors at rate_bits bits per coordinate:
// D*(b) = 4^-b, the total squared error per vector of a Gaussian source of variance 1/d per
// coordinate at b bits per coordinate (high-dimensional limit of the uniform sphere).
double shannon_bound(double rate_bits);

// 10 log10(D / 4^-b): how far a measured distortion D lies above the bound, in dB.
// D is the mean total squared error per unit-norm vector (for unit-norm data, the mean of
// sq_error, equal to the mean of nmse). D = 0 gives -infinity; D < 0 or non-finite throws
// UsageError.
double db_above_shannon(double distortion, double rate_bits);

// Which (query i, key j) pairs an inner-product error is measured over.
enum class PairSet {
    all,     // every j in [0, n)
    causal,  // j <= i: queries and keys share the token axis (row i = token i)
};

// Error of decoded-key inner products e_ij = <q_i, k_hat_j> - <q_i, k_j> = <q_i, k_hat_j -
// k_j> over a pair set, as running sums in double (mergeable across heads and layers; merge in a
// fixed order for reproducible totals), plus per-query means.
//   bias = (1/N) sum e,  rmse = sqrt((1/N) sum e^2)          over the N pairs
//   bias_se = s_e / sqrt(N),  s_e^2 = (sum e^2 - N bias^2) / (N - 1)
//   rmse_se = se(ms) / (2 rmse) (delta method), se(ms) = s_{e^2} / sqrt(N)
// These standard errors treat the N pairs as independent. They are not: the pairs of one
// query share q_i and those of one key share k_hat_j, so within a head they understate the
// uncertainty. query_mean / query_mean_sq give one value per query; summarize() over them
// yields standard errors that treat queries (not pairs) as the independent items.
struct InnerProductError {
    std::size_t pairs = 0;              // N
    double sum = 0;                     // sum e
    double sum_sq = 0;                  // sum e^2
    double sum_4 = 0;                   // sum e^4
    std::vector<double> query_mean;     // per evaluated query: mean e over its pairs (NaN if none)
    std::vector<double> query_mean_sq;  // per evaluated query: mean e^2 over its pairs

    // Adds other's pairs: sums add, per-query vectors are appended.
    void merge(const InnerProductError& other);
    double bias() const;     // NaN when N = 0
    double bias_se() const;  // NaN when N < 2
    double rmse() const;     // NaN when N = 0
    double rmse_se() const;  // NaN when N < 2; 0 when rmse = 0
};

// q: (m, d) row-major float, row i = query at token i; k, k_hat: (n, d) row-major float.
// rows: the query rows to evaluate (each < m, any order; pairs are summed in that order);
// empty means all rows 0..m-1. For PairSet::causal, query i pairs with keys
// 0..min(i, n - 1). Parallel over queries; identical results for any thread count.
InnerProductError inner_product_error(const float* q, std::size_t m, const float* k,
                                      const float* k_hat, std::size_t n, std::size_t d,
                                      PairSet pairs, std::span<const std::size_t> rows = {});

}  // namespace fq::metrics

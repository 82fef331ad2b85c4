// Gain-shape k-means (GSKM, seed 004, SPEC 4.6) and plain k-means (the control), with optional
// per-sample weights w_i > 0, on samples x_i in R^D.
//
// Plain k-means alternates the assignment a(i) = argmin_j ||x_i - c_j||^2 (exact, in double;
// ties: lowest j) with the update c_j = sum_(i in C_j) w_i x_i / sum w_i (C_j = {i : a(i) = j}).
//
// Gain-shape k-means: a centroid is c_j = g_j s_j, ||s_j|| = 1. Update, on the cell C_j:
//   shape  s_j = normalise(sum w_i x_i / ||x_i||)          (mean unit direction),
//   gain   GsGain::mean_norm:      g_j = sum w_i ||x_i|| / sum w_i   (default),
//          GsGain::least_squares:  g_j = sum w_i <x_i, s_j> / sum w_i.
// Assignment: GsAssign::shape (default): a(i) = argmax_j <x_i, s_j> (spherical k-means on the
// shapes; the gains do not compete), or GsAssign::l2: a(i) = argmin_j ||x_i - g_j s_j||^2
// (SPEC 4.6's wording).
// Why these and not SPEC 4.6's literal update s_j = normalise(sum w_i x_i), g_j = sum w_i
// <x_i, s_j> / sum w_i: that gives g_j s_j = S / W (S = sum w_i x_i, W = sum w_i), exactly the
// plain mean, i.e. plain k-means. With the shape taken from unit directions and L2
// assignment, measured on clustered data with log-normal norms, the mean cosine of the
// reconstructions does not improve over k-means (it drops with mean_norm gains, as large
// centroids capture members by length), while shape assignment + mean_norm gains gives both
// seed 004 claims: no shrinkage (||c_j|| = mean member norm, statistic 1) and a higher cosine
// (each cell maximises sum w_i cos(x_i, s_j)), at some cost in MSE. The plain mean has
// ||c_j|| = ||S|| / W <= sum w_i ||x_i|| / W: shrunk by the spread of directions in its cell.
// Zero vectors add nothing to a shape.
// Initialisation: K distinct samples drawn with core::Rng(seed) (partial Fisher-Yates).
// An empty cell is re-seeded at the member farthest from its centroid in the cell of largest
// total distortion. Stops when the relative change of the weighted mean distortion is below
// tol, or after max_iter iterations. Assignment runs in core::parallel_chunks with fixed
// chunks and all sums are taken serially in sample order, so results are byte-identical for
// any thread count.
//
// Statistics (seed 004's centroid shrinkage; both are 1 for no shrinkage):
//   shrinkage         = sum_j |C_j| ||c_j|| / sum_j |C_j| mean_(i in C_j) ||x_i||  (per cell:
//                       centroid norm against the mean norm of its members, pooled),
//   shrinkage_global  = mean_j ||c_j|| / mean_i ||x_i||   (SPEC 4.6 literally, all samples).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fq/codecs/codebook.hpp"
#include "fq/codecs/gsrq.hpp"

namespace fq::train {

enum class KmeansMethod { plain, gain_shape };

const char* to_string(KmeansMethod m);                            // "plain" | "gain-shape"
KmeansMethod kmeans_method_from_string(const std::string& name);  // throws UsageError

enum class GsAssign { shape, l2 };               // gain-shape training assignment
enum class GsGain { mean_norm, least_squares };  // gain-shape gain update

struct KmeansOptions {
    KmeansMethod method = KmeansMethod::gain_shape;  // centroid update
    GsAssign gs_assign = GsAssign::shape;            // gain-shape only: assignment rule
    GsGain gs_gain = GsGain::mean_norm;              // gain-shape only: gain update
    int K = 256;                                     // number of centroids
    int max_iter = 50;                               // iterations at most
    double tol = 1e-5;                               // relative distortion change that stops
    std::uint64_t seed = 1;                          // seed of the initial centroids
};

struct KmeansIteration {
    int iter = 0;  // 1-based
    // Of the training assignment of this iteration (for gain-shape with GsAssign::shape, the
    // shape assignment, not the nearest centroid):
    double distortion = 0;   // weighted mean ||x - c_a(x)||^2
    double mean_cosine = 0;  // weighted mean cos(x, c_a(x)) (0 for zero vectors)
    double shrinkage = 0;    // see the file comment, centroids before this update
    int empty_repaired = 0;  // empty cells re-seeded in this update
};

// Quality of a codebook on samples with the nearest-centroid (L2) assignment: what a codec
// encoding by nearest centroid reconstructs.
struct KmeansStats {
    double distortion = 0;        // weighted mean ||x - c||^2
    double mean_cosine = 0;       // weighted mean cos(x, c)
    double shrinkage = 0;         // pooled per-cell ||c_j|| / mean member norm
    double shrinkage_global = 0;  // mean_j ||c_j|| / mean_i ||x_i||
    int empty = 0;                // centroids with no sample
};

struct KmeansResult {
    codecs::BlockCodebook codebook;        // k = D, N = K, codewords (K, D) row-major double
    std::vector<KmeansIteration> history;  // one entry per iteration
    KmeansStats stats;                     // of the returned codebook on the training samples
    int iterations = 0;
    bool converged = false;
};

// x: (n, D) row-major double samples; w: n weights > 0 or nullptr (all 1).
// Throws UsageError unless D >= 1, K >= 1, n >= K; NumericError on non-finite input.
KmeansResult kmeans(const double* x, std::size_t n, int D, const double* w,
                    const KmeansOptions& opts);

// Nearest centroid a(i) of every sample (exact double distances, ties: lowest index).
// x: (n, D) row-major double -> idx: n indices, dist2: n squared distances (may be nullptr).
void assign_nearest(const codecs::BlockCodebook& cb, const double* x, std::size_t n,
                    std::uint32_t* idx, double* dist2);

KmeansStats kmeans_stats(const codecs::BlockCodebook& cb, const double* x, std::size_t n,
                         const double* w);

// ---------------------------------------------------------------------------------------------
// GSRQ training (SPEC 4.6): stage s is trained by kmeans() on the residuals y - y_hat_(s-1) of
// the calibration sub-vectors after stages 0..s-1 (searched with beam width train_beam, as the
// encoder will), per position p = 0..d/D-1 (or on all positions pooled if shared). Each
// sub-vector of vector i carries the weight w_i. Stage s, position p uses the k-means seed
// kmeans.seed + 1000003 s + p.

struct GsrqTrainOptions {
    int D = 8;             // sub-vector dimension, divides d
    int K = 256;           // centroids per stage codebook
    int S = 2;             // residual stages
    bool shared = false;   // one codebook per stage for all positions
    int train_beam = 1;    // beam width used to form the residuals between stages
    KmeansOptions kmeans;  // method, max_iter, tol, seed (its K is replaced by K above)
};

struct GsrqStageStats {
    int stage = 0;                        // 0-based
    KmeansStats stats;                    // mean over positions of their final k-means stats
    double mse_per_coord = 0;             // weighted mean ||x - x_hat||^2 / d after this stage
    std::vector<KmeansResult> positions;  // per position (one entry if shared)
};

struct GsrqTrainResult {
    codecs::GsrqCodebooks codebooks;
    std::vector<GsrqStageStats> stages;
};

// x: (n, d) row-major float calibration vectors; w: n weights > 0 or nullptr.
GsrqTrainResult train_gsrq(const float* x, std::size_t n, int d, const double* w,
                           const GsrqTrainOptions& opts);

}  // namespace fq::train

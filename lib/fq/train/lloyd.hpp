// Lloyd-Max refinement of a block codebook on a fixed training sample (generalised Lloyd /
// k-means): alternate nearest-codeword assignment (batched, OpenMP, deterministic whatever
// the thread count) and centroid update, until the relative change of the mean distortion
// is below tol or max_iter is reached. An empty cell is re-seeded by splitting the cell with
// the largest total distortion: the empty codeword moves to that cell's member farthest from
// its centroid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fq/codecs/codebook.hpp"

namespace fq::train {

struct LloydIteration {
    int iter = 0;            // 1-based
    double distortion = 0;   // mean ||y - c(y)||^2 per block before this update
    int empty_repaired = 0;  // empty cells re-seeded in this iteration
};

struct RestartStats {
    int restart = 0;
    std::uint64_t seed = 0;       // jitter seed (0 for the unjittered restart)
    double init_distortion = 0;   // on the training sample
    double train_distortion = 0;  // final, training sample
    double val_distortion = 0;    // final, validation sample
    int iterations = 0;
    bool converged = false;
    std::vector<LloydIteration> history;
};

struct LloydOptions {
    int max_iter = 200;  // iterations at most
    double tol = 1e-5;   // relative distortion change that stops the loop
};

// Mean squared distance of samples y: (n, k) row-major double to their nearest codeword.
double mean_distortion(const codecs::BlockCodebook& cb, const double* y, std::size_t n);

// Refines cb in place on samples y: (n, k) row-major double. Fills stats.history,
// iterations, converged, train_distortion (the distortion of the returned codebook).
void lloyd_refine(codecs::BlockCodebook& cb, const double* y, std::size_t n,
                  const LloydOptions& opts, RestartStats& stats);

}  // namespace fq::train

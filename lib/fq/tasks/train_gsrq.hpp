// fq-train gsrq (SPEC 4.6): data-trained residual VQ. The calibration vectors of a KV dump
// (io/calibration.hpp) are the training set of train::train_gsrq (gain-shape or plain
// k-means per stage, optional per-vector weights); the result is written as a gsrq codebook
// file (io/gsrq_file.hpp) and the summary gives the rate S log2(K) / D, the MSE per
// coordinate, nMSE and mean cosine of the reconstruction on the training vectors, and per
// stage the centroid shrinkage and cosine of the chosen k-means.
#pragma once

#include <cstdint>
#include <string>

#include "fq/io/calibration.hpp"
#include "fq/tasks/train_run.hpp"

namespace fq::tasks {

struct TrainGsrqOptions {
    io::CalibrationSelection data;      // input, tensor, select, layers, tokens, weights
    int D = 8;                          // sub-vector dimension, divides d
    int K = 256;                        // centroids per stage codebook
    int stages = 2;                     // residual stages S
    std::string kmeans = "gain-shape";  // "gain-shape" | "plain"
    int max_iter = 50;                  // k-means iterations per stage at most
    double tol = 1e-5;                  // k-means relative distortion change that stops
    std::uint64_t seed = 1;             // seed of the initial centroids
    bool shared = false;                // one codebook per stage for all positions
    int train_beam = 1;                 // beam width used to form the residuals between stages
    TrainRun run;
};

void run_train_gsrq(const TrainGsrqOptions& opts);

}  // namespace fq::tasks

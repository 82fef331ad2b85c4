// fq-train tcq (issue 11): the universal trellis of the tcq family for dimension d,
// trained on the canonical source (train/tcq_train.hpp) and written as a tcq codebook file
// (io/tcq_file.hpp); the summary gives the rate K / V, the training and validation total
// MSE per unit vector and the dB above the Shannon bound 4^-rate.
#pragma once

#include <cstdint>
#include <string>

#include "fq/tasks/train_run.hpp"

namespace fq::tasks {

struct TrainTcqOptions {
    int d = 128;                    // vector dimension (a multiple of V)
    int L = 12;                     // state bits
    int K = 0;                      // bits per step; 0 = bits * V
    int V = 1;                      // numbers per step
    double bits = 2;                // bits per coordinate (used when K = 0)
    std::uint64_t seed = 1;         // table and samples
    std::size_t train_vectors = 0;  // 0 = 256 steps per state
    int max_iter = 30;
    double tol = 1e-4;
    std::string rotation = "haar";
    std::uint64_t rotation_seed = 1;
    TrainRun run;
};

void run_train_tcq(const TrainTcqOptions& opts);

}  // namespace fq::tasks

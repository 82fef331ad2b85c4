// Training the universal trellis of the tcq family (codecs/trellis.hpp, issue 11): Lloyd
// iterations on samples of the canonical source (uniform unit vectors of R^d scaled by
// sqrt(d): every coordinate about unit variance, SPEC 2), each vector one tape of
// T = d / V steps:
//   1. the table starts as a seeded random standard-normal table (2^L rows of V numbers);
//   2. assignment: every training vector's path by TrellisSearch::encode (the codec's own
//      search), in parallel over vectors (each vector's path depends on nothing else);
//   3. update: every table row becomes the mean of the V-tuples whose step landed on its
//      state (accumulated in vector order, so the result does not depend on the thread
//      count); a row no step landed on keeps its value;
//   until the relative decrease of the training distortion is below tol or max_iter.
// Distortions are total squared errors per unit vector (||z - z_hat||^2 with z a uniform
// unit vector), the quantity fq-eval source and the codebook files report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fq/codecs/trellis.hpp"

namespace fq::train {

struct TcqParams {
    int d = 128;                    // vector dimension (a multiple of V)
    int L = 12;                     // state bits
    int K = 2;                      // bits per step
    int V = 1;                      // numbers per step
    std::uint64_t seed = 1;         // seeds the table and the training/validation samples
    std::size_t train_vectors = 0;  // 0 = enough for 256 steps per state: 256 2^L / T
    std::size_t val_vectors = 0;    // 0 = train_vectors / 2
    int max_iter = 30;
    double tol = 1e-4;
};

struct TcqIteration {
    int iter = 0;
    double train_distortion = 0;   // with the table at the start of the iteration
    std::size_t empty_states = 0;  // rows no step landed on (kept)
};

struct TcqTrainResult {
    TcqParams params;  // with the 0 defaults resolved
    codecs::Trellis trellis;
    double init_distortion = 0;   // the random table, training sample
    double train_distortion = 0;  // final table, training sample
    double val_distortion = 0;    // final table, validation sample
    std::vector<TcqIteration> iterations;
};

// UsageError on invalid sizes. progress(stage, fraction) may be null.
TcqTrainResult train_tcq(const TcqParams& p,
                         const std::function<void(const std::string&, double)>& progress = {});

// Mean total squared error per unit vector of the trellis on n vectors (n x d, already
// scaled by sqrt(d)), with the codec's search; parallel, deterministic.
double tcq_distortion(const codecs::Trellis& t, int d, const std::vector<float>& x);

// n canonical-source vectors scaled by sqrt(d) (n x d), seeded (stream distinguishes sets).
std::vector<float> tcq_source_samples(int d, std::size_t n, std::uint64_t seed,
                                      std::uint64_t stream);

}  // namespace fq::train

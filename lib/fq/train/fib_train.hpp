// Training of FibQuant block codebooks (SPEC 4.2): structured initialisation (Beta-quantile
// radii with sunflower / multi-shell Fibonacci-sphere / Roberts-Kronecker directions), then
// multi-restart Lloyd-Max on samples of the spherical-Beta source f_{d,k}, the restart kept
// being the one with the lowest distortion on an independent validation sample.
//
// The structured initialisation places codewords at quantiles of the source's radial law,
// which is right at high rate; at low rate the optimal codewords are cell centroids, which sit
// well inside the source's typical radius. So the initial codebook is scaled by the one factor
// alpha = sum <y, c(y)> / sum ||c(y)||^2 (the MSE-optimal gain for its own cells, refitted
// three times), which can only lower its distortion; alpha is recorded as init_scale.
//
// Distortions are "per block": the mean of ||y - c(y)||^2 over blocks y. The total MSE of a
// unit vector is floor(d/k) * D_main + D_tail (the tail block, r = d mod k coordinates, has a
// codebook of its own with N_r = round(2^(b r)) codewords, b = log2(N)/k).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fq/codecs/codebook.hpp"
#include "fq/codecs/fib_init.hpp"
#include "fq/train/lloyd.hpp"

namespace fq::train {

struct FibParams {
    int d = 128;                                             // vector dimension (head dimension)
    int k = 4;                                               // block dimension, 1 <= k < d
    int N = 256;                                             // codewords per block, >= 2
    codecs::RadialInit radial = codecs::RadialInit::source;  // radial law of the initialisation
    std::uint64_t seed = 1;         // seeds the training/validation samples and restarts
    std::size_t train_samples = 0;  // M; 0 = max(256 N, 2^18)
    std::size_t val_samples = 0;    // validation sample size; 0 = M / 2
    int restarts = 8;               // R: restart 0 is the structured init, 1..R-1 jittered
    int max_iter = 200;             // Lloyd iterations per restart
    double tol = 1e-5;              // stop when relative distortion change < tol
    double jitter = 0.25;           // restart jitter, fraction of mean nearest-codeword spacing
    int k3_shells = 0;              // k = 3: shells L; 0 = best factorisation by training MSE
};

// One block codebook (main or tail) and how it was obtained.
struct BlockTrainResult {
    codecs::BlockCodebook codebook;
    std::string init_name;       // e.g. "sunflower", "multishell(L=4,M=16)", "roberts-kronecker"
    double init_scale = 1;       // radial scale fitted to the structured init (see below)
    double init_distortion = 0;  // structured init alone (scaled), training sample
    double random_init_distortion = 0;  // N random training samples as codewords (control)
    std::vector<std::pair<int, double>> shell_choices;  // k = 3: (L, init distortion) tried
    std::vector<RestartStats> restarts;  // one per restart, with per-iteration history
    int best_restart = 0;
    double train_distortion = 0;  // best restart, training sample
    double val_distortion = 0;    // best restart, validation sample
};

struct FibTrainResult {
    FibParams params;
    std::size_t train_samples = 0;  // resolved M
    std::size_t val_samples = 0;    // resolved validation size
    BlockTrainResult main;
    std::optional<BlockTrainResult> tail;  // present when k does not divide d
    double rate = 0;                       // payload bits per coordinate (exact)
    double train_total_mse = 0;            // per unit vector
    double val_total_mse = 0;              // per unit vector
};

// progress(stage, fraction in [0,1]) is called from the calling thread only.
using Progress = std::function<void(const std::string& stage, double fraction)>;

FibTrainResult train_fib(const FibParams& params, const Progress& progress = {});

// N_r for the tail block of r coordinates at rate b: round(2^(b r)), at least 2.
int tail_codebook_size(int N, int k, int r);

}  // namespace fq::train

// run_train: the task behind fq-train. Trains a universal codebook (`fib`: train::train_fib;
// `scalar`: the exact Lloyd-Max quantizer codecs::lloyd_max_scalar), saves it as a codebook
// file (io/codebook_file.hpp) and prints a short human summary on stdout: family, d, k, N,
// rate, training and validation total MSE per unit vector, dB above the bound 4^-b, the
// structured vs random initialisation distortion, the best restart, the wall time.
//
// A --config file is a JSON object whose keys are the long option names of fq-train (e.g.
// {"d": 128, "k": 4, "N": 256, "max-iter": 100, "output": "cb.json"}); unknown keys and keys
// that do not apply to the family are errors. Options given explicitly on the command line
// (listed in TrainOptions::explicit_options) override the file.
// Relative paths in it (output) are relative to the current directory, as on the command line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fq/codecs/fib_init.hpp"
#include "fq/train/fib_train.hpp"

namespace fq::tasks {

struct TrainOptions {
    std::string family = "fib";    // "fib" | "scalar"
    int d = train::FibParams{}.d;  // vector dimension
    int k = train::FibParams{}.k;  // fib: block dimension
    int N = train::FibParams{}.N;  // fib: codewords per block
    int bits = 2;                  // scalar: bits per coordinate, 1..8
    std::string radial = codecs::to_string(train::FibParams{}.radial);  // fib: source|companded
    std::uint64_t seed = train::FibParams{}.seed;              // fib: seeds samples and restarts
    std::size_t samples = train::FibParams{}.train_samples;    // fib: M; 0 = max(256 N, 2^18)
    std::size_t val_samples = train::FibParams{}.val_samples;  // fib: 0 = M / 2
    int restarts = train::FibParams{}.restarts;                // fib: Lloyd restarts R
    int max_iter = train::FibParams{}.max_iter;                // fib: Lloyd iterations per restart
    double tol = train::FibParams{}.tol;        // fib: relative distortion change to stop
    double jitter = train::FibParams{}.jitter;  // fib: restart jitter (fraction of spacing)
    int shells = train::FibParams{}.k3_shells;  // fib, k = 3: shells L; 0 = best by MSE
    std::string rotation = "haar";              // haar | hadamard | none
    std::uint64_t rotation_seed = 1;            // seed of the rotation Pi
    std::string output;                         // codebook file to write (required)
    bool force = false;                         // overwrite an existing output
    int threads = 0;                            // OpenMP threads; 0 = default
    std::string config;                         // JSON config file ("" = none)
    int verbosity = 0;                          // -1 quiet, 0 normal, 1 verbose
    std::set<std::string> explicit_options;     // long names given on the command line
};

// Applies the JSON config at path to opts, except the keys in opts.explicit_options.
// Throws UsageError on an unknown key, a key that does not apply to opts.family, or a value
// of the wrong type; IoError if the file cannot be read.
void apply_train_config(const std::string& path, TrainOptions& opts);

// The fib training parameters of opts.
train::FibParams fib_params(const TrainOptions& opts);

// Applies opts.config (if any), trains, saves opts.output, prints the summary on stdout.
void run_train(TrainOptions opts);

}  // namespace fq::tasks

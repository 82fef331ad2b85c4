// The universal codebooks of fq-train (they depend on d, k, N and the construction only,
// never on a model; SPEC 4.1, 4.2), one options struct and one task per subcommand:
//   run_train_fib     FibQuant block codebook: structured init + multi-restart Lloyd-Max
//                     (train::train_fib)
//   run_train_scalar  the exact Lloyd-Max quantizer of the k = 1 marginal
//                     (codecs::lloyd_max_scalar)
// Each saves a codebook file (io/codebook_file.hpp) and prints a short human summary on
// stdout: family, d, k, N, rate, training and validation total MSE per unit vector, dB above
// the bound 4^-b, the structured vs random initialisation distortion, the best restart, the
// wall time.
//
// A --config file is a JSON object whose keys are the subcommand's long option names (e.g.
// {"d": 128, "k": 4, "N": 256, "max-iter": 100, "output": "cb.json"}), plus "family" (must
// name the subcommand); unknown keys and keys of the other subcommand are errors. Options
// given explicitly on the command line (explicit_options) override the file. Relative paths
// in it (output) are relative to the current directory, as on the command line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fq/codecs/fib_init.hpp"
#include "fq/tasks/train_run.hpp"
#include "fq/train/fib_train.hpp"

namespace fq::tasks {

struct TrainFibOptions {
    int d = train::FibParams{}.d;                                       // vector dimension
    int k = train::FibParams{}.k;                                       // block dimension
    int N = train::FibParams{}.N;                                       // codewords per block
    std::string radial = codecs::to_string(train::FibParams{}.radial);  // source | companded
    std::uint64_t seed = train::FibParams{}.seed;              // seeds samples and restarts
    std::size_t samples = train::FibParams{}.train_samples;    // M; 0 = max(256 N, 2^18)
    std::size_t val_samples = train::FibParams{}.val_samples;  // 0 = M / 2
    int restarts = train::FibParams{}.restarts;                // Lloyd restarts R
    int max_iter = train::FibParams{}.max_iter;                // Lloyd iterations per restart
    double tol = train::FibParams{}.tol;                       // relative distortion change to stop
    double jitter = train::FibParams{}.jitter;  // restart jitter (fraction of spacing)
    int shells = train::FibParams{}.k3_shells;  // k = 3: shells L; 0 = best by MSE
    std::string rotation = "haar";              // haar | hadamard | none
    std::uint64_t rotation_seed = 1;            // seed of the rotation Pi
    TrainRun run;
    std::string config;                      // JSON config file ("" = none)
    std::set<std::string> explicit_options;  // long names given on the command line
};

struct TrainScalarOptions {
    int d = 128;                      // vector dimension
    int bits = 2;                     // bits per coordinate, 1..8
    std::string rotation = "haar";    // haar | hadamard | none
    std::uint64_t rotation_seed = 1;  // seed of the rotation Pi
    TrainRun run;
    std::string config;
    std::set<std::string> explicit_options;
};

// The training parameters of opts.
train::FibParams fib_params(const TrainFibOptions& opts);

// Apply opts.config (if any), train, save run.output, print the summary on stdout.
// UsageError on a bad config key or value; IoError if the config cannot be read.
void run_train_fib(TrainFibOptions opts);
void run_train_scalar(TrainScalarOptions opts);

}  // namespace fq::tasks

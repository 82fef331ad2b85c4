// run_train: the task behind fq-train. Trains a universal codebook (`fib`: train::train_fib;
// `scalar`: the exact Lloyd-Max quantizer codecs::lloyd_max_scalar), saves it as a codebook
// file (io/codebook_file.hpp) and prints a short human summary on stdout: family, d, k, N,
// rate, training and validation total MSE per unit vector, dB above the bound 4^-b, the
// structured vs random initialisation distortion, the best restart, the wall time.
//
// `gsrq` (SPEC 4.6) is data-trained instead: the K or V vectors of a calibration KV dump
// (io/kv_dump.hpp; datasets selected by --select, layers [a, b) and tokens [a, b) of every
// head) are the training set of train::train_gsrq (gain-shape or plain k-means per stage,
// optional per-vector weights), the result is written as a gsrq codebook file
// (io/gsrq_file.hpp) and the summary gives the rate S log2(K) / D, the MSE per coordinate,
// nMSE and mean cosine of the reconstruction on the training vectors, and per stage the
// centroid shrinkage and cosine of the chosen k-means.
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
#include <vector>

#include "fq/codecs/fib_init.hpp"
#include "fq/train/fib_train.hpp"

namespace fq::tasks {

struct TrainOptions {
    std::string family = "fib";    // "fib" | "scalar" | "gsrq"
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

    // gsrq only:
    std::string input;                  // calibration KV dump
    std::string tensor = "k";           // "k" | "v": which vectors to train on
    int D = 8;                          // sub-vector dimension, divides d
    int K = 256;                        // centroids per stage codebook
    int stages = 2;                     // residual stages S
    std::string kmeans = "gain-shape";  // "gain-shape" | "plain"
    std::string weights;                // per-vector weight dataset name, sibling of each
                                        // selected dataset, shape [heads, tokens] ("" = none)
    std::vector<std::string> select;    // dataset globs (empty: layer_<L>/{q,k,v})
    std::string layers;                 // "a:b" layer range ("" = all)
    std::string tokens;                 // "a:b" token range of every dataset ("" = all)
    int gsrq_max_iter = 50;             // k-means iterations per stage at most
    double gsrq_tol = 1e-5;             // k-means relative distortion change that stops
    bool shared = false;                // one codebook per stage for all positions
    int train_beam = 1;                 // beam width used to form the residuals between stages

    // faiss-pq / faiss-rq only (builds with FAISS; also input, tensor, tokens, seed unused):
    int faiss_M = 16;     // PQ sub-quantizers / RQ stages
    int faiss_nbits = 8;  // bits per sub-quantizer / stage
};

// Applies the JSON config at path to opts, except the keys in opts.explicit_options.
// Throws UsageError on an unknown key, a key that does not apply to opts.family, or a value
// of the wrong type; IoError if the file cannot be read.
void apply_train_config(const std::string& path, TrainOptions& opts);

// The fib training parameters of opts.
train::FibParams fib_params(const TrainOptions& opts);

// Applies opts.config (if any), trains, saves opts.output, prints the summary on stdout.
void run_train(TrainOptions opts);

// fq-train gsrq (no --config): reads the calibration vectors, trains, saves opts.output,
// prints the summary on stdout.
void run_train_gsrq(const TrainOptions& opts);

// fq-train faiss-pq | faiss-rq: trains a FAISS product / residual quantizer (M, nbits) on the
// K or V vectors of every dataset of the calibration dump (tokens opts.tokens), saves a FAISS
// codebook file (io/faiss_file.hpp), prints a summary. UsageError in builds without FAISS.
void run_train_faiss(const TrainOptions& opts);

}  // namespace fq::tasks

// What every fq-train subcommand shares: where the codebook goes and how the task runs
// (TrainRun), and the steps around training: checking the output first, timing, the
// summary's number format.
#pragma once

#include <chrono>
#include <string>

namespace fq::tasks {

struct TrainRun {
    std::string output;  // codebook file to write (required)
    bool force = false;  // overwrite an existing output
    int threads = 0;     // OpenMP threads; 0 = default
    int verbosity = 0;   // -1 quiet, 0 normal, 1 verbose

    // Sets verbosity and threads, requires an output and refuses an existing one (unless
    // force) or a missing directory, before any work.
    void start() const;
};

// printf-style formatting of one number, for the summaries.
std::string fmt(const char* format, double x);

// Seconds since t0.
double seconds_since(std::chrono::steady_clock::time_point t0);

}  // namespace fq::tasks

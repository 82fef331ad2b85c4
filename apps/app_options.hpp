// Options every app declares the same way (CONVENTIONS "Command lines"): -j/--threads and
// the -v/--verbose, -q/--quiet pair. Header-only; included by apps/fq-*.cpp only.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace fq::apps {

// -j/--threads: OpenMP threads, 0 = all cores, checked in [0, 1024].
inline void add_threads_option(CLI::App& app, int& threads) {
    app.add_option("-j,--threads", threads,
                   "OpenMP threads (0 = all cores); output does not depend on it")
        ->check(CLI::Range(0, 1024));
}

// -v/--verbose and -q/--quiet, exclusive; quiet_help says what -q silences.
struct LogFlags {
    bool verbose = false;
    bool quiet = false;
    int verbosity() const { return verbose ? 1 : (quiet ? -1 : 0); }  // the options' scale
};

inline void add_log_flags(CLI::App& app, LogFlags& flags, const std::string& quiet_help) {
    auto* v = app.add_flag("-v,--verbose", flags.verbose, "log details on stderr");
    app.add_flag("-q,--quiet", flags.quiet, quiet_help)->excludes(v);
}

}  // namespace fq::apps

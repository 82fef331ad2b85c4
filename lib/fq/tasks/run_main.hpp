// run_main: the shared main() of every app, mapping failures to the documented exit codes,
// and the apps' logging (stderr only; stdout carries results).
//
// Exit codes (docs/FORMAT.md and CONVENTIONS): 0 ok; 1 usage (fq::UsageError, or a CLI11
// parse error); 2 I/O (fq::IoError) and also any other std::exception or unknown exception
// (out of memory, a failing system call reported by the standard library, or a bug: a
// failure of the environment rather than of the input); 3 corrupt or mismatched file
// (fq::CorruptError); 4 numerical trouble (fq::NumericError). Every error is one line on
// stderr: "<app>: error: <message>".
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace fq::tasks {

// Runs body and returns the exit code; never throws.
int run_main(const std::string& app, const std::function<void()>& body);

// Parses argv with cli, then runs body. --help prints the help of every subcommand (or of
// the selected one) on stdout and returns 0; --version prints the version, returns 0; a
// parse error is one line on stderr and returns 1.
int run_main(const std::string& app, CLI::App& cli, int argc, char** argv,
             const std::function<void()>& body);

// ---- logging

enum class Verbosity { quiet = -1, normal = 0, verbose = 1 };

void set_verbosity(Verbosity v);
Verbosity verbosity();
// The name logs are prefixed with (set by run_main).
void set_app_name(const std::string& app);
const std::string& app_name();

bool stderr_is_terminal();  // isatty(2)

void log_info(const std::string& message);     // "<app>: message" on stderr unless quiet
void log_verbose(const std::string& message);  // the same, only with -v
void log_warning(const std::string& message);  // "<app>: warning: message", always

// A one-line progress bar on stderr, drawn only when stderr is a terminal and not quiet:
//   "<stage> [#########           ]  45%", redrawn in place when the shown value changes,
// erased by finish() or the destructor.
class ProgressBar {
public:
    ProgressBar();
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    bool enabled() const { return m_enabled; }
    void update(const std::string& stage, double fraction);  // fraction in [0, 1]
    void finish();

private:
    bool m_enabled = false;
    bool m_drawn = false;
    std::string m_stage;
    int m_permille = -1;
};

}  // namespace fq::tasks

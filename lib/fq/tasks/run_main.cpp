#include "fq/tasks/run_main.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>

#include "fq/core/error.hpp"
#include "fq/io/mpi_run.hpp"

namespace fq::tasks {

namespace {

Verbosity g_verbosity = Verbosity::normal;
std::string g_app_name = "fq";

// Keeps an error on one line whatever the message holds.
std::string one_line(std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    std::replace(s.begin(), s.end(), '\r', ' ');
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

// Under an MPI run the ranks agree on failures (io/mpi_run.hpp): the root says it once.
int report(const std::string& message, int code) {
    std::cout.flush();
    if (io::mpi::is_root())
        std::cerr << g_app_name << ": error: " << one_line(message) << std::endl;
    return code;
}

}  // namespace

int run_main(const std::string& app, const std::function<void()>& body) {
    set_app_name(app);
    try {
        body();
        std::cout.flush();
        return static_cast<int>(ExitCode::ok);
    } catch (const Error& e) {
        return report(e.what(), static_cast<int>(e.code()));
    } catch (const CLI::ParseError& e) {
        return report(e.what(), static_cast<int>(ExitCode::usage));
    } catch (const std::exception& e) {
        return report(std::string("unexpected failure: ") + e.what(),
                      static_cast<int>(ExitCode::io));
    } catch (...) {
        return report("unexpected failure (unknown exception)", static_cast<int>(ExitCode::io));
    }
}

int run_main(const std::string& app, CLI::App& cli, int argc, char** argv,
             const std::function<void()>& body) {
    set_app_name(app);
    try {
        cli.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::cout << cli.help("", CLI::AppFormatMode::All);
        return static_cast<int>(ExitCode::ok);
    } catch (const CLI::CallForAllHelp&) {
        std::cout << cli.help("", CLI::AppFormatMode::All);
        return static_cast<int>(ExitCode::ok);
    } catch (const CLI::CallForVersion& e) {
        std::cout << e.what() << std::endl;
        return static_cast<int>(ExitCode::ok);
    } catch (const CLI::ParseError& e) {
        return report(std::string(e.what()) + " (see --help)", static_cast<int>(ExitCode::usage));
    }
    return run_main(app, body);
}

void set_verbosity(Verbosity v) {
    // Under an MPI run only the root logs (the others would repeat it).
    g_verbosity = io::mpi::is_root() ? v : Verbosity::quiet;
}
Verbosity verbosity() {
    return g_verbosity;
}
void set_app_name(const std::string& app) {
    g_app_name = app;
}
const std::string& app_name() {
    return g_app_name;
}

bool stderr_is_terminal() {
    return ::isatty(2) == 1;
}

void log_info(const std::string& message) {
    if (g_verbosity != Verbosity::quiet) std::cerr << g_app_name << ": " << message << '\n';
}

void log_verbose(const std::string& message) {
    if (g_verbosity == Verbosity::verbose) std::cerr << g_app_name << ": " << message << '\n';
}

void log_warning(const std::string& message) {
    std::cerr << g_app_name << ": warning: " << message << '\n';
}

ProgressBar::ProgressBar() : m_enabled(stderr_is_terminal() && g_verbosity != Verbosity::quiet) {}

ProgressBar::~ProgressBar() {
    finish();
}

void ProgressBar::update(const std::string& stage, double fraction) {
    if (!m_enabled) return;
    const int permille = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * 1000.0);
    if (stage == m_stage && permille / 10 == m_permille / 10) return;  // nothing visible changed
    m_stage = stage;
    m_permille = permille;
    constexpr int k_width = 30;
    const int filled = permille * k_width / 1000;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(k_width, ' ');
    std::string label = stage.size() > 40 ? stage.substr(0, 40) : stage;
    std::fprintf(stderr, "\r\033[K%s [%s] %3d%%", label.c_str(), bar.c_str(), permille / 10);
    std::fflush(stderr);
    m_drawn = true;
}

void ProgressBar::finish() {
    if (m_drawn) {
        std::fprintf(stderr, "\r\033[K");
        std::fflush(stderr);
    }
    m_drawn = false;
    m_stage.clear();
    m_permille = -1;
}

}  // namespace fq::tasks

#include "fq/tasks/train_run.hpp"

#include <algorithm>
#include <cstdio>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/tasks/paths.hpp"
#include "fq/tasks/run_main.hpp"

namespace fq::tasks {

void TrainRun::start() const {
    set_verbosity(static_cast<Verbosity>(std::clamp(verbosity, -1, 1)));
    require(!output.empty(), "no output file: give -o/--output");
    require(threads >= 0, "threads must be >= 0");
    check_new_output(output, force);
    core::set_threads(threads);
}

std::string fmt(const char* format, double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, x);
    return buf;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace fq::tasks

#include "fq/tasks/paths.hpp"

#include <filesystem>

#include "fq/core/error.hpp"

namespace fs = std::filesystem;

namespace fq::tasks {

void refuse_existing_output(const std::string& output, const std::string& input, bool force) {
    std::error_code ec;
    if (fs::exists(output, ec)) {
        if (fs::exists(input, ec) && fs::equivalent(input, output, ec))
            throw UsageError("output '" + output + "' is the input file");
        if (!force)
            throw UsageError("output file '" + output + "' exists (use --force to overwrite)");
    }
}

void check_new_output(const std::string& output, bool force) {
    std::error_code ec;
    if (!force && fs::exists(output, ec))
        throw UsageError("output file '" + output + "' exists (use --force to overwrite)");
    const fs::path dir = fs::path(output).parent_path();
    if (!dir.empty() && !fs::is_directory(dir, ec))
        throw IoError("output directory '" + dir.string() + "' does not exist");
}

}  // namespace fq::tasks

#include "fq/io/text_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fq/core/error.hpp"

namespace fq::io {

std::string read_text_file(const std::string& path, const std::string& what) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw IoError(what + " '" + path + "' is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError("cannot open " + what + " '" + path + "': " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw IoError("cannot read " + what + " '" + path + "'");
    return ss.str();
}

void write_text_file(const std::string& path, const std::string& text, bool force) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!force && fs::exists(path, ec))
        throw UsageError("output file '" + path + "' exists (use --force to overwrite)");
    if (fs::is_directory(path, ec)) throw IoError("output '" + path + "' is a directory");

    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw IoError("cannot write '" + tmp + "': " + std::strerror(errno));
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        out.close();
        if (!out) {
            fs::remove(tmp, ec);
            throw IoError("cannot write '" + tmp + "': write failed");
        }
    }
    // Checked again just before the rename: another process may have created path meanwhile.
    if (!force && fs::exists(path, ec)) {
        fs::remove(tmp, ec);
        throw UsageError("output file '" + path + "' exists (use --force to overwrite)");
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        std::error_code ec2;
        fs::remove(tmp, ec2);
        throw IoError("cannot rename '" + tmp + "' to '" + path + "': " + ec.message());
    }
}

}  // namespace fq::io

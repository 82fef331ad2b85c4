// fq::Error and its subclasses: every failure the library reports, each mapped to one
// documented process exit code (0 ok, 1 usage, 2 I/O or HDF5, 3 corrupt or mismatched
// file, 4 numerical trouble). Messages are one line: "<what>: <detail>".
#pragma once

#include <stdexcept>
#include <string>

namespace fq {

enum class ExitCode : int { ok = 0, usage = 1, io = 2, corrupt = 3, numeric = 4 };

class Error : public std::runtime_error {
public:
    Error(ExitCode code, const std::string& message) : std::runtime_error(message), m_code(code) {}
    ExitCode code() const noexcept { return m_code; }

private:
    ExitCode m_code;
};

// Bad options, inconsistent parameters, a request the data cannot satisfy.
struct UsageError : Error {
    explicit UsageError(const std::string& m) : Error(ExitCode::usage, m) {}
};
// Missing file or dataset, HDF5 failure, unwritable output.
struct IoError : Error {
    explicit IoError(const std::string& m) : Error(ExitCode::io, m) {}
};
// Checksum or hash mismatch, truncated or malformed file, unknown format version.
struct CorruptError : Error {
    explicit CorruptError(const std::string& m) : Error(ExitCode::corrupt, m) {}
};
// NaN or Inf in input, non-convergence, singular systems.
struct NumericError : Error {
    explicit NumericError(const std::string& m) : Error(ExitCode::numeric, m) {}
};

// Throws UsageError(message) unless cond holds. For argument checks in the library.
void require(bool cond, const std::string& message);

}  // namespace fq

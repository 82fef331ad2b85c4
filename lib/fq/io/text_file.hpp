// Whole text files as the codebook files use them (io/codebook_file, io/gsrq_file): read in
// one piece, and written under a temporary name beside the target then renamed into place,
// so a reader never sees a half-written file.
#pragma once

#include <string>

namespace fq::io {

// The bytes of path. `what` names the file in messages ("codebook file"): IoError
// "<what> '<path>' is a directory", "cannot open <what> '<path>': <reason>" or
// "cannot read <what> '<path>'".
std::string read_text_file(const std::string& path, const std::string& what);

// Writes text to path + ".tmp.<pid>" and renames it to path. Unless force, an existing path
// is a UsageError "output file '<path>' exists (use --force to overwrite)", checked before
// writing and again just before the rename. IoError if path is a directory or on a write or
// rename failure (the temporary file is removed).
void write_text_file(const std::string& path, const std::string& text, bool force);

}  // namespace fq::io

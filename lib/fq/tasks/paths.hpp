// Paths the tasks check before writing: the refusal of an output that exists (or is the
// input), or whose directory is missing.
#pragma once

#include <string>
#include <vector>

namespace fq::tasks {

// For fq-encode and fq-decode: UsageError "output '<output>' is the input file" if output
// exists and is input, else "output file '<output>' exists (use --force to overwrite)" if
// it exists and not force.
void refuse_existing_output(const std::string& output, const std::string& input, bool force);

// For fq-train, before training: UsageError if output exists and not force; IoError
// "output directory '<dir>' does not exist" if its directory is missing.
void check_new_output(const std::string& output, bool force);

}  // namespace fq::tasks

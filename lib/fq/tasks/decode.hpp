// run_decode: the task behind fq-decode. Restores a KV dump (io/kv_dump.hpp layout: same
// dataset paths, axis orders and attributes, copied datasets) from an fq container
// (io/encoded_file.hpp), as float32 or float16.
//
// Slices: `select` globs restrict the datasets (encoded and copied) written; `heads` and
// `tokens` ("a:b", half-open; "a" = one) restrict every selected encoded dataset to that
// slice (the output dataset then has the slice's shape and a string attribute fq_slice).
// Only the checksum blocks covering the slice are read and verified, and each code is
// decoded on its own (a code of G vectors for int per_channel: the groups covering the slice
// are decoded and the vectors outside it, padding included, dropped), so a slice equals the
// same slice of a full decode bit for bit.
//
// Codebooks: the embedded ones (universal or gsrq), unless given with `codebooks` (-c): each
// given codebook must be the one every selected encoded dataset that needs one names
// (CorruptError otherwise). qjl, scalar+qjl, int and block need none.
// Work: one checksum block of the requested heads at a time (bounded memory), decoded with
// core::parallel_chunks (output independent of the thread count).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fq::tasks {

struct DecodeOptions {
    std::string input;                   // container (read-only)
    std::string output;                  // KV dump to write
    std::string dtype = "float32";       // float32 | float16 output element type
    std::vector<std::string> select;     // dataset globs (empty = all)
    std::string tokens;                  // "a:b" token range ("" = all)
    std::string heads;                   // "a:b" head range ("" = all)
    std::vector<std::string> codebooks;  // codebook files that must match the file's hashes
    std::string codebook_dir;            // directory to resolve hashes not embedded
    int threads = 0;                     // OpenMP threads; 0 = default
    bool force = false;                  // overwrite an existing output
    int verbosity = 0;                   // -1 quiet, 0 normal, 1 verbose
};

struct DecodeSummary {
    std::uint64_t vectors = 0;       // decoded
    std::uint64_t datasets = 0;      // encoded datasets decoded
    std::uint64_t copied = 0;        // datasets copied
    std::uint64_t output_bytes = 0;  // size of the output file
    double seconds = 0;
};

// Decodes opts.input into opts.output, prints a one-line summary on stdout (unless quiet).
DecodeSummary run_decode(const DecodeOptions& opts);

}  // namespace fq::tasks

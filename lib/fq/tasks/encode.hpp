// run_encode: the task behind fq-encode. Compresses the key and value datasets of a KV dump
// (io/kv_dump.hpp) into an fq container (io/encoded_file.hpp, docs/FORMAT.md §2).
//
// Codec choice per K or V dataset: tasks/codec_plan.hpp (--k-codec / --v-codec, -c, the
// config's per-layer rules and defaults, else the fib codebook for the data's d at --rate,
// trained on the fly and cached when no codebook is shipped for d unless train_missing is
// off). Windows: the first keep_first and last keep_last tokens of each sequence
// (io/sequences.hpp) are stored exactly in float16 and the others coded (docs/FORMAT.md §2).
//
// Work: every selected dataset is processed in slabs of all heads x chunk_tokens tokens
// (peak memory ~ one slab of float32 input plus its codes, whatever the file size), each
// slab checked for NaN/Inf (NumericError naming file, dataset, [head, token, dim]), encoded
// with core::parallel_chunks over fixed chunks of vectors (output byte-identical whatever
// the thread count), and written as one checksum block of the container. A codec coding
// groups of G > 1 vectors (int per_channel) gets slabs of chunk_tokens rounded up to a
// multiple of G, and each head's last partial group padded by repeating its last vector
// (docs/FORMAT.md §2). Descriptions leaving per-tensor choices open get the K/V defaults of
// io::with_tensor_defaults (int: per_channel for keys, per_token for values). Queries are not
// compressed; --keep-queries copies them verbatim. Every other dataset and the attributes
// of the root, of parent groups and of the datasets are copied. The output is written to a
// temporary name and renamed; an existing output is refused without force.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fq::tasks {

struct EncodeOptions {
    std::string input;                    // KV dump (read-only)
    std::string output;                   // container to write
    double rate = 2.0;                    // payload bits per coordinate of the default codec
    std::string k_codec;                  // SPEC for keys ("" = not given)
    std::string v_codec;                  // SPEC for values ("" = not given)
    std::string codebook;                 // codebook file for both ("" = not given)
    std::string config;                   // JSON codec config ("" = none)
    std::string header = "norm";          // norm | gain
    std::string header_type = "float16";  // float16 | float32
    std::vector<std::string> select;      // dataset globs (empty: layer_<L>/{q,k,v})
    std::string axes = "htd";             // stored axis order of the selected datasets
    bool keep_queries = false;            // copy query datasets verbatim
    std::int64_t keep_first = -1;         // tokens kept in float16 at each sequence's start
                                          // (-1: the config's keep_first, else 0)
    std::int64_t keep_last = -1;          // ... at each sequence's end (-1: config, else 0)
    std::int64_t segment_len = 0;         // > 0: sequences of this many tokens (windows)
    std::int64_t chunk_tokens = 4096;     // tokens per slab and per checksum block
    std::string codebooks;                // codebook directory ("" = FQ_CODEBOOKS or shipped)
    bool train_missing = true;            // train (and cache) fib codebooks not shipped for d
    int threads = 0;                      // OpenMP threads; 0 = default
    bool force = false;                   // overwrite an existing output
    int verbosity = 0;                    // -1 quiet, 0 normal, 1 verbose
};

// Bits of one or several coded datasets, by what they are (sums over their vectors).
struct RateParts {
    double coords = 0;   // coordinates (vectors x d), window tokens included
    double payload = 0;  // code bits that are not side information
    double side = 0;     // norms, scales, offsets (Codec::side_bits), per-head centres
    double window = 0;   // float16 window values and their token indices
    double stored = 0;   // bits stored: code bytes (byte padding included) and the window
    double exact() const { return payload + side + window; }
    void add(const RateParts& o) {
        coords += o.coords;
        payload += o.payload;
        side += o.side;
        window += o.window;
        stored += o.stored;
    }
    double per_coord(double bits) const { return coords > 0 ? bits / coords : 0.0; }
};

// One line of the summary: all datasets of one kind ("K" or "V"), or one dataset.
struct EncodeRow {
    std::string tensor;  // "K" | "V", or the dataset path
    std::string codec;   // human description
    std::uint64_t vectors = 0;
    int d = 0;
    double rate = 0;                 // exact bits per coordinate, side and window included
    double stored_rate = 0;          // stored bits per coordinate (byte padding included)
    std::uint64_t input_bytes = 0;   // stored size of the input vectors
    std::uint64_t output_bytes = 0;  // code and window bytes
    double seconds = 0;
    RateParts bits;
};

struct EncodeSummary {
    std::vector<EncodeRow> rows;      // K, V
    std::vector<EncodeRow> datasets;  // one per coded dataset, in order
    RateParts total;                  // K and V together
    std::uint64_t input_file_bytes = 0, output_file_bytes = 0;
    double seconds = 0;
};

// Encodes opts.input into opts.output and prints the summary table on stdout (unless
// quiet). Errors: UsageError (options, d mismatch, existing output), IoError (missing file
// or dataset), CorruptError (bad codebook), NumericError (NaN/Inf input).
EncodeSummary run_encode(const EncodeOptions& opts);

}  // namespace fq::tasks

// GSRQ codebook files: the versioned JSON file holding the trained stage codebooks of one
// `gsrq` codec (codecs/gsrq.hpp, SPEC 4.6), written by `fq-train gsrq`, embedded in
// compressed files by content hash (docs/FORMAT.md §1.8). Unlike a universal codebook
// (io/codebook_file.hpp) it depends on the calibration data it was trained on.
//
// The content hash is SHA-256 over the canonical bytes of what decoding needs:
//   "fq-gsrq/1", d, D, K, S, shared (int64 0/1), then every codeword (stage-major, then
//   position, then row, little-endian float64)   (exact layout: docs/FORMAT.md §1.8),
// so two files with the same hash decode every code identically whatever their statistics.
// Writing is deterministic; loading validates everything and throws
// CorruptError("gsrq codebook file '<path>': <what>").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fq/codecs/gsrq.hpp"

namespace fq::train {
struct GsrqTrainResult;
}

namespace fq::io {

inline constexpr const char* k_gsrq_format = "fq-gsrq-codebook";
inline constexpr int k_gsrq_format_version = 1;  // the only version this build reads

struct GsrqCodebookFile {
    codecs::GsrqCodebooks codebooks;      // d, D, K, S, shared, method, stage codebooks
    nlohmann::ordered_json construction;  // training options and data provenance (object)
    nlohmann::ordered_json training;      // per-stage statistics (object)
    std::string content_hash;             // "sha256:<64 hex>"; recomputed on every save
    double rate() const;                  // S log2(K) / D bits per coordinate
};

// The canonical bytes hashed into content_hash, and "sha256:" + hex of their SHA-256.
std::vector<std::uint8_t> gsrq_canonical_bytes(const codecs::GsrqCodebooks& cb);
std::string gsrq_content_hash(const codecs::GsrqCodebooks& cb);

// From a training result: codebooks, training = {"stages": [per stage: stage, mse_per_coord,
// distortion, mean_cosine, shrinkage, shrinkage_global, empty, iterations (per position)]},
// construction as given (an object), content_hash.
GsrqCodebookFile make_gsrq_file(const train::GsrqTrainResult& result,
                                nlohmann::ordered_json construction);

// The file's text (deterministic). UsageError if the codebooks are invalid.
std::string serialize_gsrq(const GsrqCodebookFile& f);
// Parses and validates a file's text; name is used in error messages (the path).
GsrqCodebookFile parse_gsrq(const std::string& text, const std::string& name);
// Temporary name + rename; an existing path is a UsageError unless force.
void save_gsrq(const GsrqCodebookFile& f, const std::string& path, bool force);
// IoError when unreadable, CorruptError when invalid.
GsrqCodebookFile load_gsrq(const std::string& path);

}  // namespace fq::io

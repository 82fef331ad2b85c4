// Codebook files: the versioned, self-describing JSON file holding one universal codebook
// (SPEC 4.1, 4.2; specified byte for byte in docs/FORMAT.md, "Codebook file").
//
// A UniversalCodebook is everything a decoder needs (d, the main block codebook, the tail
// block codebook when k does not divide d, the rotation kind and seed) plus how it was made
// (construction parameters and seeds, training statistics, measured distortion). Its content
// hash is SHA-256 over a canonical byte serialisation of the decoding-relevant part only:
//   "fq-codebook/1", family, d, k, N, rotation kind and seed, main codewords, tail k, N,
//   tail codewords   (exact layout: docs/FORMAT.md),
// so two files with the same hash encode and decode identically whatever their statistics.
//
// Writing is deterministic (same codebook -> same bytes: no timestamps, hosts or timings).
// Loading validates everything and throws CorruptError("codebook file '<path>': <what>").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fq/codecs/block_vq.hpp"
#include "fq/core/rotation.hpp"

namespace fq::codecs {
struct ScalarQuantizer;
}
namespace fq::train {
struct FibTrainResult;
}

namespace fq::io {

inline constexpr const char* k_codebook_format = "fq-codebook";
inline constexpr int k_codebook_format_version = 1;  // the only version this build reads

struct UniversalCodebook {
    std::string family;                   // "fib" | "scalar"
    codecs::BlockVqSpec spec;             // d, main (k, N, codewords), tail (N = 0: none), rotation
    std::string rotation_checksum;        // core::Rotation(spec.rotation, d, seed).checksum()
    double rate = 0;                      // payload bits per coordinate, codebook_rate(spec)
    double train_total_mse = 0;           // mean ||z - z_hat||^2 per unit vector, training sample
    double val_total_mse = 0;             // same on the validation sample (scalar: exact, = train)
    nlohmann::ordered_json construction;  // every construction parameter and seed (object)
    nlohmann::ordered_json training;      // init distortions, restarts, per-iteration stats
    std::string content_hash;             // "sha256:<64 hex>"; recomputed on every save
};

// Exact payload rate in bits per coordinate: (floor(d/k) log2 N + log2 N_r) / d, the last
// term only when a tail codebook is present (spec.tail.N > 0).
double codebook_rate(const codecs::BlockVqSpec& spec);

// 10 log10(total_mse / 4^-rate): distance above the Shannon bound of the uniform sphere.
double db_above_bound(double total_mse, double rate);
// |a - b| <= rel max(1, |a|, |b|): how files' derived numbers are checked against recomputation.
bool close_relative(double a, double b, double rel);

class JsonReader;
// The check every file with a rotation makes last (the expensive one): Pi regenerated from
// (kind, d, seed) on this platform must have the file's checksum, else rd fails naming both.
void check_rotation_checksum(const JsonReader& rd, core::RotationKind kind, int d,
                             std::uint64_t seed, const std::string& checksum);

// The canonical bytes hashed into content_hash (docs/FORMAT.md, "Content hash").
std::vector<std::uint8_t> canonical_bytes(const UniversalCodebook& cb);
// "sha256:" + 64 lowercase hex digits of SHA-256(canonical_bytes(cb)).
std::string compute_content_hash(const UniversalCodebook& cb);

// From training results. Fill spec, rotation checksum, rate, distortions, construction,
// training and content_hash.
//  - fib: main and tail codebooks and every FibParams field; training holds the resolved
//    sample sizes and, per block codebook, the init and random-init distortions, the k = 3
//    shell choices and every restart with its per-iteration history.
//  - scalar: k = 1, N = 2^bits, the Lloyd-Max levels as codewords, no tail; the distortion
//    is the closed form (train = val); tol is the fixed-point tolerance that was used.
UniversalCodebook make_fib_codebook(const train::FibTrainResult& result,
                                    core::RotationKind rotation, std::uint64_t rotation_seed);
UniversalCodebook make_scalar_codebook(const codecs::ScalarQuantizer& q, double tol,
                                       core::RotationKind rotation, std::uint64_t rotation_seed);

// The file's text (deterministic; content_hash recomputed, not taken from cb). Throws
// UsageError when cb is not writable (inconsistent sizes, non-finite or non-positive
// distortion, unknown family).
std::string serialize_codebook(const UniversalCodebook& cb);
// Parses and validates a file's text; name is used in error messages (the path).
UniversalCodebook parse_codebook(const std::string& text, const std::string& name);

// Writes serialize_codebook(cb) to a temporary name in path's directory and renames it into
// place. An existing path is an error (UsageError, "use --force") unless force.
void save_codebook(const UniversalCodebook& cb, const std::string& path, bool force);
// Reads and validates; IoError when unreadable, CorruptError when invalid.
UniversalCodebook load_codebook(const std::string& path);

}  // namespace fq::io

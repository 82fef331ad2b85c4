// tcq codebook files (docs/FORMAT.md §1.9, format "fq-tcq-codebook", version 1): one
// universal trellis (codecs/trellis.hpp) for dimension d with its rotation, how it was
// trained (train/tcq_train.hpp) and how well it does on the canonical source. Like a
// universal codebook (§1) it depends on d and the construction only, never on a model.
//
// The content hash is SHA-256 over the canonical bytes of what decoding needs: ASCII
// "fq-tcq/1", then d, L, K, V, the rotation kind (0 none, 1 haar, 2 hadamard) as int64
// little-endian, the rotation seed as uint64, then the table as little-endian float64 (row
// by row). Writing is deterministic and sealed (file_sha256, io/json_util.hpp); loading
// validates everything (CorruptError "tcq codebook file '<name>': <what>").
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fq/codecs/trellis.hpp"
#include "fq/core/rotation.hpp"

namespace fq::train {
struct TcqTrainResult;
}

namespace fq::io {

inline constexpr const char* k_tcq_format = "fq-tcq-codebook";
inline constexpr int k_tcq_format_version = 1;

struct TcqCodebookFile {
    int d = 0;
    codecs::Trellis trellis;
    core::RotationKind rotation = core::RotationKind::haar;
    std::uint64_t rotation_seed = 1;
    std::string rotation_checksum;        // core::Rotation::checksum of (rotation, d, seed)
    nlohmann::ordered_json construction;  // training options (object)
    nlohmann::ordered_json training;      // per-iteration record (object)
    double init_mse = 0, train_mse = 0, val_mse = 0;  // total MSE per unit vector
    std::string content_hash;                         // "sha256:<64 hex>"
    double rate() const { return static_cast<double>(trellis.K) / trellis.V; }
};

std::string tcq_content_hash(const TcqCodebookFile& f);
// From a training result; the rotation as given; content hash and checksum computed.
TcqCodebookFile make_tcq_file(const train::TcqTrainResult& r, core::RotationKind rotation,
                              std::uint64_t rotation_seed);
std::string serialize_tcq(const TcqCodebookFile& f);
TcqCodebookFile parse_tcq(const std::string& text, const std::string& name);
void save_tcq(const TcqCodebookFile& f, const std::string& path, bool force);
TcqCodebookFile load_tcq(const std::string& path);
// The conventional name of the shipped file: tcq-L<L>-K<K>-V<V>.json.
std::string tcq_file_name(int L, int K, int V);

}  // namespace fq::io

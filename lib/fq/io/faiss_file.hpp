// FAISS codebook files (only built with FAISS, FQ_HAVE_FAISS): the JSON file holding one
// trained `faiss-pq` / `faiss-rq` quantizer (codecs/faiss_codecs.hpp) as the hex of FAISS's
// write_index bytes (an IndexPQ or IndexResidualQuantizer), docs/FORMAT.md §2.
//
// content_hash = "sha256:" + hex SHA-256 over "fq-faiss/1" followed by the index bytes.
// The file is not embedded in compressed files: decoding needs the file at its path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fq/codecs/faiss_codecs.hpp"

namespace fq::io {

inline constexpr const char* k_faiss_format = "fq-faiss-codebook";
inline constexpr int k_faiss_format_version = 1;

struct FaissCodebookFile {
    codecs::FaissCodec codec;
    nlohmann::ordered_json construction;  // training options / provenance (object)
    std::string content_hash;             // recomputed on every serialize
};

std::string faiss_content_hash(const std::vector<std::uint8_t>& index_bytes);

// Deterministic text. Keys: format, format_version, kind ("pq"/"rq"), d, M, nbits,
// code_bytes, code_bits, construction, content_hash, index (lowercase hex).
std::string serialize_faiss(const FaissCodebookFile& f);
// Validates format, version, hex, hash, and that d/M/nbits/code_bytes match the index;
// CorruptError("faiss codebook file '<name>': <what>").
FaissCodebookFile parse_faiss(const std::string& text, const std::string& name);
void save_faiss(const FaissCodebookFile& f, const std::string& path, bool force);
FaissCodebookFile load_faiss(const std::string& path);

}  // namespace fq::io

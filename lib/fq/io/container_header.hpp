// The header checksum of a version-2 fq container (docs/FORMAT.md §2 "Header checksum"):
// one SHA-256 over everything a reader trusts before decoding: every object's path, kind,
// datatype and shape, every attribute (name, datatype, stored bytes), and the contents of
// the datasets copied verbatim from the dump. The payload itself is covered by the block
// digests (payload_sha256), windows by window_sha256, embedded codebooks by their content
// hashes, all of which are attributes and so covered here.
//
// The writer stores the digest in the root attribute fq_header_sha256 (excluded from the
// digest); the reader recomputes it right after opening and refuses a mismatch before any
// other attribute is used. Both sides call the same function. Bounded work: at most
// k_max_header_objects objects and attributes, each attribute at most 16 MiB; a copied
// dataset's contents are read in slabs of at most 64 MiB.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fq::io {

inline constexpr const char* k_header_digest_attr = "fq_header_sha256";
inline constexpr std::size_t k_max_header_objects = std::size_t{1} << 20;

// "sha256:<64 hex>" of the container open as `file` (an hid_t), whose copied datasets are
// `copied` (paths without a leading slash). IoError on an HDF5 failure, CorruptError on
// content no version-2 writer produces (variable-length attributes, too many objects).
std::string container_header_digest(std::int64_t file, const std::vector<std::string>& copied);

}  // namespace fq::io

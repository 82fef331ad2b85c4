// The little-endian encoding of the canonical bytes that content hashes cover
// (io/codebook_file, io/gsrq_file; exact layouts in docs/FORMAT.md): integers as 8 bytes,
// doubles as the 8 bytes of their IEEE-754 bits, strings as their length then their bytes.
// Each writes either to a byte vector or straight into a SHA-256 (io/container_header, whose
// input is too large to collect first).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fq/core/sha256.hpp"

namespace fq::io::detail {

inline void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline void put_u64(core::Sha256& out, std::uint64_t v) {
    std::uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
    out.update(b, 8);
}
inline void put_string(core::Sha256& out, const std::string& s) {
    put_u64(out, s.size());
    out.update(s);
}
inline void put_i64(std::vector<std::uint8_t>& out, std::int64_t v) {
    put_u64(out, static_cast<std::uint64_t>(v));
}
inline void put_string(std::vector<std::uint8_t>& out, const std::string& s) {
    put_i64(out, static_cast<std::int64_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
}
inline void put_f64(std::vector<std::uint8_t>& out, double v) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    put_u64(out, bits);
}

}  // namespace fq::io::detail

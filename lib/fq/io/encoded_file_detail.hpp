// Internals shared by io/encoded_file_writer.cpp and io/encoded_file_reader.cpp: the sizes
// a reader refuses, and the path, hash and digest helpers both sides use. Not part of the
// public interface: include it from the encoded_file*.cpp files only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fq::io::detail {

// Readers refuse anything larger: no legitimate container comes near these.
inline constexpr std::int64_t k_max_heads = 1 << 20;
inline constexpr std::int64_t k_max_tokens = std::int64_t{1} << 40;
inline constexpr std::int64_t k_max_d = 1 << 20;
inline constexpr std::int64_t k_max_code_bytes = 1 << 20;
inline constexpr std::int64_t k_max_block_tokens = 1 << 24;
inline constexpr std::size_t k_max_block_bytes = std::size_t{1} << 31;  // one block of all heads
inline constexpr std::size_t k_max_codebook_bytes = std::size_t{1} << 28;
inline constexpr std::int64_t k_max_block_vectors = 1 << 16;

// p without its leading slashes.
std::string strip(const std::string& p);
// The 64 hex digits of "sha256:<64 hex>".
std::string hash_hex(const std::string& hash);

// "sha256:<hex>" of a window: its token indices as int64 LE, then its count float16 values
// (bit patterns) LE.
std::string window_digest(const std::vector<std::int64_t>& tokens, const std::uint16_t* values,
                          std::size_t count);
// "sha256:<hex>" of a centre: its float16 values (bit patterns) LE.
std::string center_digest(const std::vector<std::uint16_t>& values);
// Whether h is "sha256:" followed by 64 lower-case hex digits.
bool valid_hash(const std::string& h);
// The raw 32-byte SHA-256 digest of p[0, n).
std::string digest_of(const std::uint8_t* p, std::size_t n);

}  // namespace fq::io::detail

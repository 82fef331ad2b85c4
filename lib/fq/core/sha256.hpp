// SHA-256 (FIPS 180-4), used for codebook content hashes, rotation checksums and payload
// checksums of compressed files.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fq::core {

class Sha256 {
public:
    // best: the CPU's SHA instructions when it has them (same digests), else portable code.
    enum class Implementation { best, portable };
    explicit Sha256(Implementation impl = Implementation::best);
    static bool hardware_available();

    void update(const void* data, std::size_t n);
    void update(std::string_view s) { update(s.data(), s.size()); }
    std::array<std::uint8_t, 32> finish();  // the object must not be updated afterwards
    std::string finish_hex();               // 64 lowercase hex digits

private:
    std::uint32_t m_h[8];
    std::uint8_t m_buf[64];
    std::size_t m_buf_len = 0;
    std::uint64_t m_total = 0;
    bool m_hardware = false;
    void blocks(const std::uint8_t* p, std::size_t count);
    void block(const std::uint8_t* p);  // portable
};

std::string sha256_hex(const void* data, std::size_t n);

}  // namespace fq::core

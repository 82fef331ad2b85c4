#include "fq/codecs/bitpack.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "fq/core/error.hpp"

namespace fq::codecs {

namespace {

constexpr std::uint32_t low_mask8(int n) {
    return (1u << n) - 1u;
}  // n <= 8

// Little-endian 32-bit load/store through memcpy (the compiler emits one move).
std::uint32_t load_le32(const std::uint8_t* p) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap32(w);
    return w;
}

void store_le32(std::uint8_t* p, std::uint32_t w) {
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap32(w);
    std::memcpy(p, &w, 4);
}

// N^e in 64 bits; the caller guarantees it fits.
std::uint64_t ipow(std::uint64_t N, std::size_t e) {
    std::uint64_t p = 1;
    for (std::size_t i = 0; i < e; ++i) p *= N;
    return p;
}

// Bits of a mixed-radix value below `size` (size >= 1): bit_width(size - 1) = ceil(log2 size).
int value_bits(std::uint64_t size) {
    return static_cast<int>(std::bit_width(size - 1));
}

}  // namespace

// ---- BitWriter ---------------------------------------------------------------------------

BitWriter::BitWriter(std::uint8_t* buf, std::size_t bit_offset)
    : m_base(buf),
      m_p(buf + bit_offset / 8),
      m_n(static_cast<int>(bit_offset % 8)),
      m_keep(static_cast<int>(bit_offset % 8)) {}

void BitWriter::store_word() {
    auto w = static_cast<std::uint32_t>(m_acc);
    if (m_keep > 0) {  // the first byte is shared with the caller's lower bits
        const std::uint32_t keep = low_mask8(m_keep);
        w = (w & ~keep) | (m_p[0] & keep);
        m_keep = 0;
    }
    store_le32(m_p, w);
    m_p += 4;
    m_acc >>= 32;
    m_n -= 32;
}

void BitWriter::flush() {
    if (m_n <= m_keep) return;  // no new bits: touch nothing
    const int full = m_n / 8, part = m_n % 8;
    for (int i = 0; i < full; ++i) {
        auto byte = static_cast<std::uint8_t>(m_acc >> (8 * i));
        if (i == 0 && m_keep > 0)
            byte = static_cast<std::uint8_t>((byte & ~low_mask8(m_keep)) |
                                             (m_p[0] & low_mask8(m_keep)));
        m_p[i] = byte;
    }
    if (part > 0) {
        // Bits [keep, part) are new; the byte's bits >= part (and < keep if this is also the
        // first byte) belong to the caller.
        const std::uint32_t keep_low = (full == 0) ? low_mask8(m_keep) : 0u;
        const std::uint32_t mine = low_mask8(part) & ~keep_low;
        const auto byte = static_cast<std::uint32_t>(m_acc >> (8 * full)) & 0xFFu;
        m_p[full] = static_cast<std::uint8_t>((m_p[full] & ~mine) | (byte & mine));
    }
    // Continue after the written bits: the partial byte's low `part` bits are now the
    // caller's (already in memory).
    m_p += full;
    m_acc = 0;
    m_n = part;
    m_keep = part;
}

// ---- BitReader ---------------------------------------------------------------------------

BitReader::BitReader(const std::uint8_t* buf, std::size_t bit_offset, std::size_t bit_count)
    : m_p(buf + bit_offset / 8),
      m_end(bit_count == 0 ? buf + bit_offset / 8 : buf + (bit_offset + bit_count + 7) / 8),
      m_remaining(bit_count) {
    const int skip = static_cast<int>(bit_offset % 8);
    if (bit_count > 0 && skip > 0) {
        m_acc = static_cast<std::uint64_t>(*m_p++) >> skip;
        m_n = 8 - skip;
    }
}

void BitReader::refill() {
    // m_n < 32 here, so 32 more bits fit in the accumulator.
    if (m_end - m_p >= 4) {
        m_acc |= static_cast<std::uint64_t>(load_le32(m_p)) << m_n;
        m_n += 32;
        m_p += 4;
        return;
    }
    while (m_p < m_end) {  // at most 3 bytes left
        m_acc |= static_cast<std::uint64_t>(*m_p++) << m_n;
        m_n += 8;
    }
}

void BitReader::throw_past_end() {
    throw UsageError("BitReader: read past the end of the range");
}

// ---- one-shot access ---------------------------------------------------------------------

void write_bits(std::uint8_t* buf, std::size_t pos, std::uint64_t v, int n) {
    require(n >= 0 && n <= 64, "write_bits: n must be in 0..64, got " + std::to_string(n));
    BitWriter w(buf, pos);
    w.put(v, n);
    w.flush();
}

std::uint64_t read_bits(const std::uint8_t* buf, std::size_t pos, int n) {
    require(n >= 0 && n <= 64, "read_bits: n must be in 0..64, got " + std::to_string(n));
    BitReader r(buf, pos, static_cast<std::size_t>(n));
    return r.get(n);
}

// ---- IndexPacker -------------------------------------------------------------------------

std::size_t IndexPacker::best_group(std::uint32_t radix) {
    if (radix <= 1 || std::has_single_bit(radix)) return 1;
    // Waste per index B(G)/G - log2 N: compare B(G)/G exactly as B(G) G' < B(G') G.
    const std::uint64_t N = radix;
    std::uint64_t size = 1;
    std::size_t best = 0;
    int best_bits = 0;
    for (std::size_t G = 1; size <= std::numeric_limits<std::uint64_t>::max() / N; ++G) {
        size *= N;  // N^G < 2^64
        const int B = value_bits(size);
        if (best == 0 ||
            static_cast<std::size_t>(B) * best < static_cast<std::size_t>(best_bits) * G) {
            best = G;
            best_bits = B;
        }
    }
    return best;
}

IndexPacker::IndexPacker(std::uint32_t radix, std::size_t count) : m_radix(radix), m_count(count) {
    require(radix >= 1, "IndexPacker: radix must be >= 1");
    require(count <= (std::size_t{1} << 57),
            "IndexPacker: too many indices: " + std::to_string(count));
    m_pow2 = std::has_single_bit(radix);
    m_group = best_group(radix);
    m_group_size = ipow(radix, m_group);
    m_group_bits = value_bits(m_group_size);
    m_rest = count % m_group;
    m_rest_size = ipow(radix, m_rest);
    m_rest_bits = value_bits(m_rest_size);
    m_bits = (count / m_group) * static_cast<std::size_t>(m_group_bits) +
             static_cast<std::size_t>(m_rest_bits);
}

double IndexPacker::information_bits() const {
    if (m_count == 0) return 0.0;
    return static_cast<double>(m_count) * std::log2(static_cast<double>(m_radix));
}

void IndexPacker::pack(const std::uint32_t* idx, std::uint8_t* out, std::size_t bit_offset) const {
    if (m_count == 0) return;
    for (std::size_t i = 0; i < m_count; ++i)
        if (idx[i] >= m_radix)
            throw UsageError("IndexPacker: index " + std::to_string(idx[i]) + " at " +
                             std::to_string(i) + " is not below the radix " +
                             std::to_string(m_radix));
    BitWriter w(out, bit_offset);
    if (m_pow2) {
        for (std::size_t i = 0; i < m_count; ++i) w.put(idx[i], m_group_bits);
        w.flush();
        return;
    }
    const std::uint64_t N = m_radix;
    // v = sum_j idx_j N^j by Horner from the last index of the group.
    auto put_group = [&](const std::uint32_t* g, std::size_t len, int nbits) {
        std::uint64_t v = 0;
        for (std::size_t j = len; j-- > 0;) v = v * N + g[j];
        w.put(v, nbits);
    };
    const std::size_t full = m_count / m_group;
    for (std::size_t g = 0; g < full; ++g) put_group(idx + g * m_group, m_group, m_group_bits);
    if (m_rest > 0) put_group(idx + full * m_group, m_rest, m_rest_bits);
    w.flush();
}

void IndexPacker::unpack(const std::uint8_t* in, std::size_t bit_offset, std::uint32_t* idx) const {
    if (m_count == 0) return;
    BitReader r(in, bit_offset, m_bits);
    if (m_pow2) {
        for (std::size_t i = 0; i < m_count; ++i)
            idx[i] = static_cast<std::uint32_t>(r.get(m_group_bits));
        return;
    }
    const std::uint64_t N = m_radix;
    // The last digit is taken mod N too: that reduces a non-canonical v mod N^len.
    auto get_group = [&](std::uint32_t* g, std::size_t len, int nbits) {
        std::uint64_t v = r.get(nbits);
        for (std::size_t j = 0; j < len; ++j) {
            g[j] = static_cast<std::uint32_t>(v % N);
            v /= N;
        }
    };
    const std::size_t full = m_count / m_group;
    for (std::size_t g = 0; g < full; ++g) get_group(idx + g * m_group, m_group, m_group_bits);
    if (m_rest > 0) get_group(idx + full * m_group, m_rest, m_rest_bits);
}

bool IndexPacker::canonical(const std::uint8_t* in, std::size_t bit_offset) const {
    if (m_count == 0 || m_pow2) return true;
    BitReader r(in, bit_offset, m_bits);
    const std::size_t full = m_count / m_group;
    for (std::size_t g = 0; g < full; ++g)
        if (r.get(m_group_bits) >= m_group_size) return false;
    return m_rest == 0 || r.get(m_rest_bits) < m_rest_size;
}

}  // namespace fq::codecs

// Bit-exact packing of codeword indices (SPEC 4.2: the stored rate is log2(N)/k, not
// ceil(log2 N)/k), and the bit streams codecs use to lay out their codes.
//
// Bit order. Bit position p of a byte buffer is bit (p mod 8) (value 2^(p mod 8)) of byte
// p / 8. A value of n bits written at position p occupies positions [p, p + n), least
// significant bit first: the stream is one little-endian integer.
//
// Mixed-radix groups. IndexPacker(N, n) stores n indices in [0, N) as consecutive groups of
// G indices; a group (i_0, ..., i_(G-1)) is the integer
//   v = sum_j i_j N^j  <  N^G,   written in B(G) = ceil(G log2 N) = bit_width(N^G - 1) bits,
// and the last, partial group of r = n mod G indices the same way in B(r) bits, so
//   bits() = floor(n / G) B(G) + B(r).
// G is the group size in 1.. with N^G < 2^64 that minimises the waste per index
// B(G)/G - log2 N, the smallest G among ties. For N a power of two this gives G = 1: plain
// LSB-first packing of log2 N bits per index, with no waste. Otherwise the waste is what
// 64-bit groups allow, e.g. N = 3: G = 29 (46 bits, 0.0012 bit per index); N = 5 or 10:
// G = 3 (7 or 10 bits, 0.0114); N = 100: G = 3 (20 bits, 0.0228); N = 257: G = 7 (57 bits,
// 0.137); N = 1000: G = 1 (10 bits, 0.034). A single index (a tail block) always takes
// ceil(log2 N) bits. The layout depends on (N, n) only, so all codes of a codec have the
// same size.
//
// Memory contract (all writers here): writing n bits at position p sets exactly the bits
// [p, p + n) and leaves every other bit untouched, so callers need not zero buffers, and
// only the bytes p/8 .. (p + n - 1)/8 are accessed (read-modify-write at the two ends);
// readers likewise never access a byte outside the range they read.
//
// Two index sequences (a codec's floor(d/k) main indices of radix N, then its tail index of
// radix N_r) are two packers at consecutive offsets:
//   main.pack(idx, code, off);  tail.pack(idx + main.count(), code, off + main.bits());
#pragma once

#include <cstddef>
#include <cstdint>

namespace fq::codecs {

// Streaming LSB-first writer. put() appends; bits reach the buffer in 32-bit words as they
// fill, and the rest at flush() (called by the destructor too). After flush() more bits may
// be appended. Not copyable.
class BitWriter {
public:
    // Writes start at bit position bit_offset of buf.
    BitWriter(std::uint8_t* buf, std::size_t bit_offset);
    ~BitWriter() { flush(); }
    BitWriter(const BitWriter&) = delete;
    BitWriter& operator=(const BitWriter&) = delete;

    // Appends the low n bits of v, 0 <= n <= 64 (higher bits of v are ignored).
    void put(std::uint64_t v, int n) {
        if (n > 32) {
            put32(v & 0xFFFFFFFFu, 32);
            v >>= 32;
            n -= 32;
        }
        put32(v & ((std::uint64_t{1} << n) - 1), n);
    }
    // Writes every pending bit (the last byte is merged with the bits already there).
    void flush();
    // Absolute bit position of the next bit to be written.
    std::size_t position() const { return static_cast<std::size_t>(m_p - m_base) * 8 + m_n; }

private:
    void put32(std::uint64_t v, int n) {  // v < 2^n, n <= 32, m_n < 32 on entry
        m_acc |= v << m_n;
        m_n += n;
        if (m_n >= 32) store_word();
    }
    void store_word();

    std::uint8_t* m_base;     // buffer start (for position())
    std::uint8_t* m_p;        // byte holding bit 0 of m_acc
    std::uint64_t m_acc = 0;  // pending bits, bit i -> position 8 (m_p - m_base) + i
    int m_n = 0;              // positions of m_acc in use (including the m_keep kept ones)
    int m_keep = 0;           // low bits of *m_p that belong to the caller (preserved)
};

// Streaming LSB-first reader of the bit range [bit_offset, bit_offset + bit_count) of buf.
// Reading past the range throws UsageError; bytes outside it are never accessed.
class BitReader {
public:
    BitReader(const std::uint8_t* buf, std::size_t bit_offset, std::size_t bit_count);

    // Reads the next n bits, 0 <= n <= 64, as an integer (first bit = least significant).
    std::uint64_t get(int n) {
        if (n > 32) {
            const std::uint64_t lo = get32(32);
            return lo | (get32(n - 32) << 32);
        }
        return get32(n);
    }
    // Bits of the range not read yet.
    std::size_t remaining() const { return m_remaining; }

private:
    std::uint64_t get32(int n) {  // n <= 32
        if (static_cast<std::size_t>(n) > m_remaining) throw_past_end();
        if (m_n < n) refill();
        const std::uint64_t v = m_acc & ((std::uint64_t{1} << n) - 1);
        m_acc >>= n;
        m_n -= n;
        m_remaining -= static_cast<std::size_t>(n);
        return v;
    }
    void refill();  // makes m_n >= 32 or loads the whole rest of the range
    [[noreturn]] static void throw_past_end();

    const std::uint8_t* m_p;    // next byte to load
    const std::uint8_t* m_end;  // one past the last byte of the range
    std::uint64_t m_acc = 0;    // loaded, unread bits (first unread = bit 0)
    int m_n = 0;                // number of valid bits in m_acc
    std::size_t m_remaining;    // unread bits of the range
};

// One-shot random access: the low n bits of v (0 <= n <= 64) written at / read from bit
// position pos, other bits untouched. For headers and tests.
void write_bits(std::uint8_t* buf, std::size_t pos, std::uint64_t v, int n);
std::uint64_t read_bits(const std::uint8_t* buf, std::size_t pos, int n);

class IndexPacker {
public:
    IndexPacker() = default;  // no indices: bits() = 0, pack/unpack do nothing
    // radix N >= 1 (N = 1 stores nothing), count n <= 2^57. Throws UsageError otherwise.
    IndexPacker(std::uint32_t radix, std::size_t count);

    std::uint32_t radix() const { return m_radix; }
    std::size_t count() const { return m_count; }
    std::size_t group() const { return m_group; }    // G
    int group_bits() const { return m_group_bits; }  // B(G), <= 64
    std::size_t bits() const { return m_bits; }      // stored bits, see the header comment
    // count * log2(radix): the exact information content, what Codec::code_bits() counts.
    double information_bits() const;
    // Bytes of a buffer that pack/unpack at bit_offset access.
    std::size_t bytes_touched(std::size_t bit_offset) const {
        return m_bits == 0 ? 0 : (bit_offset + m_bits + 7) / 8 - bit_offset / 8;
    }

    // idx: count() indices, each < radix() (UsageError otherwise, nothing is written then)
    // -> bits [bit_offset, bit_offset + bits()) of out; other bits untouched.
    void pack(const std::uint32_t* idx, std::uint8_t* out, std::size_t bit_offset) const;
    // Bits [bit_offset, bit_offset + bits()) of in -> idx: count() indices, each < radix().
    // A group value >= N^G (never written by pack: a corrupt code) is reduced mod N^G so the
    // indices stay in range; canonical() detects it.
    void unpack(const std::uint8_t* in, std::size_t bit_offset, std::uint32_t* idx) const;
    // True iff every group value read at bit_offset is < N^G (or N^r), i.e. the bits are a
    // code pack() can produce. Always true for N a power of two.
    bool canonical(const std::uint8_t* in, std::size_t bit_offset) const;

    // G for radix N (see the header comment); 1 for N = 1 and powers of two.
    static std::size_t best_group(std::uint32_t radix);

private:
    std::uint32_t m_radix = 0;
    std::size_t m_count = 0;
    std::size_t m_group = 1;         // G
    int m_group_bits = 0;            // B(G)
    std::uint64_t m_group_size = 1;  // N^G < 2^64
    std::size_t m_rest = 0;          // r = count mod G
    int m_rest_bits = 0;             // B(r)
    std::uint64_t m_rest_size = 1;   // N^r
    std::size_t m_bits = 0;
    bool m_pow2 = true;  // N a power of two: plain log2 N bits per index
};

}  // namespace fq::codecs

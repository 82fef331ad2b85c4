#include "fq/codecs/block_vq.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fq/core/error.hpp"

namespace fq::codecs {

namespace {
// Vectors per internal batch: one rotation matrix product and one nearest-codeword product.
constexpr std::size_t k_batch = 256;

// One thread's encode buffers for batches of up to k_batch vectors: grown once, then reused
// by every batch that thread encodes.
struct EncodeScratch {
    std::vector<double> nu;
    std::vector<float> z, mainz, tailz;
    std::vector<std::uint32_t> idx, tidx;
    void size_for(std::size_t n, std::size_t d, std::size_t blocks, std::size_t k, std::size_t r) {
        const auto grow = [n](auto& v, std::size_t per) {
            if (v.size() < n * per) v.resize(std::max(n, k_batch) * per);
        };
        grow(nu, 1);
        grow(z, d);
        grow(idx, blocks);
        if (r > 0) {
            grow(mainz, blocks * k);
            grow(tailz, r);
            grow(tidx, 1);
        }
    }
};

// Decodes `floats` floats from code bytes through a 256 x BF table of decoded floats: whole
// bytes, then a last byte that may hold fewer indices.
template <std::size_t BF>
void bytes_through_table(const float* table, const std::uint8_t* in, std::size_t floats,
                         float* out) {
    std::size_t f = 0, byte = 0;
    for (; f + BF <= floats; f += BF, ++byte)
        std::memcpy(out + f, table + in[byte] * BF, sizeof(float) * BF);
    if (f < floats) std::memcpy(out + f, table + in[byte] * BF, sizeof(float) * (floats - f));
}

// Fast path for the common layouts: N = 2, 4, 16 or 256 (1, 2, 4 or 8 bits per index) at a
// byte-aligned offset, i.e. every shipped codebook with its float16 / float32 header. The
// generic IndexPacker streams bits through a 64-bit accumulator one index at a time; here
// each byte is assembled (or split) with fixed shifts. Same LSB-first layout: index i
// occupies bits [offset + i b, offset + (i + 1) b).
bool byte_packable(const IndexPacker& p, std::size_t bit_offset) {
    const std::uint32_t N = p.radix();
    return bit_offset % 8 == 0 && p.count() > 0 && (N == 2 || N == 4 || N == 16 || N == 256);
}

// idx[i] < radix (the search's output); the bytes touched are zero on entry (memset).
template <int Bits>
void pack_bytes_of(const std::uint32_t* idx, std::size_t count, std::uint8_t* out) {
    constexpr std::size_t per = 8 / Bits;  // fixed shifts: the compiler vectorises the loop
    std::size_t i = 0, byte = 0;
    for (; i + per <= count; i += per, ++byte) {
        unsigned v = 0;
        for (std::size_t q = 0; q < per; ++q) v |= idx[i + q] << (q * Bits);
        out[byte] = static_cast<std::uint8_t>(v);
    }
    if (i < count) {
        unsigned v = 0;
        for (std::size_t q = 0; i + q < count; ++q) v |= idx[i + q] << (q * Bits);
        out[byte] = static_cast<std::uint8_t>(v);
    }
}

void pack_bytes(const std::uint32_t* idx, std::size_t count, int bits, std::uint8_t* out) {
    switch (bits) {
        case 1:
            pack_bytes_of<1>(idx, count, out);
            return;
        case 2:
            pack_bytes_of<2>(idx, count, out);
            return;
        case 4:
            pack_bytes_of<4>(idx, count, out);
            return;
        default:
            pack_bytes_of<8>(idx, count, out);
            return;
    }
}

std::uint32_t unpack_one(const std::uint8_t* in, std::size_t i, int bits) {
    const std::size_t bit = i * static_cast<std::size_t>(bits);
    return (static_cast<std::uint32_t>(in[bit / 8]) >> (bit % 8)) & ((1u << bits) - 1u);
}
}  // namespace

BlockVqCodec::BlockVqCodec(std::string family, BlockVqSpec spec, HeaderOptions header,
                           BlockSearch search)
    : m_family(std::move(family)), m_spec(std::move(spec)), m_header(header), m_search(search) {
    const int d = m_spec.d, k = m_spec.main.k;
    require(d >= 2, "block codec: need d >= 2");
    require(k >= 1 && k <= d, "block codec: need 1 <= k <= d");
    require(m_spec.main.N >= 2, "block codec: main codebook needs N >= 2");
    m_blocks = d / k;
    m_r = d % k;
    require(m_r == 0 || m_spec.tail.k == m_r, "block codec: d mod k = " + std::to_string(m_r) +
                                                  " needs a tail codebook of that "
                                                  "dimension, got k = " +
                                                  std::to_string(m_spec.tail.k));
    if (m_r == 0) require(m_spec.tail.N == 0, "block codec: tail codebook given but k divides d");
    m_rotation = core::Rotation(m_spec.rotation, d, m_spec.rotation_seed);
    if (m_search == BlockSearch::tree) {
        require(k >= 2, "block codec: the tree search needs blocks of k >= 2");
        m_main_tree = TreeSearch(m_spec.main);
    } else {
        m_main_search = NearestCodeword(m_spec.main);
    }
    m_main_cw.assign(m_spec.main.codewords.begin(), m_spec.main.codewords.end());
    m_main_pack = IndexPacker(static_cast<std::uint32_t>(m_spec.main.N), m_blocks);
    m_main_bits = m_main_pack.bits();
    m_header_bits = codecs::header_bits(m_header);
    // Decoding table: for 1, 2 or 4 bits per index at a byte offset, every byte value's
    // (8 / bits) codewords laid out as decoded, when that is at most 16 floats (scalar b <= 4,
    // k = 2 N = 4 / 16, k = 4 N = 16): one copy per code byte instead of a shift per index.
    if (byte_packable(m_main_pack, m_header_bits) && m_main_pack.group_bits() <= 4) {
        const int bits = m_main_pack.group_bits(), per = 8 / bits;
        if (per * k <= 16) {  // 2, 4, 8 or 16 floats per byte
            m_byte_floats = per * k;
            m_byte_table.resize(256 * static_cast<std::size_t>(m_byte_floats));
            for (unsigned v = 0; v < 256; ++v)
                for (int q = 0; q < per; ++q) {
                    const unsigned j = (v >> (q * bits)) & ((1u << bits) - 1u);
                    std::copy_n(&m_main_cw[static_cast<std::size_t>(j) * k], k,
                                &m_byte_table[v * m_byte_floats + static_cast<std::size_t>(q) * k]);
                }
        }
    }
    if (m_r > 0) {
        require(m_spec.tail.N >= 2, "block codec: tail codebook needs N >= 2");
        m_tail_search = NearestCodeword(m_spec.tail);
        m_tail_cw.assign(m_spec.tail.codewords.begin(), m_spec.tail.codewords.end());
        m_tail_pack = IndexPacker(static_cast<std::uint32_t>(m_spec.tail.N), 1);
        m_tail_bits = m_tail_pack.bits();
    }
    m_bytes = (m_header_bits + m_main_bits + m_tail_bits + 7) / 8;
}

double BlockVqCodec::code_bits() const {
    double bits = static_cast<double>(m_header_bits) + m_main_pack.information_bits();
    if (m_r > 0) bits += m_tail_pack.information_bits();
    return bits;
}

void BlockVqCodec::encode(const float* x, std::size_t n, std::uint8_t* codes) const {
    for (std::size_t b = 0; b < n; b += k_batch) {
        const std::size_t m = std::min(k_batch, n - b);
        encode_batch(x + b * m_spec.d, m, codes + b * m_bytes);
    }
}

void BlockVqCodec::decode(const std::uint8_t* codes, std::size_t n, float* x) const {
    for (std::size_t b = 0; b < n; b += k_batch) {
        const std::size_t m = std::min(k_batch, n - b);
        decode_batch(codes + b * m_bytes, m, x + b * m_spec.d);
    }
}

void BlockVqCodec::encode_batch(const float* x, std::size_t n, std::uint8_t* codes) const {
    const int d = m_spec.d, k = m_spec.main.k;
    // Per-thread buffers sized once (value-initialised on first use only): a fresh
    // 128 KiB vector per batch cost page faults and zero-filling in every batch.
    thread_local EncodeScratch s;
    s.size_for(n, static_cast<std::size_t>(d), static_cast<std::size_t>(m_blocks),
               static_cast<std::size_t>(k), static_cast<std::size_t>(m_r));
    double* nu = s.nu.data();
    float* z = s.z.data();
    unit_directions(x, n, d, nu, z);  // a zero vector: z = 0 (any codeword), gain 0
    m_rotation.forward(z, n, z);

    // Main blocks: when k divides d the rotated rows are already (n * blocks, k) contiguous.
    const std::size_t nb = n * m_blocks;
    std::uint32_t* idx = s.idx.data();
    std::uint32_t* tidx = s.tidx.data();
    const auto search_main = [&](const float* rows, std::size_t count, std::uint32_t* out) {
        if (m_search == BlockSearch::tree)
            m_main_tree.assign(rows, count, out);
        else
            m_main_search.assign(rows, count, out);
    };
    if (m_r == 0) {
        search_main(z, nb, idx);
    } else {
        float* mainz = s.mainz.data();
        float* tailz = s.tailz.data();
        for (std::size_t i = 0; i < n; ++i) {
            std::memcpy(&mainz[i * m_blocks * k], &z[i * d], sizeof(float) * m_blocks * k);
            std::memcpy(&tailz[i * m_r], &z[i * d + m_blocks * k], sizeof(float) * m_r);
        }
        search_main(mainz, nb, idx);
        m_tail_search.assign(tailz, n, tidx);
    }

    std::vector<float> zhat(m_header.value == NormHeader::gain ? d : 0);
    for (std::size_t i = 0; i < n; ++i) {
        if (m_header.value == NormHeader::gain) {
            // The decoded direction, main blocks then the tail (the order of z).
            for (int b = 0; b < m_blocks; ++b)
                std::memcpy(&zhat[b * k],
                            &m_main_cw[static_cast<std::size_t>(idx[i * m_blocks + b]) * k],
                            sizeof(float) * k);
            if (m_r > 0)
                std::memcpy(&zhat[m_blocks * k],
                            &m_tail_cw[static_cast<std::size_t>(tidx[i]) * m_r],
                            sizeof(float) * m_r);
        }
        const double g = header_value(m_header, nu[i], &z[i * d], zhat.data(), zhat.size());
        std::uint8_t* code = codes + i * m_bytes;
        std::memset(code, 0, m_bytes);
        write_header(m_header, g, code);
        if (byte_packable(m_main_pack, m_header_bits))
            pack_bytes(&idx[i * m_blocks], m_main_pack.count(), m_main_pack.group_bits(),
                       code + m_header_bits / 8);
        else
            m_main_pack.pack(&idx[i * m_blocks], code, m_header_bits);
        if (m_r > 0) m_tail_pack.pack(&tidx[i], code, m_header_bits + m_main_bits);
    }
}

void BlockVqCodec::decode_batch(const std::uint8_t* codes, std::size_t n, float* x) const {
    const int d = m_spec.d, k = m_spec.main.k;
    std::vector<float> gain(n);
    std::vector<std::uint32_t> idx(m_blocks);
    std::uint32_t tidx = 0;
    const bool fast_unpack = byte_packable(m_main_pack, m_header_bits);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* code = codes + i * m_bytes;
        gain[i] = read_header(m_header, code);
        float* zi = x + i * d;
        if (fast_unpack) {
            // Indices < 2^bits = N: no clamp needed. k = 1 (scalar) copies one float per
            // index directly instead of a memcpy call per coordinate.
            const std::uint8_t* in = code + m_header_bits / 8;
            const int bits = m_main_pack.group_bits();
            if (m_byte_floats > 0) {
                const std::size_t floats = static_cast<std::size_t>(m_blocks) * k;
                const float* table = m_byte_table.data();
                switch (m_byte_floats) {  // a fixed-size copy per byte, inlined
                    case 2:
                        bytes_through_table<2>(table, in, floats, zi);
                        break;
                    case 4:
                        bytes_through_table<4>(table, in, floats, zi);
                        break;
                    case 8:
                        bytes_through_table<8>(table, in, floats, zi);
                        break;
                    default:
                        bytes_through_table<16>(table, in, floats, zi);
                        break;
                }
            } else if (k == 1) {
                for (int b = 0; b < m_blocks; ++b)
                    zi[b] = m_main_cw[unpack_one(in, static_cast<std::size_t>(b), bits)];
            } else {
                for (int b = 0; b < m_blocks; ++b) {
                    const std::size_t j = unpack_one(in, static_cast<std::size_t>(b), bits);
                    const float* c = &m_main_cw[j * static_cast<std::size_t>(k)];
                    for (int t = 0; t < k; ++t) zi[b * k + t] = c[t];
                }
            }
        } else {
            m_main_pack.unpack(code, m_header_bits, idx.data());
            for (int b = 0; b < m_blocks; ++b) {
                const std::uint32_t j = std::min<std::uint32_t>(idx[b], m_spec.main.N - 1);
                std::memcpy(zi + b * k, &m_main_cw[static_cast<std::size_t>(j) * k],
                            sizeof(float) * k);
            }
        }
        if (m_r > 0) {
            m_tail_pack.unpack(code, m_header_bits + m_main_bits, &tidx);
            const std::uint32_t j = std::min<std::uint32_t>(tidx, m_spec.tail.N - 1);
            std::memcpy(zi + m_blocks * k, &m_tail_cw[static_cast<std::size_t>(j) * m_r],
                        sizeof(float) * m_r);
        }
    }
    m_rotation.inverse(x, n, x);
    for (std::size_t i = 0; i < n; ++i)
        for (int j = 0; j < d; ++j) x[i * d + j] *= gain[i];
}

}  // namespace fq::codecs

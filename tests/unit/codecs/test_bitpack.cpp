// Tests of codecs/bitpack: bit streams and mixed-radix index packing, against a naive
// bit-by-bit reference packer, the stored-size formula and the memory contract (bits outside
// the written range untouched).
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fq/codecs/bitpack.hpp"
#include "fq/core/error.hpp"
#include "fq/core/rng.hpp"

using fq::codecs::BitReader;
using fq::codecs::BitWriter;
using fq::codecs::IndexPacker;

namespace {

bool get_bit(const std::vector<std::uint8_t>& buf, std::size_t pos) {
    return (buf[pos / 8] >> (pos % 8)) & 1u;
}

// Naive reference: the stored bit sequence of IndexPacker(N, n) as SPEC 4.2 / bitpack.hpp
// describe it, one bit at a time: groups of G indices, v = sum_j idx_j N^j, ceil(len log2 N)
// bits, least significant first.
std::vector<bool> reference_bits(const std::vector<std::uint32_t>& idx, std::uint64_t N,
                                 std::size_t G) {
    std::vector<bool> bits;
    for (std::size_t start = 0; start < idx.size(); start += G) {
        const std::size_t len = std::min(G, idx.size() - start);
        std::uint64_t v = 0, size = 1;
        for (std::size_t j = 0; j < len; ++j) {
            v += idx[start + j] * size;
            size *= N;
        }
        int B = 0;  // smallest B with 2^B >= size
        while (B < 64 && (std::uint64_t{1} << B) < size) ++B;
        for (int i = 0; i < B; ++i) bits.push_back((v >> i) & 1u);
    }
    return bits;
}

// The group size by brute force over all G with N^G < 2^64, waste compared in long double.
std::size_t reference_group(std::uint64_t N) {
    if ((N & (N - 1)) == 0) return 1;
    std::size_t best = 0;
    long double best_waste = 0.0L;
    std::uint64_t size = 1;
    for (std::size_t G = 1;; ++G) {
        if (size > UINT64_MAX / N) break;
        size *= N;
        int B = 0;
        while (B < 64 && (std::uint64_t{1} << B) < size) ++B;
        const long double waste = static_cast<long double>(B) / G;
        if (best == 0 || waste < best_waste - 1e-15L) {
            best = G;
            best_waste = waste;
        }
    }
    return best;
}

std::vector<std::uint8_t> random_bytes(fq::core::Rng& rng, std::size_t n) {
    std::vector<std::uint8_t> v(n);
    for (auto& b : v) b = static_cast<std::uint8_t>(rng.below(256));
    return v;
}

}  // namespace

TEST_SUITE("bitpack") {
    TEST_CASE("round trip, reference layout and untouched bits for many radices and counts") {
        const std::uint32_t radices[] = {1,        2,          3,    5,        7,
                                         16,       100,        256,  257,      1000,
                                         4096,     65536,      6561, 1u << 24, (1u << 24) - 1,
                                         1u << 31, 4294967295u};
        const std::size_t counts[] = {0, 1, 7, 32, 43, 64};
        const std::size_t offsets[] = {0, 3, 13, 69};
        fq::core::Rng rng(7);
        for (std::uint32_t N : radices)
            for (std::size_t n : counts)
                for (std::size_t off : offsets) {
                    const IndexPacker p(N, n);
                    std::vector<std::uint32_t> idx(n);
                    for (auto& i : idx) i = static_cast<std::uint32_t>(rng.below(N));
                    const std::vector<bool> ref = reference_bits(idx, N, reference_group(N));
                    INFO("N = " << N << ", n = " << n << ", offset = " << off);
                    REQUIRE(p.group() == reference_group(N));
                    REQUIRE(p.bits() == ref.size());

                    const std::size_t size = (off + p.bits()) / 8 + 3;
                    const std::vector<std::uint8_t> before = random_bytes(rng, size);
                    std::vector<std::uint8_t> buf = before;
                    p.pack(idx.data(), buf.data(), off);
                    bool layout = true, untouched = true;
                    for (std::size_t b = 0; b < 8 * size; ++b) {
                        if (b >= off && b < off + p.bits())
                            layout = layout && get_bit(buf, b) == ref[b - off];
                        else
                            untouched = untouched && get_bit(buf, b) == get_bit(before, b);
                    }
                    CHECK(layout);
                    CHECK(untouched);
                    CHECK(p.canonical(buf.data(), off));

                    std::vector<std::uint32_t> back(n, 0xFFFFFFFFu);
                    p.unpack(buf.data(), off, back.data());
                    CHECK(back == idx);
                    // In a buffer of exactly the bytes the range covers (a sanitizer build
                    // catches any access beyond them).
                    const std::size_t o = off % 8;
                    std::vector<std::uint8_t> exact(p.bytes_touched(o), 0);
                    p.pack(idx.data(), exact.data(), o);
                    std::vector<std::uint32_t> back2(n, 0xFFFFFFFFu);
                    p.unpack(exact.data(), o, back2.data());
                    CHECK(back2 == idx);
                    CHECK(p.bytes_touched(off) ==
                          (p.bits() == 0 ? 0 : (off + p.bits() - 1) / 8 - off / 8 + 1));
                }
    }

    TEST_CASE("stored bits for known configurations") {
        // Radix 3: G = 29 (3^29 < 2^46, 3^40 < 2^64), 46 bits per group. Five indices form
        // one partial group: ceil(5 log2 3) = ceil(7.92) = 8 bits.
        CHECK(IndexPacker(3, 5).group() == 29);
        CHECK(IndexPacker(3, 5).group_bits() == 46);
        CHECK(IndexPacker(3, 5).bits() == 8);
        // 64 indices: 2 groups of 29 + 6: 2 * 46 + ceil(6 log2 3) = 92 + 10 = 102 =
        // ceil(64 log2 3), the least possible.
        CHECK(IndexPacker(3, 64).bits() == 102);
        CHECK(IndexPacker(3, 64).bits() == std::ceil(64 * std::log2(3.0)));
        // Radix 5: G = 3 (125 < 128), 7 bits; 64 = 21 * 3 + 1: 147 + 3 = 150.
        CHECK(IndexPacker(5, 64).group() == 3);
        CHECK(IndexPacker(5, 64).bits() == 150);
        // Radix 100: G = 3 (10^6 < 2^20); 43 = 14 * 3 + 1: 280 + 7 = 287.
        CHECK(IndexPacker(100, 43).group() == 3);
        CHECK(IndexPacker(100, 43).bits() == 287);
        // Radix 257: G = 7, ceil(7 * 8.0056) = 57 bits.
        CHECK(IndexPacker(257, 7).group() == 7);
        CHECK(IndexPacker(257, 7).bits() == 57);
        // Radix 1000: no G with N^G < 2^64 beats 10 bits per index.
        CHECK(IndexPacker(1000, 43).group() == 1);
        CHECK(IndexPacker(1000, 43).bits() == 430);
        // Powers of two: log2 N bits per index.
        CHECK(IndexPacker(16, 43).bits() == 172);
        CHECK(IndexPacker(65536, 7).bits() == 112);
        CHECK(IndexPacker(1u << 31, 3).bits() == 93);
        CHECK(IndexPacker(1, 64).bits() == 0);
        CHECK(IndexPacker(4294967295u, 2).bits() == 64);
        CHECK(IndexPacker().bits() == 0);
    }

    TEST_CASE("waste per index") {
        auto waste = [](std::uint32_t N) {
            const IndexPacker p(N, 1);
            return static_cast<double>(p.group_bits()) / p.group() - std::log2(double(N));
        };
        CHECK(waste(3) < 0.01);
        CHECK(waste(3) == doctest::Approx(46.0 / 29 - std::log2(3.0)).epsilon(1e-12));
        CHECK(waste(6) < 0.01);
        CHECK(waste(7) < 0.01);
        // Radix 5 and 100 cannot get below 0.01 with 64-bit groups: 7/3 and 20/3 bits is the
        // best any G with N^G < 2^64 achieves (reference_group checks the optimality).
        CHECK(waste(5) == doctest::Approx(7.0 / 3 - std::log2(5.0)).epsilon(1e-12));
        CHECK(waste(5) < 0.0115);
        CHECK(waste(100) == doctest::Approx(20.0 / 3 - std::log2(100.0)).epsilon(1e-12));
        CHECK(waste(100) < 0.023);
        for (std::uint32_t N : {2u, 16u, 256u, 1u << 20}) CHECK(waste(N) == 0.0);
        // Optimality among all feasible G for a range of radices.
        for (std::uint32_t N = 2; N < 2000; ++N) {
            INFO("N = " << N);
            CHECK(IndexPacker::best_group(N) == reference_group(N));
        }
    }

    TEST_CASE("information bits are count * log2(radix)") {
        CHECK(IndexPacker(16, 43).information_bits() == 172.0);
        CHECK(IndexPacker(1, 43).information_bits() == 0.0);
        CHECK(IndexPacker(3, 5).information_bits() ==
              doctest::Approx(5 * std::log(3.0) / std::log(2.0)).epsilon(1e-15));
        CHECK(IndexPacker(100, 43).information_bits() ==
              doctest::Approx(43 * 2 * std::log(10.0) / std::log(2.0)).epsilon(1e-15));
        for (std::uint32_t N : {3u, 5u, 100u, 257u, 1000u}) {
            const IndexPacker p(N, 64);
            CHECK(static_cast<double>(p.bits()) >= p.information_bits());
            CHECK(static_cast<double>(p.bits()) < p.information_bits() + 64 * 0.14 + 1.0);
        }
    }

    TEST_CASE("power-of-two radices are plain LSB-first bit packing") {
        const std::uint32_t idx[] = {0x3, 0xA, 0xF, 0x1, 0x7};
        std::vector<std::uint8_t> buf(3, 0);
        IndexPacker(16, 5).pack(idx, buf.data(), 0);
        CHECK(buf[0] == 0xA3);
        CHECK(buf[1] == 0x1F);
        CHECK(buf[2] == 0x07);
        // Radix 8 at bit offset 2: 3 bits each.
        const std::uint32_t idx8[] = {5, 6, 1};
        std::vector<std::uint8_t> b8(2, 0);
        IndexPacker(8, 3).pack(idx8, b8.data(), 2);
        // bits 2..4 = 101, 5..7 = 110, 8..10 = 100 -> byte0 = 1101 0100b, byte1 = 001b.
        CHECK(b8[0] == 0xD4);
        CHECK(b8[1] == 0x01);
    }

    TEST_CASE("mixed-radix group value") {
        // Radix 3, indices (2, 1, 0, 2, 2): v = 2 + 1*3 + 0*9 + 2*27 + 2*81 = 221 in 8 bits.
        const std::uint32_t idx[] = {2, 1, 0, 2, 2};
        std::vector<std::uint8_t> buf(2, 0xFF);
        IndexPacker(3, 5).pack(idx, buf.data(), 4);
        CHECK(fq::codecs::read_bits(buf.data(), 4, 8) == 221);
        CHECK((buf[0] & 0x0F) == 0x0F);
        CHECK((buf[1] & 0xF0) == 0xF0);
    }

    TEST_CASE("two sequences at consecutive offsets (main blocks + tail block)") {
        fq::core::Rng rng(11);
        const IndexPacker main(100, 42), tail(10, 1);
        std::vector<std::uint32_t> idx(43);
        for (std::size_t i = 0; i < 42; ++i) idx[i] = static_cast<std::uint32_t>(rng.below(100));
        idx[42] = 9;
        const std::size_t header = 16;
        std::vector<std::uint8_t> code((header + main.bits() + tail.bits() + 7) / 8, 0);
        fq::codecs::write_bits(code.data(), 0, 0xBEEF, 16);
        main.pack(idx.data(), code.data(), header);
        tail.pack(idx.data() + main.count(), code.data(), header + main.bits());
        CHECK(main.bits() + tail.bits() == 14 * 20 + 4);
        std::vector<std::uint32_t> back(43);
        main.unpack(code.data(), header, back.data());
        tail.unpack(code.data(), header + main.bits(), back.data() + 42);
        CHECK(back == idx);
        CHECK(fq::codecs::read_bits(code.data(), 0, 16) == 0xBEEF);
    }

    TEST_CASE("unpacked indices stay below the radix on arbitrary bytes, canonical()") {
        fq::core::Rng rng(5);
        std::size_t non_canonical = 0;
        for (std::uint32_t N : {3u, 5u, 7u, 100u, 257u, 1000u, 65535u})
            for (int trial = 0; trial < 200; ++trial) {
                const IndexPacker p(N, 43);
                const std::vector<std::uint8_t> junk = random_bytes(rng, p.bits() / 8 + 2);
                std::vector<std::uint32_t> idx(43);
                p.unpack(junk.data(), 5, idx.data());
                bool below = true;
                for (std::uint32_t i : idx) below = below && i < N;
                CHECK(below);
                if (!p.canonical(junk.data(), 5)) ++non_canonical;
            }
        CHECK(non_canonical > 0);
        // All ones: group value 2^B - 1 >= N^G, reduced mod N^G.
        const IndexPacker p(100, 3);  // one group, 20 bits, 10^6 <= v < 2^20
        std::vector<std::uint8_t> ones(3, 0xFF);
        CHECK_FALSE(p.canonical(ones.data(), 0));
        std::vector<std::uint32_t> idx(3);
        p.unpack(ones.data(), 0, idx.data());
        const std::uint32_t v = (1u << 20) - 1 - 1000000;  // (2^20 - 1) mod 10^6
        CHECK(idx[0] == v % 100);
        CHECK(idx[1] == v / 100 % 100);
        CHECK(idx[2] == v / 10000);
        CHECK(IndexPacker(16, 10).canonical(ones.data(), 0));
    }

    TEST_CASE("argument checks, a bad index writes nothing") {
        CHECK_THROWS_AS(IndexPacker(0, 4), fq::UsageError);
        const IndexPacker p(5, 4);
        const std::uint32_t idx[] = {1, 2, 5, 0};
        std::vector<std::uint8_t> buf(2, 0x5A);
        CHECK_THROWS_AS(p.pack(idx, buf.data(), 0), fq::UsageError);
        CHECK(buf == std::vector<std::uint8_t>(2, 0x5A));
        CHECK_THROWS_AS(fq::codecs::write_bits(buf.data(), 0, 1, 65), fq::UsageError);
        BitReader r(buf.data(), 3, 10);
        CHECK(r.get(6) == ((0x5A5Au >> 3) & 0x3F));
        CHECK(r.remaining() == 4);
        CHECK_THROWS_AS(r.get(5), fq::UsageError);
    }

    TEST_CASE("BitWriter / BitReader: random widths 0..64 at random offsets") {
        fq::core::Rng rng(3);
        for (int trial = 0; trial < 200; ++trial) {
            const std::size_t off = rng.below(40);
            const std::size_t m = rng.below(60);
            std::vector<std::uint64_t> values(m);
            std::vector<int> widths(m);
            std::size_t total = 0;
            for (std::size_t i = 0; i < m; ++i) {
                widths[i] = static_cast<int>(rng.below(65));
                const std::uint64_t mask =
                    widths[i] == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << widths[i]) - 1;
                values[i] = rng.next_u64() & mask;
                total += static_cast<std::size_t>(widths[i]);
            }
            const std::vector<std::uint8_t> before = random_bytes(rng, (off + total) / 8 + 2);
            std::vector<std::uint8_t> buf = before;
            {
                BitWriter w(buf.data(), off);
                for (std::size_t i = 0; i < m; ++i) {
                    // High garbage above the width must be ignored.
                    const std::uint64_t garbage =
                        widths[i] == 64 ? 0 : ~std::uint64_t{0} << widths[i];
                    w.put(values[i] | garbage, widths[i]);
                    if (i % 7 == 3) w.flush();  // flushing midway must not change the stream
                }
                CHECK(w.position() == off + total);
            }  // the destructor flushes
            bool untouched = true;
            for (std::size_t b = 0; b < 8 * buf.size(); ++b)
                if (b < off || b >= off + total)
                    untouched = untouched && get_bit(buf, b) == get_bit(before, b);
            CHECK(untouched);
            BitReader r(buf.data(), off, total);
            bool same = true;
            std::size_t pos = off;
            for (std::size_t i = 0; i < m; ++i) {
                same = same && r.get(widths[i]) == values[i];
                same = same && fq::codecs::read_bits(buf.data(), pos, widths[i]) == values[i];
                pos += static_cast<std::size_t>(widths[i]);
            }
            CHECK(same);
            CHECK(r.remaining() == 0);
        }
    }

    TEST_CASE("write_bits leaves neighbouring bits alone") {
        std::vector<std::uint8_t> buf(10, 0xFF);
        fq::codecs::write_bits(buf.data(), 5, 0, 64);
        for (std::size_t b = 0; b < 80; ++b) CHECK(get_bit(buf, b) == (b < 5 || b >= 69));
        fq::codecs::write_bits(buf.data(), 9, 0x5, 3);
        CHECK(fq::codecs::read_bits(buf.data(), 8, 5) == (0x5u << 1));
        std::vector<std::uint8_t> one(1, 0xAA);
        fq::codecs::write_bits(one.data(), 8, 0x1234, 0);  // zero bits at the end: no access
        CHECK(one[0] == 0xAA);
    }
}

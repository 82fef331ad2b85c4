#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "fq/core/sha256.hpp"

using fq::core::Sha256;
using fq::core::sha256_hex;

namespace {

std::string hex_of(const std::string& s) {
    return sha256_hex(s.data(), s.size());
}

}  // namespace

// FIPS 180-4 / NIST CSRC example vectors.
TEST_CASE("sha256 NIST vectors") {
    CHECK(hex_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(hex_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(hex_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                 "klmnopqrlmnopqrsmnopqrstnopqrstu") ==
          "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST_CASE("sha256 of one million 'a'") {
    const std::string a(1000000, 'a');
    CHECK(hex_of(a) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // The same streamed in 1000-byte pieces.
    Sha256 h;
    for (int i = 0; i < 1000; ++i) h.update(a.data(), 1000);
    CHECK(h.finish_hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 padding boundaries") {
    // Messages of bytes i mod 251 whose lengths straddle the 56- and 64-byte padding limits;
    // digests from Python's hashlib.
    const std::pair<int, const char*> cases[] = {
        {55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"},
        {56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"},
        {63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488"},
        {64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"},
        {119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6"},
        {120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c"},
    };
    for (const auto& [n, expected] : cases) {
        std::vector<std::uint8_t> m(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i)
            m[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i % 251);
        CAPTURE(n);
        CHECK(sha256_hex(m.data(), m.size()) == expected);
    }
}

TEST_CASE("sha256 split updates equal one-shot") {
    std::vector<std::uint8_t> m(1000);
    for (std::size_t i = 0; i < m.size(); ++i)
        m[i] = static_cast<std::uint8_t>((i * 131 + 7) & 0xFF);
    const std::string one_shot = sha256_hex(m.data(), m.size());
    for (std::size_t split : {0u, 1u, 55u, 63u, 64u, 65u, 127u, 128u, 500u, 999u, 1000u}) {
        Sha256 h;
        h.update(m.data(), split);
        h.update(m.data() + split, m.size() - split);
        CAPTURE(split);
        CHECK(h.finish_hex() == one_shot);
    }
    // Byte-at-a-time, and the raw digest agrees with the hex form.
    Sha256 h;
    for (auto b : m) h.update(&b, 1);
    const auto digest = h.finish();
    std::string hex;
    for (auto b : digest) {
        static constexpr char k_hex[] = "0123456789abcdef";
        hex += k_hex[b >> 4];
        hex += k_hex[b & 0xF];
    }
    CHECK(hex == one_shot);
    // string_view overload.
    Sha256 s;
    s.update(std::string_view("ab"));
    s.update(std::string_view("c"));
    CHECK(s.finish_hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("sha256: the SHA-instruction path equals the portable code") {
    MESSAGE("SHA instructions on this CPU: ", Sha256::hardware_available());
    // NIST two-block vector and random data of every length 0..300 plus a long one, in one
    // piece and in uneven pieces, through both implementations.
    std::vector<std::uint8_t> data(70000);
    std::uint64_t x = 88172645463325252ull;
    for (auto& b : data) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b = static_cast<std::uint8_t>(x);
    }
    auto digest = [&](Sha256::Implementation impl, std::size_t n, std::size_t piece) {
        Sha256 h(impl);
        for (std::size_t i = 0; i < n; i += piece)
            h.update(data.data() + i, std::min(piece, n - i));
        return h.finish_hex();
    };
    for (std::size_t n = 0; n <= 300; ++n) {
        const auto want = digest(Sha256::Implementation::portable, n, n + 1);
        CHECK(digest(Sha256::Implementation::best, n, n + 1) == want);
        CHECK(digest(Sha256::Implementation::best, n, 7) == want);
    }
    CHECK(digest(Sha256::Implementation::best, data.size(), 4096) ==
          digest(Sha256::Implementation::portable, data.size(), 1000));
    Sha256 p(Sha256::Implementation::portable);
    p.update("abc", 3);
    CHECK(p.finish_hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// The tail-biting bitshift trellis (codecs/trellis.hpp) and the tcq codec (codecs/tcq.hpp):
// the Viterbi search against a brute force over every bitstream, the two-pass tail-biting
// search against the exact one, decoding as a plain shift register, exact rates, codes
// independent of the thread count.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "fq/codecs/tcq.hpp"
#include "fq/codecs/trellis.hpp"
#include "fq/core/error.hpp"
#include "fq/core/rng.hpp"
#include "test_support.hpp"

using fq::codecs::Trellis;
using fq::codecs::TrellisPath;
using fq::codecs::TrellisSearch;
using fq::codecs::TrellisWorkspace;

namespace {

Trellis random_trellis(int L, int K, int V, std::uint64_t seed) {
    Trellis t;
    t.L = L;
    t.K = K;
    t.V = V;
    fq::core::Rng rng(seed, 7);
    t.lut.resize((std::size_t{1} << L) * static_cast<std::size_t>(V));
    for (float& v : t.lut) v = static_cast<float>(rng.normal());
    return t;
}

std::vector<float> gaussian(std::size_t n, std::uint64_t seed) {
    fq::core::Rng rng(seed, 3);
    std::vector<float> x(n);
    for (float& v : x) v = static_cast<float>(rng.normal());
    return x;
}

// The squared error of a path, written plainly: the states by the definition (a window of
// the circular bitstream, newest bits low), per step the V squared differences summed in
// order, the steps summed in order (the search's own float arithmetic).
float path_cost(const Trellis& t, int T, const TrellisPath& path, const float* x) {
    const std::uint32_t mask = (1u << t.L) - 1;
    float cost = 0;
    for (int i = 0; i < T; ++i) {
        std::uint32_t s = 0;
        // s_i = bits of steps i - W + 1 .. i (circular), oldest first.
        const int W = (t.L + t.K - 1) / t.K;
        for (int j = i - W + 1; j <= i; ++j)
            s = (s << t.K) | path[static_cast<std::size_t>((j + T) % T)];
        s &= mask;
        float step = 0;
        for (int v = 0; v < t.V; ++v) {
            const float e = x[i * t.V + v] - t.lut[static_cast<std::size_t>(s) * t.V + v];
            step = v == 0 ? e * e : step + e * e;
        }
        cost = i == 0 ? step : cost + step;
    }
    return cost;
}

// The least cost over all 2^(T K) bitstreams.
float brute_force(const Trellis& t, int T, const float* x, TrellisPath& best) {
    const std::uint64_t total = std::uint64_t{1} << (T * t.K);
    float least = std::numeric_limits<float>::infinity();
    TrellisPath path(static_cast<std::size_t>(T));
    for (std::uint64_t bits = 0; bits < total; ++bits) {
        for (int i = 0; i < T; ++i)
            path[static_cast<std::size_t>(i)] =
                static_cast<std::uint8_t>((bits >> (i * t.K)) & ((1u << t.K) - 1));
        const float c = path_cost(t, T, path, x);
        if (c < least) {
            least = c;
            best = path;
        }
    }
    return least;
}

}  // namespace

TEST_SUITE("trellis") {
    TEST_CASE("exact tail-biting Viterbi equals a brute force over every bitstream") {
        struct Case {
            int L, K, V, T;
        };
        for (const Case c : {Case{4, 2, 1, 4}, Case{3, 1, 2, 4}, Case{5, 3, 2, 3}, Case{4, 1, 1, 8},
                             Case{6, 2, 1, 5}, Case{2, 2, 1, 3}}) {
            CAPTURE(c.L);
            CAPTURE(c.K);
            CAPTURE(c.V);
            CAPTURE(c.T);
            for (std::uint64_t seed = 1; seed <= 5; ++seed) {
                const Trellis t = random_trellis(c.L, c.K, c.V, seed);
                const TrellisSearch search(t, c.T);
                const std::vector<float> x =
                    gaussian(static_cast<std::size_t>(c.T * c.V), seed + 100);
                TrellisPath want, got, two_pass;
                TrellisWorkspace w;
                const float least = brute_force(t, c.T, x.data(), want);
                const float exact = search.encode_exact(x.data(), w, got);
                CHECK(exact == least);
                CHECK(path_cost(t, c.T, got, x.data()) == exact);
                // The codec's two-pass search: a valid tail-biting path, never better.
                const float heuristic = search.encode(x.data(), w, two_pass);
                CHECK(path_cost(t, c.T, two_pass, x.data()) == heuristic);
                CHECK(heuristic >= exact);
                // The free search is a lower bound (no tail-biting constraint).
                TrellisPath free_path;
                CHECK(search.viterbi_free(x.data(), w, free_path) <= exact);
            }
        }
    }

    TEST_CASE("decode is a shift register over the circular stream, pack and unpack invert") {
        const Trellis t = random_trellis(7, 3, 2, 9);
        const int T = 11;
        const TrellisSearch search(t, T);
        fq::core::Rng rng(5, 1);
        TrellisPath path(T);
        for (auto& u : path) u = static_cast<std::uint8_t>(rng.uniform() * 8);
        std::vector<float> y(static_cast<std::size_t>(T * t.V));
        std::vector<std::uint32_t> states(T);
        search.decode(path, y.data(), states.data());
        for (int i = 0; i < T; ++i) {
            std::uint64_t window = 0;  // steps i-2, i-1, i: 9 bits, keep the low 7
            for (int j = i - 2; j <= i; ++j)
                window = (window << 3) | path[static_cast<std::size_t>((j + T) % T)];
            const auto s = static_cast<std::uint32_t>(window & 127u);
            CHECK(states[i] == s);
            for (int v = 0; v < t.V; ++v) CHECK(y[i * t.V + v] == t.lut[s * t.V + v]);
        }
        std::vector<std::uint8_t> bytes(1 + (5 + T * 3 + 7) / 8, 0);
        fq::codecs::pack_path(path, 3, bytes.data(), 5);
        TrellisPath back;
        fq::codecs::unpack_path(bytes.data(), 5, 3, T, back);
        CHECK(back == path);
        CHECK((bytes[0] & 0x1F) == 0);  // the bits before the offset are untouched
    }

    TEST_CASE("decode_packed equals unpack + decode + scale, reading only the code's bytes") {
        struct Cfg {
            int L, K, V, T;
        };
        for (const Cfg c : {Cfg{7, 3, 2, 11}, Cfg{12, 2, 1, 64}, Cfg{12, 1, 2, 32},
                            Cfg{12, 4, 1, 16}, Cfg{9, 8, 1, 5}, Cfg{10, 3, 1, 4}}) {
            CAPTURE(c.L);
            CAPTURE(c.K);
            const Trellis t = random_trellis(c.L, c.K, c.V, 17);
            const TrellisSearch search(t, c.T);
            fq::core::Rng rng(8, 2);
            for (std::size_t offset = 0; offset < 16; offset += 3) {
                TrellisPath path(static_cast<std::size_t>(c.T));
                for (auto& u : path) u = static_cast<std::uint8_t>(rng.uniform() * (1 << c.K));
                // Exactly the bytes of the code (a heap block of that size: ASan sees overreads).
                const std::size_t bytes = (offset + static_cast<std::size_t>(c.T * c.K) + 7) / 8;
                std::vector<std::uint8_t> code(bytes, 0);
                fq::codecs::pack_path(path, c.K, code.data(), offset);
                std::vector<float> want(static_cast<std::size_t>(c.T * c.V)), got(want.size());
                search.decode(path, want.data());
                for (float& v : want) v *= 0.37f;
                search.decode_packed(code.data(), offset, 0.37f, got.data());
                CHECK(got == want);
            }
        }
    }

    TEST_CASE("the two-pass search is within 3% (0.13 dB) of the exact tail-biting optimum") {
        // L = 8, K = 2, T = 32 (a d = 32, 2-bit tape): the loss of fixing the overlap from
        // the free path's end, measured against all 64 overlaps.
        const Trellis t = random_trellis(8, 2, 1, 3);
        const int T = 32;
        const TrellisSearch search(t, T);
        TrellisWorkspace w;
        TrellisPath p;
        double exact = 0, heuristic = 0;
        int worse = 0;
        for (std::uint64_t v = 0; v < 60; ++v) {
            const std::vector<float> x = gaussian(T, 1000 + v);
            const float e = search.encode_exact(x.data(), w, p);
            const float h = search.encode(x.data(), w, p);
            exact += e;
            heuristic += h;
            worse += h > e;
        }
        MESSAGE("two-pass / exact mean cost: " << heuristic / exact << ", worse on " << worse
                                               << " of 60 vectors");
        CHECK(heuristic >= exact);
        CHECK(heuristic / exact < 1.03);  // measured 1.020
    }

    TEST_CASE("every step kernel this machine has gives the plain loops' paths and costs") {
        struct Case {
            int L, K, V;
        };
        for (const Case c : {Case{8, 2, 1}, Case{10, 1, 2}, Case{9, 3, 2}, Case{8, 4, 1},
                             Case{10, 2, 2}, Case{7, 3, 1}}) {
            CAPTURE(c.L);
            CAPTURE(c.K);
            CAPTURE(c.V);
            const Trellis t = random_trellis(c.L, c.K, c.V, 17);
            const int T = 48 / c.V;
            const TrellisSearch search(t, T);
            std::vector<float> x = gaussian(static_cast<std::size_t>(T * c.V) * 8, 5);
            for (std::size_t i = 0; i < 7; ++i) x[i * 3] = x[i * 3 + 1];  // ties
            std::vector<TrellisPath> want;
            std::vector<float> want_cost;
            for (const std::string& kernel : fq::codecs::trellis_kernels()) {
                CAPTURE(kernel);
                REQUIRE(fq::codecs::force_trellis_kernel(kernel));
                TrellisWorkspace w;
                for (int v = 0; v < 8; ++v) {
                    TrellisPath p;
                    const float cost =
                        search.encode(&x[static_cast<std::size_t>(v * T * c.V)], w, p);
                    if (kernel == "plain") {
                        want.push_back(p);
                        want_cost.push_back(cost);
                    } else {
                        CHECK(p == want[static_cast<std::size_t>(v)]);
                        CHECK(cost == want_cost[static_cast<std::size_t>(v)]);
                    }
                }
            }
            REQUIRE(fq::codecs::force_trellis_kernel(""));
        }
        CHECK_FALSE(fq::codecs::force_trellis_kernel("neon"));
        MESSAGE("kernels compared: " << fq::codecs::trellis_kernels().size());
    }

    TEST_CASE("invalid sizes are refused") {
        Trellis t = random_trellis(4, 2, 1, 1);
        CHECK_THROWS_AS(TrellisSearch(t, 1), fq::UsageError);  // 2 bits cannot fill 4
        t.lut.pop_back();
        CHECK_THROWS_AS(TrellisSearch(t, 8), fq::UsageError);
        Trellis u = random_trellis(4, 2, 1, 1);
        u.K = 5;
        CHECK_THROWS_AS(fq::codecs::validate(u), fq::UsageError);
        // A search whose back pointers would exceed k_max_search_bytes (2^20 steps x 2^9).
        const Trellis big = random_trellis(10, 1, 1, 1);
        CHECK_THROWS_AS(TrellisSearch(big, 1 << 20), fq::UsageError);
        CHECK_NOTHROW(TrellisSearch(big, 1 << 10));
    }
}

TEST_SUITE("tcq codec") {
    TEST_CASE("rate, decode of the path, zero vector, codes independent of the thread count") {
        fq::codecs::TcqSpec spec;
        spec.d = 32;
        spec.trellis = random_trellis(8, 3, 2, 4);  // 1.5 bits per coordinate
        spec.rotation_seed = 11;
        const fq::codecs::TcqCodec codec(spec);
        CHECK(codec.code_bits() == 16 + 16 * 3);
        CHECK(codec.code_bytes() == 8);
        CHECK(codec.rate() == doctest::Approx(2.0));  // (16 + 48) / 32
        const std::size_t n = 40;
        std::vector<float> x = fq::test::randn(n * 32, 21);
        std::fill(x.begin() + 5 * 32, x.begin() + 6 * 32, 0.0f);  // vector 5 is zero
        const auto per_threads = fq::test::codes_per_thread_count(codec, x.data(), n, 7);
        CHECK(per_threads[0] == per_threads[1]);
        const std::vector<std::uint8_t>& codes = per_threads[0];
        std::vector<float> y(n * 32);
        codec.decode(codes.data(), n, y.data());
        // Vector by vector, plainly: header, path, table rows / sqrt(d), inverse rotation.
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint8_t* c = &codes[i * 8];
            const float g = fq::codecs::read_header({}, c);
            TrellisPath path;
            fq::codecs::unpack_path(c, 16, 3, 16, path);
            std::vector<float> z(32);
            codec.search().decode(path, z.data());
            for (float& v : z) v /= std::sqrt(32.0f);
            std::vector<float> back(32);
            codec.rotation().inverse(z.data(), 1, back.data());
            // (the batch's inverse rotation may round differently from one vector's)
            for (int j = 0; j < 32; ++j)
                CHECK(y[i * 32 + j] == doctest::Approx(back[j] * g).epsilon(1e-5));
        }
        for (int j = 0; j < 32; ++j) CHECK(y[5 * 32 + j] == 0.0f);
        // The search found the codes: re-encoding the rotated direction gives the same path.
        double err = 0, norm = 0;
        for (std::size_t i = 0; i < n * 32; ++i) {
            err += (x[i] - y[i]) * static_cast<double>(x[i] - y[i]);
            norm += x[i] * static_cast<double>(x[i]);
        }
        CHECK(err / norm < 0.5);  // a random table still codes something
    }
}

// Tests of codecs/block_vq: BlockVqCodec against a naive reference written plainly here
// (normalise, rotate in double, brute-force nearest codeword per block, pack), round-trip
// properties (decode gives the stored centroids; with the gain header, re-encoding a
// decoded vector gives the same code), zero vectors, exact code sizes, the gain header's
// MSE gain, and independence of batching and thread count.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fq/codecs/bitpack.hpp"
#include "fq/codecs/block_vq.hpp"
#include "fq/codecs/fib_init.hpp"
#include "fq/codecs/scalar.hpp"
#include "fq/core/half.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"

using namespace fq;
using namespace fq::codecs;

namespace {

BlockVqSpec scalar_spec(int d, int bits, std::uint64_t seed = 7) {
    BlockVqSpec s;
    s.d = d;
    s.main = scalar_codebook(lloyd_max_scalar(d, bits));
    s.rotation = core::RotationKind::haar;
    s.rotation_seed = seed;
    return s;
}

// d = 64, k = 3, N = 64: 21 main blocks + a tail block of r = 1 with N_r = 4 levels.
BlockVqSpec fib_k3_spec() {
    BlockVqSpec s;
    s.d = 64;
    s.main = init_multishell(64, 64, 4, RadialInit::source);
    s.tail = init_marginal(64, 4, RadialInit::source);
    s.rotation = core::RotationKind::haar;
    s.rotation_seed = 3;
    return s;
}

// d = 64, k = 2, N = 100 (not a power of two: mixed-radix packing).
BlockVqSpec fib_k2_n100_spec() {
    BlockVqSpec s;
    s.d = 64;
    s.main = init_sunflower(64, 100, RadialInit::source);
    s.rotation = core::RotationKind::hadamard;
    s.rotation_seed = 11;
    return s;
}

// n vectors of dimension d: Gaussian with per-vector scales spread over two decades, like
// real keys.
std::vector<float> random_vectors(std::size_t n, int d, std::uint64_t seed) {
    core::Rng rng(seed);
    std::vector<float> x(n * d);
    for (std::size_t i = 0; i < n; ++i) {
        const double scale = std::exp(rng.uniform() * 4.0 - 2.0);
        for (int j = 0; j < d; ++j) x[i * d + j] = static_cast<float>(rng.normal() * scale);
    }
    return x;
}

std::uint32_t brute(const BlockCodebook& cb, const double* y, double* gap) {
    double best = 1e300, second = 1e300;
    std::uint32_t bi = 0;
    for (int n = 0; n < cb.N; ++n) {
        double d2 = 0;
        for (int t = 0; t < cb.k; ++t)
            d2 += (y[t] - cb.codeword(n)[t]) * (y[t] - cb.codeword(n)[t]);
        if (d2 < best) {
            second = best;
            best = d2;
            bi = static_cast<std::uint32_t>(n);
        } else if (d2 < second) {
            second = d2;
        }
    }
    *gap = second - best;
    return bi;
}

// The reference indices of one vector: (main indices, tail index), and the smallest gap
// between the best and second-best squared distances over its blocks.
struct RefIdx {
    std::vector<std::uint32_t> main;
    std::uint32_t tail = 0;
    double min_gap = 1e300;
};

RefIdx reference_indices(const BlockVqSpec& s, const float* x) {
    const int d = s.d, k = s.main.k, blocks = d / k, r = d % k;
    double nu = 0;
    for (int j = 0; j < d; ++j) nu += static_cast<double>(x[j]) * x[j];
    nu = std::sqrt(nu);
    std::vector<double> u(d), z(d);
    for (int j = 0; j < d; ++j) u[j] = nu > 0 ? x[j] / nu : 0.0;
    core::Rotation(s.rotation, d, s.rotation_seed).forward(u.data(), 1, z.data());
    RefIdx ref;
    for (int b = 0; b < blocks; ++b) {
        double gap = 0;
        ref.main.push_back(brute(s.main, &z[b * k], &gap));
        ref.min_gap = std::min(ref.min_gap, gap);
    }
    if (r > 0) {
        double gap = 0;
        ref.tail = brute(s.tail, &z[blocks * k], &gap);
        ref.min_gap = std::min(ref.min_gap, gap);
    }
    return ref;
}

// Unpacked indices of one code.
RefIdx unpack(const BlockVqCodec& c, const std::uint8_t* code) {
    const BlockVqSpec& s = c.spec();
    const int blocks = c.blocks(), r = s.d % s.main.k;
    RefIdx out;
    out.main.resize(blocks);
    IndexPacker mp(static_cast<std::uint32_t>(s.main.N), blocks);
    mp.unpack(code, c.header_bits(), out.main.data());
    if (r > 0) {
        IndexPacker tp(static_cast<std::uint32_t>(s.tail.N), 1);
        tp.unpack(code, c.header_bits() + mp.bits(), &out.tail);
    }
    return out;
}

float header_value(const BlockVqCodec& c, const std::uint8_t* code) {
    if (c.header().type == HeaderType::float16)
        return core::half_to_float(static_cast<std::uint16_t>(code[0] | (code[1] << 8)));
    float f;
    std::memcpy(&f, code, 4);
    return f;
}

double mse(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    return s;
}

}  // namespace

TEST_SUITE("block_vq") {
    TEST_CASE("code sizes are exact (header + log2 N per index, mixed radix, tail block)") {
        const BlockVqCodec k3("fib", fib_k3_spec());
        CHECK(k3.blocks() == 21);
        CHECK(k3.code_bits() == doctest::Approx(16 + 21 * 6 + 2).epsilon(1e-15));  // 144
        CHECK(k3.code_bytes() == 18);
        CHECK(k3.rate() == doctest::Approx(144.0 / 64));
        const BlockVqCodec k3f32("fib", fib_k3_spec(), {NormHeader::norm, HeaderType::float32});
        CHECK(k3f32.code_bits() == doctest::Approx(160.0));
        CHECK(k3f32.code_bytes() == 20);

        const BlockVqCodec s2("scalar", scalar_spec(64, 2));
        CHECK(s2.code_bits() == doctest::Approx(16 + 64 * 2));
        CHECK(s2.code_bytes() == 18);
        const BlockVqCodec s3("scalar", scalar_spec(128, 3));
        CHECK(s3.code_bits() == doctest::Approx(16 + 128 * 3));
        CHECK(s3.code_bytes() == 50);

        // N = 100: 32 indices in groups of 3 (20 bits each) + a group of 2 (14 bits):
        // 16 + 10 * 20 + 14 = 230 stored bits -> 29 bytes; information 16 + 32 log2 100.
        const BlockVqCodec n100("fib", fib_k2_n100_spec());
        CHECK(n100.code_bits() == doctest::Approx(16 + 32 * std::log2(100.0)).epsilon(1e-14));
        CHECK(n100.code_bytes() == 29);
    }

    TEST_CASE("encode equals the naive reference (brute-force nearest per block)") {
        for (const auto& [family, spec] :
             {std::pair{"fib", fib_k3_spec()}, std::pair{"fib", fib_k2_n100_spec()},
              std::pair{"scalar", scalar_spec(64, 2)}}) {
            const BlockVqCodec c(family, spec);
            const std::size_t n = 600;
            const auto x = random_vectors(n, spec.d, 5);
            std::vector<std::uint8_t> codes(n * c.code_bytes());
            c.encode(x.data(), n, codes.data());
            int compared = 0, mismatched = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const RefIdx ref = reference_indices(spec, &x[i * spec.d]);
                const RefIdx got = unpack(c, &codes[i * c.code_bytes()]);
                double nu = 0;
                for (int j = 0; j < spec.d; ++j)
                    nu += double(x[i * spec.d + j]) * x[i * spec.d + j];
                CHECK(header_value(c, &codes[i * c.code_bytes()]) ==
                      core::half_to_float(core::float_to_half(static_cast<float>(std::sqrt(nu)))));
                if (ref.min_gap < 1e-5) continue;  // float vs double near-tie: either is right
                ++compared;
                if (ref.main != got.main || ref.tail != got.tail) ++mismatched;
            }
            CHECK(compared > static_cast<int>(n) / 2);
            CHECK(mismatched == 0);
        }
    }

    TEST_CASE("decode gives the stored centroids, scaled by the header") {
        for (const auto& [family, spec] :
             {std::pair{"fib", fib_k3_spec()}, std::pair{"fib", fib_k2_n100_spec()},
              std::pair{"scalar", scalar_spec(64, 2)}}) {
            for (NormHeader h : {NormHeader::norm, NormHeader::gain}) {
                const BlockVqCodec c(family, spec, {h, HeaderType::float32});
                const std::size_t n = 50;
                const int d = spec.d, k = spec.main.k;
                const auto x = random_vectors(n, d, 9);
                std::vector<std::uint8_t> codes(n * c.code_bytes());
                std::vector<float> y(n * d), z(n * d);
                c.encode(x.data(), n, codes.data());
                c.decode(codes.data(), n, y.data());
                c.rotation().forward(y.data(), n, z.data());
                double worst = 0;
                for (std::size_t i = 0; i < n; ++i) {
                    const RefIdx idx = unpack(c, &codes[i * c.code_bytes()]);
                    const double g = header_value(c, &codes[i * c.code_bytes()]);
                    REQUIRE(g > 0);
                    for (int b = 0; b < c.blocks(); ++b)
                        for (int t = 0; t < k; ++t)
                            worst = std::max(worst, std::abs(z[i * d + b * k + t] / g -
                                                             spec.main.codeword(idx.main[b])[t]));
                    for (int t = 0; t < d % k; ++t)
                        worst = std::max(worst, std::abs(z[i * d + c.blocks() * k + t] / g -
                                                         spec.tail.codeword(idx.tail)[t]));
                }
                CHECK(worst < 2e-5);
            }
        }
    }

    TEST_CASE("re-encoding a decoded vector gives the same code (gain header, b = 1)") {
        // With the gain header g = nu <z, z_hat>/||z_hat||^2, re-encoding x_hat = g Pi^T z_hat
        // finds the direction z_hat/||z_hat|| and the same gain g. The indices come back
        // when the nearest codeword of each scaled codeword c/||z_hat|| is c itself: always
        // for one bit (only the sign matters). (For the norm header, ||x_hat|| = nu ||z_hat||
        // differs from nu, so codes are not a fixed point by construction.)
        const BlockVqCodec c("scalar", scalar_spec(64, 1), {NormHeader::gain, HeaderType::float16});
        const std::size_t n = 300;
        const auto x = random_vectors(n, 64, 13);
        std::vector<std::uint8_t> codes(n * c.code_bytes()), again(codes.size());
        std::vector<float> y(n * 64);
        c.encode(x.data(), n, codes.data());
        c.decode(codes.data(), n, y.data());
        c.encode(y.data(), n, again.data());
        CHECK(codes == again);
    }

    TEST_CASE("a zero vector decodes to exactly zero, with any codec and header") {
        for (const auto& [family, spec] :
             {std::pair{"fib", fib_k3_spec()}, std::pair{"scalar", scalar_spec(64, 2)}}) {
            for (NormHeader h : {NormHeader::norm, NormHeader::gain}) {
                const BlockVqCodec c(family, spec, {h, HeaderType::float16});
                std::vector<float> x = random_vectors(3, 64, 1);
                std::fill(x.begin() + 64, x.begin() + 128, 0.0f);  // the middle one
                std::vector<std::uint8_t> codes(3 * c.code_bytes());
                std::vector<float> y(3 * 64, 1.0f);
                c.encode(x.data(), 3, codes.data());
                c.decode(codes.data(), 3, y.data());
                CHECK(header_value(c, &codes[c.code_bytes()]) == 0.0f);
                for (int j = 0; j < 64; ++j) {
                    CHECK(y[64 + j] == 0.0f);
                    CHECK(std::isfinite(y[j]));
                }
            }
        }
    }

    TEST_CASE("the gain header lowers the MSE on average, never raises it much") {
        for (const auto& [family, spec] :
             {std::pair{"fib", fib_k3_spec()}, std::pair{"scalar", scalar_spec(64, 2)}}) {
            const BlockVqCodec norm(family, spec, {NormHeader::norm, HeaderType::float32});
            const BlockVqCodec gain(family, spec, {NormHeader::gain, HeaderType::float32});
            const std::size_t n = 2000;
            const auto x = random_vectors(n, 64, 17);
            std::vector<std::uint8_t> codes(n * norm.code_bytes());
            std::vector<float> yn(x.size()), yg(x.size());
            norm.encode(x.data(), n, codes.data());
            norm.decode(codes.data(), n, yn.data());
            gain.encode(x.data(), n, codes.data());
            gain.decode(codes.data(), n, yg.data());
            const double en = mse(x, yn), eg = mse(x, yg);
            // g is the per-vector least-squares optimum along the decoded direction
            // Pi^T z_hat, so it can only help; at about 2 bits the saving is a few percent.
            CHECK(eg < en);
            CHECK(eg > 0.85 * en);
            // and per vector it is never worse beyond float rounding
            for (std::size_t i = 0; i < 50; ++i) {
                double a = 0, b = 0;
                for (int j = 0; j < 64; ++j) {
                    a += std::pow(double(x[i * 64 + j]) - yn[i * 64 + j], 2);
                    b += std::pow(double(x[i * 64 + j]) - yg[i * 64 + j], 2);
                }
                CHECK(b <= a * (1 + 1e-5) + 1e-12);
            }
        }
    }

    TEST_CASE("codes do not depend on batching or on the thread count") {
        const BlockVqCodec c("fib", fib_k3_spec());
        const std::size_t n = 3000;
        const auto x = random_vectors(n, 64, 23);
        const std::size_t cb = c.code_bytes();
        std::vector<std::uint8_t> whole(n * cb);
        c.encode(x.data(), n, whole.data());
        std::vector<std::uint8_t> pieces(n * cb);  // uneven pieces, not multiples of 256
        for (std::size_t b = 0; b < n; b += 77)
            c.encode(&x[b * 64], std::min<std::size_t>(77, n - b), &pieces[b * cb]);
        CHECK(whole == pieces);
        std::vector<std::vector<std::uint8_t>> by_threads;
        std::vector<std::vector<float>> decoded;
        const int saved = core::max_threads();
        for (int threads : {1, 2}) {
            core::set_threads(threads);
            std::vector<std::uint8_t> codes(n * cb);
            core::parallel_chunks(n, 100, [&](std::size_t, std::size_t b, std::size_t e) {
                c.encode(&x[b * 64], e - b, &codes[b * cb]);
            });
            std::vector<float> y(n * 64);
            core::parallel_chunks(n, 100, [&](std::size_t, std::size_t b, std::size_t e) {
                c.decode(&codes[b * cb], e - b, &y[b * 64]);
            });
            by_threads.push_back(codes);
            decoded.push_back(y);
        }
        core::set_threads(saved);
        CHECK(by_threads[0] == whole);
        CHECK(by_threads[1] == whole);
        CHECK(decoded[0] == decoded[1]);
        // decoding one vector alone gives the same numbers as within a batch
        std::vector<float> one(64);
        c.decode(&whole[1234 * cb], 1, one.data());
        CHECK(std::equal(one.begin(), one.end(), decoded[0].begin() + 1234 * 64));
    }
}

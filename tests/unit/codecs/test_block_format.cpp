// Tests of codecs/block_format: q8_0 and q4_0 byte-for-byte against a naive transcription of
// ggml's reference quantizers (quantize_row_q8_0_ref / quantize_row_q4_0_ref: float
// arithmetic, roundf for q8_0, truncation of x/d + 8.5 clamped to 15 for q4_0, ggml's block
// structs), a hand-computed q4_0 block, 8.5 / 4.5 bits per value, the Hadamard variant (codes
// of the rotated vector, decode = Pi^T dequantize), thread independence.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fq/codecs/block_format.hpp"
#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"
#include "fq/core/rotation.hpp"

#include "test_support.hpp"

using namespace fq;
using namespace fq::codecs;

namespace {

// ggml's block structs (ggml-common.h), packed as in the file format.
#pragma pack(push, 1)
struct block_q8_0 {
    std::uint16_t d;
    std::int8_t qs[32];
};
struct block_q4_0 {
    std::uint16_t d;
    std::uint8_t qs[16];
};
#pragma pack(pop)
static_assert(sizeof(block_q8_0) == 34 && sizeof(block_q4_0) == 18);

void naive_q8_0(const float* x, block_q8_0* y, int k) {
    for (int i = 0; i < k / 32; i++) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = std::max(amax, std::fabs(x[i * 32 + j]));
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = core::float_to_half(d);
        for (int j = 0; j < 32; ++j)
            y[i].qs[j] = static_cast<std::int8_t>(std::roundf(x[i * 32 + j] * id));
    }
}

void naive_q4_0(const float* x, block_q4_0* y, int k) {
    for (int i = 0; i < k / 32; i++) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 32; j++) {
            const float v = x[i * 32 + j];
            if (amax < std::fabs(v)) {
                amax = std::fabs(v);
                max = v;
            }
        }
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = core::float_to_half(d);
        for (int j = 0; j < 16; ++j) {
            const float x0 = x[i * 32 + 0 + j] * id;
            const float x1 = x[i * 32 + 16 + j] * id;
            const std::uint8_t xi0 = static_cast<std::uint8_t>(
                std::min(15, static_cast<int>(static_cast<std::int8_t>(x0 + 8.5f))));
            const std::uint8_t xi1 = static_cast<std::uint8_t>(
                std::min(15, static_cast<int>(static_cast<std::int8_t>(x1 + 8.5f))));
            y[i].qs[j] = static_cast<std::uint8_t>(xi0 | (xi1 << 4));
        }
    }
}

void naive_dequant_q8_0(const block_q8_0* b, float* y, int k) {
    for (int i = 0; i < k / 32; i++) {
        const float d = core::half_to_float(b[i].d);
        for (int j = 0; j < 32; ++j) y[i * 32 + j] = b[i].qs[j] * d;
    }
}

void naive_dequant_q4_0(const block_q4_0* b, float* y, int k) {
    for (int i = 0; i < k / 32; i++) {
        const float d = core::half_to_float(b[i].d);
        for (int j = 0; j < 16; ++j) {
            y[i * 32 + j] = static_cast<float>((b[i].qs[j] & 0x0F) - 8) * d;
            y[i * 32 + j + 16] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

std::vector<float> data(std::size_t n, int d, std::uint64_t seed) {
    core::Rng rng(seed, 2);
    std::vector<float> x(n * d);
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = static_cast<float>(rng.normal() * (i % 29 == 0 ? 10 : 1));
    // Special blocks: all zero, one value, exact half-integers of the q8_0 grid (ties).
    for (int j = 0; j < 32; ++j) x[j] = 0.0f;
    for (int j = 0; j < 32; ++j) x[32 + j] = j == 5 ? -3.0f : 0.0f;
    for (int j = 0; j < 32; ++j) x[64 + j] = static_cast<float>(j) - 15.5f;
    return x;
}

}  // namespace

TEST_SUITE("block_format") {
    TEST_CASE("8.5 and 4.5 bits per value") {
        const BlockFormatCodec a(BlockFormatParams{128, BlockFormat::q8_0});
        CHECK(a.code_bytes() == 4 * 34);
        CHECK(a.rate() == 8.5);
        const BlockFormatCodec b(BlockFormatParams{128, BlockFormat::q4_0});
        CHECK(b.code_bytes() == 4 * 18);
        CHECK(b.rate() == 4.5);
        CHECK_THROWS_AS(BlockFormatCodec(BlockFormatParams{48, BlockFormat::q8_0}), UsageError);
        CHECK_THROWS_AS(BlockFormatCodec(
                            BlockFormatParams{96, BlockFormat::q4_0, core::RotationKind::hadamard}),
                        UsageError);
    }

    TEST_CASE("q8_0 and q4_0 agree byte for byte with ggml's reference semantics") {
        const int d = 128;
        const std::size_t n = 200;
        const auto x = data(n, d, 1);
        for (auto f : {BlockFormat::q8_0, BlockFormat::q4_0}) {
            const BlockFormatCodec c(BlockFormatParams{d, f});
            std::vector<std::uint8_t> codes(n * c.code_bytes()), ref(n * c.code_bytes());
            c.encode(x.data(), n, codes.data());
            std::vector<float> y(n * d), want(n * d);
            c.decode(codes.data(), n, y.data());
            if (f == BlockFormat::q8_0) {
                std::vector<block_q8_0> blk(n * d / 32);
                naive_q8_0(x.data(), blk.data(), static_cast<int>(n * d));
                std::memcpy(ref.data(), blk.data(), ref.size());
                naive_dequant_q8_0(blk.data(), want.data(), static_cast<int>(n * d));
            } else {
                std::vector<block_q4_0> blk(n * d / 32);
                naive_q4_0(x.data(), blk.data(), static_cast<int>(n * d));
                std::memcpy(ref.data(), blk.data(), ref.size());
                naive_dequant_q4_0(blk.data(), want.data(), static_cast<int>(n * d));
            }
            CHECK(codes == ref);
            CHECK(y == want);
        }
    }

    TEST_CASE("a hand-computed q4_0 block: x_j = j - 16") {
        // max |x| at j = 0 (x = -16): delta = -16 / -8 = 2, q_j = min(15, trunc((j-16)/2 + 8.5)).
        std::vector<float> x(32);
        for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
        std::vector<std::uint8_t> b(18);
        BlockFormatCodec::quantize_block(BlockFormat::q4_0, x.data(), b.data());
        CHECK(core::half_to_float(static_cast<std::uint16_t>(b[0] | (b[1] << 8))) == 2.0f);
        CHECK((b[2] & 0x0F) == 0);      // j = 0: -8 + 8.5 = 0.5 -> 0
        CHECK((b[2 + 1] & 0x0F) == 1);  // j = 1: -7.5 + 8.5 = 1 -> 1
        CHECK((b[2 + 15] >> 4) == 15);  // j = 31: 7.5 + 8.5 = 16 -> clamped to 15
        std::vector<float> y(32);
        BlockFormatCodec::dequantize_block(BlockFormat::q4_0, b.data(), y.data());
        CHECK(y[0] == -16.0f);
        CHECK(y[31] == 14.0f);
        CHECK(y[16] == 0.0f);  // j = 16: 0 + 8.5 -> 8 -> 0
    }

    TEST_CASE("Hadamard variant: codes of Pi x, decode = Pi^T dequantize, small error") {
        const int d = 128;
        const std::size_t n = 100;
        const auto x = data(n, d, 3);
        for (auto f : {BlockFormat::q8_0, BlockFormat::q4_0}) {
            const BlockFormatCodec c(BlockFormatParams{d, f, core::RotationKind::hadamard, 17});
            const BlockFormatCodec plain(BlockFormatParams{d, f});
            const core::Rotation rot(core::RotationKind::hadamard, d, 17);
            std::vector<float> z(n * d);
            rot.forward(x.data(), n, z.data());
            std::vector<std::uint8_t> codes(n * c.code_bytes()), ref(n * c.code_bytes());
            c.encode(x.data(), n, codes.data());
            plain.encode(z.data(), n, ref.data());
            CHECK(codes == ref);
            std::vector<float> y(n * d), w(n * d);
            c.decode(codes.data(), n, y.data());
            plain.decode(ref.data(), n, w.data());
            rot.inverse(w.data(), n, w.data());
            CHECK(y == w);
            double err = 0, energy = 0;
            for (std::size_t i = 0; i < n * d; ++i) {
                err += (x[i] - y[i]) * (x[i] - y[i]);
                energy += static_cast<double>(x[i]) * x[i];
            }
            MESSAGE(std::string(to_string(f)) << " + hadamard: relative MSE " << err / energy);
            CHECK(err / energy < (f == BlockFormat::q8_0 ? 1e-4 : 2e-2));
        }
    }

    TEST_CASE("codes do not depend on the thread count") {
        const int d = 64;
        const std::size_t n = 700;
        const auto x = data(n, d, 8);
        const BlockFormatCodec c(
            BlockFormatParams{d, BlockFormat::q4_0, core::RotationKind::hadamard, 2});
        const auto out = fq::test::codes_per_thread_count(c, x.data(), n, 64);
        CHECK(out[0] == out[1]);
    }
}

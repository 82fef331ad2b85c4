// BlockFormatCodec: llama.cpp's block formats q8_0 and q4_0, bit-exact with ggml's reference
// quantizers (quantize_row_q8_0_ref / quantize_row_q4_0_ref in ggml-quants.c), the formats
// inference engines already run for their KV caches. No norm header.
//
// Each vector (d a multiple of 32) is cut into d/32 blocks of 32 values x_0..x_31; with float
// (not double) arithmetic as in ggml:
//   q8_0: amax = max |x_j|, delta = amax / 127, id = delta ? 1/delta : 0,
//         q_j = roundf(x_j id) (int8, half away from zero);   x_hat_j = q_j float16(delta).
//   q4_0: m = the x_j of largest |x_j| (first one on ties), delta = m / -8,
//         id = delta ? 1/delta : 0, q_j = min(15, (int8)(x_j id + 8.5f)) (truncation);
//         x_hat_j = (q_j - 8) float16(delta).
// (ggml quantizes with the float delta and stores float16(delta); decode uses the stored one.)
// Block layout, as ggml's block_q8_0 / block_q4_0: float16 delta (little-endian), then
//   q8_0: 32 int8 values;  q4_0: 16 bytes, byte j = q_j | q_(j+16) << 4.
// 34 or 18 bytes per 32 values: 8.5 or 4.5 bits per coordinate.
//
// Optional rotation first (llama.cpp rotates K/V before quantizing): x -> Pi x with
// core::Rotation (hadamard: d a power of two; or haar), decode applies Pi^T. The rotation is
// applied to the raw vector (no normalisation), in float.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "fq/codecs/codec.hpp"
#include "fq/core/rotation.hpp"

namespace fq::codecs {

enum class BlockFormat { q8_0, q4_0 };

const char* to_string(BlockFormat f);                           // "q8_0" | "q4_0"
BlockFormat block_format_from_string(const std::string& name);  // throws UsageError

struct BlockFormatParams {
    int d = 0;                                               // dimension, a multiple of 32
    BlockFormat format = BlockFormat::q8_0;                  // q8_0 or q4_0
    core::RotationKind rotation = core::RotationKind::none;  // none | hadamard | haar
    std::uint64_t rotation_seed = 1;                         // seed of Pi
};

class BlockFormatCodec : public Codec {
public:
    static constexpr int k_block = 32;  // values per block (ggml QK8_0 = QK4_0 = 32)

    // Throws UsageError unless d is a positive multiple of 32 (and a power of two for
    // hadamard).
    explicit BlockFormatCodec(BlockFormatParams params);

    std::string family() const override { return "block"; }
    int dim() const override { return m_params.d; }
    std::size_t code_bytes() const override { return m_bytes; }
    double code_bits() const override { return 8.0 * static_cast<double>(m_bytes); }
    // The float16 scale of every block of 32 values: 16 d / 32.
    double side_bits() const override { return 0.5 * m_params.d; }
    void encode(const float* x, std::size_t n, std::uint8_t* codes) const override;
    void decode(const std::uint8_t* codes, std::size_t n, float* x) const override;

    const BlockFormatParams& params() const { return m_params; }
    const core::Rotation& rotation() const { return m_rotation; }
    std::size_t block_bytes() const { return m_params.format == BlockFormat::q8_0 ? 34 : 18; }

    // One block of 32 values -> block_bytes() bytes, and back (no rotation).
    static void quantize_block(BlockFormat f, const float* x, std::uint8_t* out);
    static void dequantize_block(BlockFormat f, const std::uint8_t* in, float* x);

private:
    BlockFormatParams m_params;
    core::Rotation m_rotation;
    std::size_t m_bytes = 0;
};

}  // namespace fq::codecs

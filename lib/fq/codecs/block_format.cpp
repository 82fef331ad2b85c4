#include "fq/codecs/block_format.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fq/core/error.hpp"
#include "fq/core/half.hpp"

namespace fq::codecs {

const char* to_string(BlockFormat f) {
    return f == BlockFormat::q8_0 ? "q8_0" : "q4_0";
}

BlockFormat block_format_from_string(const std::string& name) {
    if (name == "q8_0") return BlockFormat::q8_0;
    if (name == "q4_0") return BlockFormat::q4_0;
    throw UsageError("block: unknown format '" + name + "' (q8_0 | q4_0)");
}

BlockFormatCodec::BlockFormatCodec(BlockFormatParams params) : m_params(params) {
    const int d = m_params.d;
    require(d >= k_block && d % k_block == 0,
            "block: d must be a positive multiple of 32, got " + std::to_string(d));
    if (m_params.rotation == core::RotationKind::hadamard)
        require((d & (d - 1)) == 0, "block: the hadamard rotation needs d a power of two");
    if (m_params.rotation != core::RotationKind::none)
        m_rotation = core::Rotation(m_params.rotation, d, m_params.rotation_seed);
    m_bytes = static_cast<std::size_t>(d / k_block) * block_bytes();
}

void BlockFormatCodec::quantize_block(BlockFormat f, const float* x, std::uint8_t* out) {
    // Float arithmetic and operation order follow ggml's reference quantizers exactly.
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < k_block; ++j) {
        if (!std::isfinite(x[j])) throw NumericError("block: non-finite input value");
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    const float delta = f == BlockFormat::q8_0 ? amax / 127.0f : max / -8.0f;
    const float id = delta != 0.0f ? 1.0f / delta : 0.0f;
    const std::uint16_t h = core::float_to_half(delta);
    if (std::isinf(core::half_to_float(h)))
        throw NumericError("block: scale " + std::to_string(delta) + " overflows float16");
    out[0] = static_cast<std::uint8_t>(h & 0xFF);
    out[1] = static_cast<std::uint8_t>(h >> 8);
    if (f == BlockFormat::q8_0) {
        for (int j = 0; j < k_block; ++j) {
            const float v = x[j] * id;
            out[2 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::round(v)));
        }
    } else {
        for (int j = 0; j < k_block / 2; ++j) {
            const float x0 = x[j] * id;
            const float x1 = x[j + k_block / 2] * id;
            const int q0 = std::min(15, static_cast<int>(static_cast<std::int8_t>(x0 + 8.5f)));
            const int q1 = std::min(15, static_cast<int>(static_cast<std::int8_t>(x1 + 8.5f)));
            out[2 + j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
        }
    }
}

void BlockFormatCodec::dequantize_block(BlockFormat f, const std::uint8_t* in, float* x) {
    const float delta = core::half_to_float(static_cast<std::uint16_t>(in[0] | (in[1] << 8)));
    if (f == BlockFormat::q8_0) {
        for (int j = 0; j < k_block; ++j)
            x[j] = static_cast<float>(static_cast<std::int8_t>(in[2 + j])) * delta;
    } else {
        for (int j = 0; j < k_block / 2; ++j) {
            x[j] = static_cast<float>((in[2 + j] & 0x0F) - 8) * delta;
            x[j + k_block / 2] = static_cast<float>((in[2 + j] >> 4) - 8) * delta;
        }
    }
}

void BlockFormatCodec::encode(const float* x, std::size_t n, std::uint8_t* codes) const {
    const std::size_t d = static_cast<std::size_t>(m_params.d);
    const std::size_t bb = block_bytes();
    std::vector<float> z(d);
    for (std::size_t v = 0; v < n; ++v) {
        const float* xv = x + v * d;
        if (m_params.rotation != core::RotationKind::none) {
            m_rotation.forward(xv, 1, z.data());
            xv = z.data();
        }
        for (std::size_t b = 0; b < d / k_block; ++b)
            quantize_block(m_params.format, xv + b * k_block, codes + v * m_bytes + b * bb);
    }
}

void BlockFormatCodec::decode(const std::uint8_t* codes, std::size_t n, float* x) const {
    const std::size_t d = static_cast<std::size_t>(m_params.d);
    const std::size_t bb = block_bytes();
    for (std::size_t v = 0; v < n; ++v) {
        float* xv = x + v * d;
        for (std::size_t b = 0; b < d / k_block; ++b)
            dequantize_block(m_params.format, codes + v * m_bytes + b * bb, xv + b * k_block);
        if (m_params.rotation != core::RotationKind::none) m_rotation.inverse(xv, 1, xv);
    }
}

}  // namespace fq::codecs

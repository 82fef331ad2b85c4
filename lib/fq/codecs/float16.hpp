// Float16Codec: the uncompressed reference, every coordinate stored as IEEE binary16
// (round to nearest even), 16 bits per coordinate, no side information. What a deployed KV
// cache stores by default; a candidate of the rate allocator (fq-eval plan) for tensors worth
// keeping at full precision.
//   code  d binary16 values, little-endian;  code_bytes = 2 d, code_bits = 16 d.
// Values beyond the float16 range become +-Inf: NumericError (the encoder refuses them).
#pragma once

#include "fq/codecs/codec.hpp"

namespace fq::codecs {

class Float16Codec final : public Codec {
public:
    explicit Float16Codec(int d);  // UsageError unless d >= 1
    std::string family() const override { return "float16"; }
    int dim() const override { return m_d; }
    std::size_t code_bytes() const override { return 2 * static_cast<std::size_t>(m_d); }
    double code_bits() const override { return 16.0 * m_d; }
    void encode(const float* x, std::size_t n, std::uint8_t* codes) const override;
    void decode(const std::uint8_t* codes, std::size_t n, float* x) const override;

private:
    int m_d = 0;
};

}  // namespace fq::codecs

#include "fq/codecs/float16.hpp"

#include <cmath>
#include <string>

#include "fq/core/error.hpp"
#include "fq/core/half.hpp"

namespace fq::codecs {

Float16Codec::Float16Codec(int d) : m_d(d) {
    if (d < 1) throw UsageError("float16 codec: d must be >= 1, got " + std::to_string(d));
}

void Float16Codec::encode(const float* x, std::size_t n, std::uint8_t* codes) const {
    const auto d = static_cast<std::size_t>(m_d);
    for (std::size_t i = 0; i < n * d; ++i) {
        const std::uint16_t h = core::float_to_half(x[i]);
        if (std::isfinite(x[i]) && (h & 0x7C00u) == 0x7C00u)
            throw NumericError("float16 codec: " + std::to_string(x[i]) +
                               " is beyond the float16 range");
        codes[2 * i] = static_cast<std::uint8_t>(h);
        codes[2 * i + 1] = static_cast<std::uint8_t>(h >> 8);
    }
}

void Float16Codec::decode(const std::uint8_t* codes, std::size_t n, float* x) const {
    const auto d = static_cast<std::size_t>(m_d);
    for (std::size_t i = 0; i < n * d; ++i)
        x[i] =
            core::half_to_float(static_cast<std::uint16_t>(codes[2 * i] | (codes[2 * i + 1] << 8)));
}

}  // namespace fq::codecs

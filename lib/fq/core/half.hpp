// IEEE 754 binary16 ("float16") and bfloat16 conversions, bit-exact and platform
// independent: float -> half/bfloat16 rounds to nearest, ties to even, with overflow to
// infinity and correct subnormals; NaN stays NaN. Conversions back are exact.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fq::core {

std::uint16_t float_to_half(float f);
float half_to_float(std::uint16_t h);
std::uint16_t float_to_bfloat16(float f);
float bfloat16_to_float(std::uint16_t b);

void floats_to_halves(const float* in, std::size_t n, std::uint16_t* out);
void halves_to_floats(const std::uint16_t* in, std::size_t n, float* out);

}  // namespace fq::core

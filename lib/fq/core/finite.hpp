// Finiteness of float arrays, fast: the common case (every value finite) answered by integer
// tests on the exponent bits, which the compiler vectorises (std::isfinite in a loop with an
// early exit does not); callers look for the offending value only when there is one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fq::core {

// true if x[0..n) holds no NaN and no Inf (exponent bits all ones).
inline bool all_finite(const float* x, std::size_t n) {
    constexpr std::uint32_t k_exponent = 0x7f800000u;
    std::uint32_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t b;
        std::memcpy(&b, x + i, sizeof b);
        bad |= static_cast<std::uint32_t>((b & k_exponent) == k_exponent);
    }
    return bad == 0;
}

}  // namespace fq::core

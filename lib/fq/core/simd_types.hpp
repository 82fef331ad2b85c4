// GCC vector types for the run-time dispatched kernels: the same source compiles to SSE2,
// AVX2 or AVX-512 code under each function's target attribute (the build itself stays
// baseline x86-64). Wide vectors never cross a non-inlined function boundary by value (that
// would change the ABI): kernels take and return plain arrays.
#pragma once

#include <cstdint>

namespace fq::core::simd {

using VecF4 = float __attribute__((vector_size(16)));
using VecI4 = std::int32_t __attribute__((vector_size(16)));
using VecF8 = float __attribute__((vector_size(32)));
using VecI8 = std::int32_t __attribute__((vector_size(32)));
using VecF16 = float __attribute__((vector_size(64)));
using VecI16 = std::int32_t __attribute__((vector_size(64)));

template <class V>
constexpr int lanes = static_cast<int>(sizeof(V) / sizeof(float));

// v = x in every lane (0 + x: x, except that -0 becomes +0, which no comparison sees).
// GCC fills an integer vector built this way from a value that changes in a loop one lane
// at a time (16 masked moves under AVX-512): kernels advance such vectors by a vector add
// instead. Through a reference: a wide vector returned by value would change the ABI.
template <class V, class T>
[[gnu::always_inline]] inline void splat(V& v, T x) {
    v = V{} + x;
}

}  // namespace fq::core::simd

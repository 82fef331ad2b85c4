// Codec: the one interface every quantizer family implements (fib, scalar, qjl, ...).
//
// A codec maps each vector x in R^d independently to a fixed-size code of code_bytes()
// bytes (random access: vector i's code sits at offset i * code_bytes()). code_bits() is the
// exact information content of one code (header + payload bits, mixed-radix packing
// counted at log2 N bits per index); rate() = code_bits() / d bits per coordinate.
// encode/decode are const and thread-safe; callers parallelise over vectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fq::codecs {

class Codec {
public:
    virtual ~Codec() = default;

    virtual std::string family() const = 0;   // registry name: "fib", "scalar", ...
    virtual int dim() const = 0;               // d
    virtual std::size_t code_bytes() const = 0;  // fixed stride of one code in bytes
    virtual double code_bits() const = 0;      // exact bits of one code, headers included
    double rate() const { return code_bits() / dim(); }

    // x: (n, d) row-major float -> codes: (n, code_bytes()) bytes.
    virtual void encode(const float* x, std::size_t n, std::uint8_t* codes) const = 0;
    // codes: (n, code_bytes()) -> x: (n, d) row-major float.
    virtual void decode(const std::uint8_t* codes, std::size_t n, float* x) const = 0;
};

}  // namespace fq::codecs

// The per-vector norm header of the radial-angular codecs (block_vq: fib, scalar; tcq):
// what it stores (the norm nu, or the gain g = nu <z, z_hat> / ||z_hat||^2 that minimises the
// error of the decoded direction, SPEC 4.2) and how (float16 or float32, little-endian, at
// the start of the code).
#pragma once

#include <cstddef>
#include <cstdint>

namespace fq::codecs {

enum class NormHeader { norm, gain };        // what the header stores
enum class HeaderType { float16, float32 };  // how it is stored

struct HeaderOptions {
    NormHeader value = NormHeader::norm;    // nu, or the gain-corrected g
    HeaderType type = HeaderType::float16;  // storage type of the header
};

inline std::size_t header_bits(const HeaderOptions& h) {
    return h.type == HeaderType::float16 ? 16 : 32;
}

// The norms nu_i = ||x_i|| (double sums) and unit directions z_i = x_i / nu_i of n rows of d
// floats (a zero row: nu = 0, z = 0, coded with gain 0 and decoded to exactly zero).
void unit_directions(const float* x, std::size_t n, int d, double* nu, float* z);

// The header value: nu, or for NormHeader::gain the gain for the decoded direction z_hat of
// the unit direction z (n numbers; 0 when z_hat is 0 or nu is 0).
double header_value(const HeaderOptions& h, double nu, const float* z, const float* z_hat,
                    std::size_t n);

// Writes g at code[0..) (NumericError if it overflows a float16 header); reads it back.
void write_header(const HeaderOptions& h, double g, std::uint8_t* code);
float read_header(const HeaderOptions& h, const std::uint8_t* code);

}  // namespace fq::codecs

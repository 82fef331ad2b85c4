#include "fq/codecs/norm_header.hpp"

#include <cmath>
#include <cstring>
#include <string>

#include "fq/core/error.hpp"
#include "fq/core/half.hpp"

namespace fq::codecs {

namespace {
// nu = sqrt(s) and z = x / nu (z = 0 for a zero vector) once s = sum_j x_j^2 is known.
void finish_direction(const float* xi, int d, double s, double* nu, float* zi) {
    *nu = std::sqrt(s);
    const double inv = *nu > 0 ? 1.0 / *nu : 0.0;
    for (int j = 0; j < d; ++j) zi[j] = static_cast<float>(xi[j] * inv);
}
}  // namespace

void unit_directions(const float* x, std::size_t n, int d, double* nu, float* z) {
    const auto du = static_cast<std::size_t>(d);
    // Each sum runs over j in order in double (the squares of floats are exact in double);
    // eight vectors advance together so their eight dependent addition chains overlap (one
    // chain was latency-bound: 4 cycles per coordinate). Same bits as one vector at a time.
    constexpr std::size_t group = 8;
    std::size_t i = 0;
    for (; i + group <= n; i += group) {
        double s[group] = {};
        const float* xg = x + i * du;
        for (std::size_t j = 0; j < du; ++j)
            for (std::size_t g = 0; g < group; ++g) {
                const double v = xg[g * du + j];
                s[g] += v * v;
            }
        for (std::size_t g = 0; g < group; ++g)
            finish_direction(xg + g * du, d, s[g], nu + i + g, z + (i + g) * du);
    }
    for (; i < n; ++i) {
        const float* xi = x + i * du;
        double s = 0;
        for (int j = 0; j < d; ++j) s += static_cast<double>(xi[j]) * xi[j];
        finish_direction(xi, d, s, nu + i, z + i * du);
    }
}

double header_value(const HeaderOptions& h, double nu, const float* z, const float* z_hat,
                    std::size_t n) {
    if (h.value == NormHeader::norm || !(nu > 0)) return nu;
    double dot = 0, nn = 0;
    for (std::size_t t = 0; t < n; ++t) {
        dot += static_cast<double>(z[t]) * z_hat[t];
        nn += static_cast<double>(z_hat[t]) * z_hat[t];
    }
    return nn > 0 ? nu * dot / nn : 0.0;
}

void write_header(const HeaderOptions& h, double g, std::uint8_t* code) {
    if (h.type == HeaderType::float16) {
        const std::uint16_t v = core::float_to_half(static_cast<float>(g));
        if (std::isinf(core::half_to_float(v)))
            throw NumericError("norm " + std::to_string(g) +
                               " overflows the float16 header; use a float32 header");
        code[0] = static_cast<std::uint8_t>(v & 0xFF);
        code[1] = static_cast<std::uint8_t>(v >> 8);
    } else {
        const float f = static_cast<float>(g);
        std::uint32_t u;
        std::memcpy(&u, &f, 4);
        for (int t = 0; t < 4; ++t) code[t] = static_cast<std::uint8_t>(u >> (8 * t));
    }
}

float read_header(const HeaderOptions& h, const std::uint8_t* code) {
    if (h.type == HeaderType::float16)
        return core::half_to_float(static_cast<std::uint16_t>(code[0] | (code[1] << 8)));
    std::uint32_t u = 0;
    for (int t = 0; t < 4; ++t) u |= static_cast<std::uint32_t>(code[t]) << (8 * t);
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

}  // namespace fq::codecs

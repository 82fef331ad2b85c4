#include "fq/codecs/int_quant.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fq/core/error.hpp"
#include "fq/core/half.hpp"

namespace fq::codecs {

namespace {

std::uint16_t half_next_down(std::uint16_t h) {
    if (h == 0x0000) return 0x8001;  // +0 -> the negative subnormal nearest to 0
    return (h & 0x8000) ? static_cast<std::uint16_t>(h + 1) : static_cast<std::uint16_t>(h - 1);
}

std::uint16_t half_next_up(std::uint16_t h) {
    if (h == 0x8000) return 0x0001;  // -0 -> the positive subnormal nearest to 0
    return (h & 0x8000) ? static_cast<std::uint16_t>(h - 1) : static_cast<std::uint16_t>(h + 1);
}

void check_half(std::uint16_t h, double v) {
    if (!std::isfinite(core::half_to_float(h)))
        throw NumericError("int: value " + std::to_string(v) + " does not fit float16");
}

}  // namespace

std::uint16_t half_round_down(double v) {
    if (!std::isfinite(v)) throw NumericError("int: non-finite input value");
    std::uint16_t h = core::float_to_half(static_cast<float>(v));
    while (static_cast<double>(core::half_to_float(h)) > v) h = half_next_down(h);
    check_half(h, v);
    return h;
}

std::uint16_t half_round_up(double v) {
    if (!std::isfinite(v)) throw NumericError("int: non-finite input value");
    std::uint16_t h = core::float_to_half(static_cast<float>(v));
    while (static_cast<double>(core::half_to_float(h)) < v) h = half_next_up(h);
    check_half(h, v);
    return h;
}

const char* to_string(IntGrouping g) {
    return g == IntGrouping::per_token ? "per_token" : "per_channel";
}

IntGrouping int_grouping_from_string(const std::string& name) {
    if (name == "per_token") return IntGrouping::per_token;
    if (name == "per_channel") return IntGrouping::per_channel;
    throw UsageError("int: unknown grouping '" + name + "' (per_token | per_channel)");
}

IntQuantCodec::IntQuantCodec(IntQuantParams params) : m_params(params) {
    const int d = m_params.d, b = m_params.bits, G = m_params.group;
    require(d >= 1, "int: need d >= 1");
    require(b >= 1 && b <= 8, "int: need 1 <= bits <= 8, got " + std::to_string(b));
    require(G >= 1, "int: need group size G >= 1");
    std::size_t bits = 0;
    if (m_params.grouping == IntGrouping::per_token) {
        require(d % G == 0, "int: per-token group size " + std::to_string(G) +
                                " does not divide d = " + std::to_string(d));
        bits = static_cast<std::size_t>(d / G) * group_bits();
    } else {
        bits = static_cast<std::size_t>(d) * group_bits();  // one group per channel per block
    }
    m_bytes = (bits + 7) / 8;
}

double IntQuantCodec::code_bits() const {
    const double d = m_params.d, G = m_params.group;
    return d / G * static_cast<double>(group_bits());
}

void IntQuantCodec::encode_group(const float* v, std::size_t stride, BitWriter& w) const {
    const int G = m_params.group;
    const int L = (1 << m_params.bits) - 1;
    double lo = v[0], hi = v[0];
    for (int i = 0; i < G; ++i) {
        const double t = v[i * stride];
        if (!std::isfinite(t)) throw NumericError("int: non-finite input value");
        lo = std::min(lo, t);
        hi = std::max(hi, t);
    }
    const std::uint16_t m16 = half_round_down(lo);
    const double mh = core::half_to_float(m16);
    const std::uint16_t s16 = half_round_up((hi - mh) / L);
    const double sh = core::half_to_float(s16);
    w.put(m16, 16);
    w.put(s16, 16);
    for (int i = 0; i < G; ++i) {
        long q = 0;
        if (sh > 0) q = static_cast<long>(std::floor((v[i * stride] - mh) / sh + 0.5));
        q = std::clamp<long>(q, 0, L);
        w.put(static_cast<std::uint64_t>(q), m_params.bits);
    }
}

void IntQuantCodec::decode_group(BitReader& r, float* v, std::size_t stride) const {
    const double mh = core::half_to_float(static_cast<std::uint16_t>(r.get(16)));
    const double sh = core::half_to_float(static_cast<std::uint16_t>(r.get(16)));
    for (int i = 0; i < m_params.group; ++i)
        v[i * stride] = static_cast<float>(mh + static_cast<double>(r.get(m_params.bits)) * sh);
}

void IntQuantCodec::encode(const float* x, std::size_t n, std::uint8_t* codes) const {
    const std::size_t d = static_cast<std::size_t>(m_params.d),
                      G = static_cast<std::size_t>(m_params.group);
    const std::size_t B = block_vectors();
    require(n % B == 0, "int: per-channel groups need a multiple of G = " + std::to_string(G) +
                            " vectors, got " + std::to_string(n));
    for (std::size_t blk = 0; blk < n / B; ++blk) {
        std::uint8_t* code = codes + blk * m_bytes;
        std::memset(code, 0, m_bytes);
        BitWriter w(code, 0);
        const float* xb = x + blk * B * d;
        if (m_params.grouping == IntGrouping::per_token) {
            for (std::size_t g = 0; g < d / G; ++g) encode_group(xb + g * G, 1, w);
        } else {
            for (std::size_t c = 0; c < d; ++c) encode_group(xb + c, d, w);
        }
    }
}

void IntQuantCodec::decode(const std::uint8_t* codes, std::size_t n, float* x) const {
    const std::size_t d = static_cast<std::size_t>(m_params.d),
                      G = static_cast<std::size_t>(m_params.group);
    const std::size_t B = block_vectors();
    require(n % B == 0, "int: per-channel groups need a multiple of G = " + std::to_string(G) +
                            " vectors, got " + std::to_string(n));
    for (std::size_t blk = 0; blk < n / B; ++blk) {
        BitReader r(codes + blk * m_bytes, 0, m_bytes * 8);
        float* xb = x + blk * B * d;
        if (m_params.grouping == IntGrouping::per_token) {
            for (std::size_t g = 0; g < d / G; ++g) decode_group(r, xb + g * G, 1);
        } else {
            for (std::size_t c = 0; c < d; ++c) decode_group(r, xb + c, d);
        }
    }
}

}  // namespace fq::codecs

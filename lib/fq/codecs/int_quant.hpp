// IntQuantCodec: KIVI-style asymmetric min/max integer quantization in groups (SPEC 4.5), the
// baseline practitioners compare with. No rotation, no norm header.
//
// A group is G values v_1..v_G. With L = 2^b - 1 levels above the minimum:
//   zero point  m16 = float16(min v), rounded toward -inf,
//   scale       s16 = float16((max v - m16) / L), rounded toward +inf,
//   codes       q_i = clamp(round((v_i - m16) / s16), 0, L)   (b bits each),
//   decode      v_hat_i = m16 + q_i s16.
// The directed roundings make [m16, m16 + L s16] contain every v_i, so every element is
// reconstructed within half a step: |v_i - v_hat_i| <= s16 / 2 (up to the float rounding of
// the output). A group of equal values has s16 the smallest float16 >= (v - m16) / L
// (0 when v is a float16).
//
// Two groupings (KIVI: per-channel for keys, per-token for values):
//   per_token:   each vector is cut into d/G groups of G consecutive channels; per-vector
//                codes (block_vectors() = 1). Code: for each group, m16, s16 (16 bits each,
//                little-endian), then the G codes, LSB-first bit stream.
//   per_channel: a group is one channel across G consecutive tokens, so G vectors are coded
//                jointly: block_vectors() = G, and a code is the code of a block of G vectors
//                (see Codec::block_vectors): for channel c = 0..d-1, m16, s16, then the G
//                codes of tokens 0..G-1.
// Both: (32 + G b) bits per group, rate b + 32/G bits per coordinate, e.g. d = 128, b = 4,
// G = 32: 640 bits per vector (code_bytes() = 80 per token; 80 * 32 bytes per block of 32
// tokens per channel). b in 1..8; G must divide d (per_token) or is any G >= 1 (per_channel).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "fq/codecs/bitpack.hpp"
#include "fq/codecs/codec.hpp"

namespace fq::codecs {

enum class IntGrouping { per_token, per_channel };

const char* to_string(IntGrouping g);                           // "per_token" | "per_channel"
IntGrouping int_grouping_from_string(const std::string& name);  // throws UsageError

struct IntQuantParams {
    int d = 0;                                      // vector dimension
    int bits = 4;                                   // b, 1..8 (KIVI uses 2, 3, 4, 8)
    int group = 32;                                 // G, values per group
    IntGrouping grouping = IntGrouping::per_token;  // per_token (values) or per_channel (keys)
};

class IntQuantCodec : public Codec {
public:
    // Throws UsageError on bits outside 1..8, G < 1, or (per_token) G not dividing d.
    explicit IntQuantCodec(IntQuantParams params);

    std::string family() const override { return "int"; }
    int dim() const override { return m_params.d; }
    std::size_t code_bytes() const override { return m_bytes; }
    double code_bits() const override;  // per vector: d (b + 32/G)
    // Per vector: the float16 scale and minimum of its groups, 32 d / G.
    double side_bits() const override {
        return 32.0 * m_params.d / static_cast<double>(m_params.group);
    }
    std::size_t block_vectors() const override {
        return m_params.grouping == IntGrouping::per_channel
                   ? static_cast<std::size_t>(m_params.group)
                   : 1;
    }
    // n must be a multiple of block_vectors().
    void encode(const float* x, std::size_t n, std::uint8_t* codes) const override;
    void decode(const std::uint8_t* codes, std::size_t n, float* x) const override;

    const IntQuantParams& params() const { return m_params; }
    std::size_t group_bits() const {
        return 32 + static_cast<std::size_t>(m_params.group) * m_params.bits;
    }

private:
    IntQuantParams m_params;
    std::size_t m_bytes = 0;

    // v: G values at stride `stride` -> one group code appended to w / read from r.
    void encode_group(const float* v, std::size_t stride, BitWriter& w) const;
    void decode_group(BitReader& r, float* v, std::size_t stride) const;
};

// float16 rounding toward -inf / +inf (used for the zero point and the scale); NumericError
// if the value is not finite or overflows float16.
std::uint16_t half_round_down(double v);
std::uint16_t half_round_up(double v);

}  // namespace fq::codecs

// TcqCodec: the universal trellis-coded quantizer (family "tcq", issue 11). For x in R^d:
//   nu = ||x||, u = x / nu, z = Pi u (Pi: core::Rotation), the d numbers sqrt(d) z (about
//   unit variance: SPEC 2's source) are one tape of T = d / V steps of the tail-biting
//   bitshift trellis (codecs/trellis.hpp), searched by TrellisSearch::encode;
//   header g = nu or the gain for the decoded direction (codecs/norm_header.hpp);
//   decode: z_hat = path numbers / sqrt(d), x_hat = g Pi^T z_hat.
// Rate: exactly K / V bits per coordinate plus the header (code_bits = header + T K).
// A zero vector is coded with g = 0 and decodes to exactly zero.
//
// Code layout (code_bytes() per vector, little-endian): header (2 or 4 bytes), then the T K
// path bits, step i at bits [i K, i K + K) (LSB first), the last byte zero-padded.
#pragma once

#include <cstdint>
#include <string>

#include "fq/codecs/codec.hpp"
#include "fq/codecs/norm_header.hpp"
#include "fq/codecs/trellis.hpp"
#include "fq/core/rotation.hpp"

namespace fq::codecs {

struct TcqSpec {
    int d = 0;        // vector dimension, a multiple of trellis.V, d K / V >= L
    Trellis trellis;  // the universal trellis for dimension d
    core::RotationKind rotation = core::RotationKind::haar;  // Pi
    std::uint64_t rotation_seed = 0;                         // seed of Pi
};

class TcqCodec : public Codec {
public:
    // UsageError on inconsistent sizes.
    explicit TcqCodec(TcqSpec spec, HeaderOptions header = {});

    std::string family() const override { return "tcq"; }
    int dim() const override { return m_spec.d; }
    std::size_t code_bytes() const override { return m_bytes; }
    double code_bits() const override;
    double side_bits() const override { return static_cast<double>(header_bits(m_header)); }
    void encode(const float* x, std::size_t n, std::uint8_t* codes) const override;
    void decode(const std::uint8_t* codes, std::size_t n, float* x) const override;

    const TcqSpec& spec() const { return m_spec; }
    const HeaderOptions& header() const { return m_header; }
    const core::Rotation& rotation() const { return m_rotation; }
    const TrellisSearch& search() const { return m_search; }
    int steps() const { return m_search.steps(); }

private:
    TcqSpec m_spec;
    HeaderOptions m_header;
    core::Rotation m_rotation;
    TrellisSearch m_search;
    std::size_t m_bytes = 0;
    void encode_batch(const float* x, std::size_t n, std::uint8_t* codes) const;
    void decode_batch(const std::uint8_t* codes, std::size_t n, float* x) const;
};

}  // namespace fq::codecs

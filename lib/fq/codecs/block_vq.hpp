// BlockVqCodec: the universal radial-angular codec shared by `fib` and `scalar` (SPEC 2,
// 4.1, 4.2). For x in R^d:
//   nu = ||x||, u = x / nu, z = Pi u (Pi: core::Rotation),
//   z is cut into floor(d/k) blocks of k coordinates plus a tail block of r = d mod k,
//   each block is coded by its nearest codeword (main codebook, or tail codebook),
//   header g = nu (NormHeader::norm) or g = nu <z, z_hat> / ||z_hat||^2 (NormHeader::gain,
//   the MSE-optimal gain for the decoded direction), stored as float16 or float32;
//   decode: x_hat = g Pi^T z_hat.
// `scalar` is the case k = 1, N = 2^b with the Lloyd-Max levels. A zero vector is coded
// with g = 0 and decodes to exactly zero.
//
// Code layout (code_bytes() per vector, little-endian): header (2 or 4 bytes), then the
// block indices packed by codecs::IndexPacker (main blocks, then the tail block).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fq/codecs/bitpack.hpp"
#include "fq/codecs/codebook.hpp"
#include "fq/codecs/codec.hpp"
#include "fq/codecs/nearest.hpp"
#include "fq/codecs/norm_header.hpp"
#include "fq/codecs/tree_search.hpp"
#include "fq/core/rotation.hpp"

namespace fq::codecs {

struct BlockVqSpec {
    int d = 0;           // vector dimension
    BlockCodebook main;  // k = main.k; floor(d/k) blocks
    BlockCodebook tail;  // r = d mod k coordinates (N = 0 if r = 0)
    core::RotationKind rotation = core::RotationKind::haar;  // Pi
    std::uint64_t rotation_seed = 0;                         // seed of Pi
};

}  // namespace fq::codecs

namespace fq::codecs {

// How the encoder finds each block's codeword: exhaustive (the nearest, NearestCodeword) or
// tree (TreeSearch with its defaults: sqrt(N) parents, 4 probes for k <= 4 else 8; for large
// codebooks, at most a small distortion loss). The decoder does not depend on it.
enum class BlockSearch { exhaustive, tree };

class BlockVqCodec : public Codec {
public:
    // family: "fib" or "scalar" (reported by family()); spec.main.k >= 1, spec.d > spec.main.k
    // (or d == k == 1 never: d >= 2); search tree needs main.k >= 2. Throws UsageError on
    // inconsistent sizes.
    BlockVqCodec(std::string family, BlockVqSpec spec, HeaderOptions header = {},
                 BlockSearch search = BlockSearch::exhaustive);

    std::string family() const override { return m_family; }
    int dim() const override { return m_spec.d; }
    std::size_t code_bytes() const override { return m_bytes; }
    double code_bits() const override;
    double side_bits() const override {
        return static_cast<double>(m_header_bits);
    }  // the norm header
    void encode(const float* x, std::size_t n, std::uint8_t* codes) const override;
    void decode(const std::uint8_t* codes, std::size_t n, float* x) const override;

    const BlockVqSpec& spec() const { return m_spec; }
    const HeaderOptions& header() const { return m_header; }
    const core::Rotation& rotation() const { return m_rotation; }
    std::size_t header_bits() const { return m_header_bits; }
    int blocks() const { return m_blocks; }  // floor(d / k) main blocks
    BlockSearch search() const { return m_search; }

private:
    std::string m_family;
    BlockVqSpec m_spec;
    HeaderOptions m_header;
    core::Rotation m_rotation;
    BlockSearch m_search = BlockSearch::exhaustive;
    NearestCodeword m_main_search, m_tail_search;
    TreeSearch m_main_tree;                   // search == tree only
    std::vector<float> m_main_cw, m_tail_cw;  // float codewords for decoding
    std::vector<float> m_byte_table;          // 256 x m_byte_floats: a code byte's decoded floats
    int m_byte_floats = 0;                    // 0: no table
    int m_blocks = 0, m_r = 0;
    std::size_t m_header_bits = 0, m_main_bits = 0, m_tail_bits = 0, m_bytes = 0;
    IndexPacker m_main_pack, m_tail_pack;

    void encode_batch(const float* x, std::size_t n, std::uint8_t* codes) const;
    void decode_batch(const std::uint8_t* codes, std::size_t n, float* x) const;
};

}  // namespace fq::codecs

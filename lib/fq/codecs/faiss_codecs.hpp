// FAISS baselines (only built when FAISS is found, FQ_HAVE_FAISS): `faiss-pq` and `faiss-rq`,
// a product quantizer (M sub-quantizers of nbits bits) or a residual quantizer (M stages of
// nbits bits) trained by FAISS on calibration vectors: the data-trained reference a universal
// codebook is compared to at equal rate (issue 5).
//
// A code is FAISS's own code (ProductQuantizer / ResidualQuantizer code_size bytes, bit
// packed by FAISS); code_bits() = M * nbits exactly. encode = compute_codes, decode = decode.
// The trained quantizer is serialised as FAISS's write_index bytes of an IndexPQ /
// IndexResidualQuantizer (io/faiss_file.hpp stores them in a JSON file).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fq/codecs/codec.hpp"

namespace fq::codecs {

enum class FaissKind { pq, rq };
std::string to_string(FaissKind k);  // "pq", "rq"

struct FaissState;  // the FAISS index (pimpl: this header does not include FAISS)

class FaissCodec final : public Codec {
public:
    // Trains on x: (n, d) row-major. UsageError on bad parameters (d % M for pq, nbits 1..16,
    // n < 2^nbits).
    static FaissCodec train(FaissKind kind, int d, int M, int nbits, const float* x, std::size_t n);
    // From write_index bytes (to_bytes). CorruptError if FAISS cannot read them or they hold
    // another index type.
    static FaissCodec from_bytes(const std::vector<std::uint8_t>& bytes);
    std::vector<std::uint8_t> to_bytes() const;

    FaissKind kind() const { return m_kind; }
    int M() const { return m_M; }
    int nbits() const { return m_nbits; }

    std::string family() const override {
        return m_kind == FaissKind::pq ? "faiss-pq" : "faiss-rq";
    }
    int dim() const override { return m_d; }
    std::size_t code_bytes() const override { return m_code_bytes; }
    double code_bits() const override { return static_cast<double>(m_M) * m_nbits; }
    void encode(const float* x, std::size_t n, std::uint8_t* codes) const override;
    void decode(const std::uint8_t* codes, std::size_t n, float* x) const override;

private:
    explicit FaissCodec(std::shared_ptr<FaissState> s);
    std::shared_ptr<FaissState> m_state;
    FaissKind m_kind = FaissKind::pq;
    int m_d = 0, m_M = 0, m_nbits = 0;
    std::size_t m_code_bytes = 0;
};

}  // namespace fq::codecs

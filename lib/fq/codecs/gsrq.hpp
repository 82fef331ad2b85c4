// GsrqCodec: data-trained residual vector quantization (SPEC 4.6, seed 004). Not universal:
// its codebooks are learnt on calibration vectors (train/gskm.hpp: train_gsrq, with gain-shape
// or plain k-means). No rotation and no norm header: the raw vector is coded, as in seed 004,
// so the rate is exactly S log2(K) / D bits per coordinate.
//
// x in R^d is cut into P = d/D sub-vectors y_p of D consecutive coordinates. Stage s (0..S-1)
// has K centroids per position (or one codebook shared by all positions). A sub-vector is
// coded as S indices i_0..i_(S-1) with
//   y_hat = c^(0)_(i_0) + c^(1)_(i_1) + ... + c^(S-1)_(i_(S-1)),
// chosen stage by stage: greedy (beam B = 1) takes at stage s the centroid nearest to the
// residual y - (sum of the chosen c^(t), t < s); beam search (B > 1, as FAISS's
// ResidualQuantizer) keeps the B partial reconstructions of lowest ||y - y_hat||^2 after
// every stage (ties: lower beam, then lower centroid index) and returns the best after the
// last. With S = 2 the beam result is never worse than greedy for any vector (the greedy
// path is among its candidates); with S >= 3 it may be, though it is better on average.
// Distances are exact, in double. Decoding sums the centroids (in double, then float).
//
// Code layout: the P * S indices in the order (p, s) -> p S + s, packed by
// codecs::IndexPacker(K, P S) (mixed radix when K is not a power of two). Code bits are
// P S log2 K exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fq/codecs/bitpack.hpp"
#include "fq/codecs/codebook.hpp"
#include "fq/codecs/codec.hpp"

namespace fq::codecs {

// The trained codebooks (what the io layer serialises).
struct GsrqCodebooks {
    int d = 0;            // vector dimension, a multiple of D
    int D = 8;            // sub-vector dimension
    int K = 256;          // centroids per stage codebook, >= 2
    int S = 1;            // residual stages, >= 1
    bool shared = false;  // one codebook per stage for all positions (else one per position)
    std::string method;   // provenance: "gain-shape" | "plain" (not used for coding)
    // stages[s][p]: stage s codebook of position p (k = D, N = K); p < d/D, or p = 0 if shared.
    std::vector<std::vector<BlockCodebook>> stages;

    int positions() const { return D > 0 ? d / D : 0; }  // P
    const BlockCodebook& codebook(int s, int p) const { return stages[s][shared ? 0 : p]; }
};

// Checks sizes and finiteness; throws UsageError (CorruptError-worthy data is the io
// layer's business) naming the first problem.
void validate(const GsrqCodebooks& cb);

// Residual search of one sub-vector y: (D) double through the stage codebooks stages[0..S-1]
// (each k = D) with beam width B >= 1 -> idx: S indices; recon: (D) double, the
// reconstruction (may be nullptr). Returns ||y - recon||^2.
double rq_search(const std::vector<const BlockCodebook*>& stages, const double* y, int beam,
                 std::uint32_t* idx, double* recon);

class GsrqCodec : public Codec {
public:
    // beam: encoder beam width B >= 1 (1 = greedy); decoding does not depend on it.
    explicit GsrqCodec(GsrqCodebooks codebooks, int beam = 1);

    std::string family() const override { return "gsrq"; }
    int dim() const override { return m_cb.d; }
    std::size_t code_bytes() const override { return m_bytes; }
    double code_bits() const override { return m_pack.information_bits(); }
    void encode(const float* x, std::size_t n, std::uint8_t* codes) const override;
    void decode(const std::uint8_t* codes, std::size_t n, float* x) const override;

    const GsrqCodebooks& codebooks() const { return m_cb; }
    int beam() const { return m_beam; }
    // x: (n, d) float -> idx: (n, P S) indices in the code order (p S + s).
    void encode_indices(const float* x, std::size_t n, std::uint32_t* idx) const;
    // idx: (n, P S) -> x: (n, d) float.
    void decode_indices(const std::uint32_t* idx, std::size_t n, float* x) const;

private:
    GsrqCodebooks m_cb;
    int m_beam = 1;
    IndexPacker m_pack;
    std::size_t m_bytes = 0;
};

}  // namespace fq::codecs

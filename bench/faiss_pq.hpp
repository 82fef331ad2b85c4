// FaissPq: the FAISS baseline of fq-bench. A faiss::ProductQuantizer with M = d / k
// sub-quantizers of dimension dsub = k and nbits = log2 N, every sub-quantizer holding the
// SAME shared codebook (pq.centroids, layout (M, ksub, dsub)). compute_codes() on rotated
// unit vectors z then does exactly the search fq's BlockVqCodec does after its norm and
// rotation: per k-block the nearest of the N shared codewords.
//
// FAISS headers appear only in faiss_pq.cpp, which is compiled only when CMake found FAISS
// (FQ_HAVE_FAISS); fq_bench.cpp skips the FAISS rows otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace faiss {
struct ProductQuantizer;
struct LinearTransform;
}  // namespace faiss

namespace fq::bench {

class FaissPq {
public:
    // d % k == 0, N a power of two (2 <= N <= 2^16); codewords: (N, k) row-major float.
    // transposed: also fill pq.transposed_centroids (sync_transposed_centroids), which makes
    // compute_code use FAISS's transposed-centroid distance kernel for dsub < 16.
    FaissPq(int d, int k, int N, const float* codewords, bool transposed);
    ~FaissPq();
    FaissPq(const FaissPq&) = delete;
    FaissPq& operator=(const FaissPq&) = delete;

    std::size_t code_bytes() const;
    int sub_quantizers() const;  // M
    // z: (n, d) row-major float -> codes: (n, code_bytes()). FAISS's own OpenMP threading
    // (omp_get_max_threads()).
    void encode(const float* z, std::size_t n, std::uint8_t* codes) const;
    // codes -> z_hat: (n, d) row-major float (the concatenated codewords, no norm/rotation).
    void decode(const std::uint8_t* codes, std::size_t n, float* z) const;
    // Index of sub-quantizer m in one code (FAISS packs nbits per index LSB first).
    std::uint32_t index(const std::uint8_t* code, int m) const;

private:
    std::unique_ptr<faiss::ProductQuantizer> m_pq;
    int m_nbits = 0;
};

// FAISS's pre-transform of an IndexPreTransform(RandomRotation, PQ) pipeline with OUR
// rotation matrix: z = Pi (x / ||x||) by fvec_renorm_L2 and LinearTransform::apply_noalloc
// (one sgemm through the system BLAS). Measured to give FAISS's full-encode figure.
class FaissRotation {
public:
    // pi: (d, d) row-major, z = pi x.
    FaissRotation(int d, const double* pi);
    ~FaissRotation();
    FaissRotation(const FaissRotation&) = delete;
    FaissRotation& operator=(const FaissRotation&) = delete;
    // x: (n, d) row-major float -> z: (n, d); scratch: n * d floats.
    void apply(const float* x, std::size_t n, float* scratch, float* z) const;

private:
    std::unique_ptr<faiss::LinearTransform> m_lt;
    int m_d = 0;
};

// True when this build has the FAISS baseline.
bool faiss_available();
// "FAISS <version>" or "" without FAISS.
std::string faiss_version();

}  // namespace fq::bench

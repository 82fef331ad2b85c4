#include "faiss_pq.hpp"

#include <stdexcept>

#if FQ_HAVE_FAISS
#include <faiss/Index.h>
#include <faiss/VectorTransform.h>
#include <faiss/impl/ProductQuantizer.h>
#include <faiss/utils/distances.h>

#include <algorithm>
#include <bit>
#include <cstring>
#else
// Without FAISS the two types are never instantiated; complete (empty) definitions let
// the unique_ptr members be destroyed. FAISS is not linked then, so nothing conflicts.
namespace faiss {
struct ProductQuantizer {};
struct LinearTransform {};
}  // namespace faiss
#endif

namespace fq::bench {

#if FQ_HAVE_FAISS

FaissPq::FaissPq(int d, int k, int N, const float* codewords, bool transposed) {
    if (k <= 0 || d % k != 0) throw std::invalid_argument("FaissPq: k must divide d");
    if (N < 2 || N > (1 << 16) || !std::has_single_bit(static_cast<unsigned>(N)))
        throw std::invalid_argument("FaissPq: N must be a power of two in [2, 65536]");
    m_nbits = std::countr_zero(static_cast<unsigned>(N));
    const auto M = static_cast<std::size_t>(d / k);
    m_pq = std::make_unique<faiss::ProductQuantizer>(static_cast<std::size_t>(d), M,
                                                     static_cast<std::size_t>(m_nbits));
    // The identical shared codebook in every sub-quantizer: centroids (M, ksub, dsub).
    const std::size_t per = static_cast<std::size_t>(N) * static_cast<std::size_t>(k);
    for (std::size_t m = 0; m < M; ++m)
        std::copy(codewords, codewords + per, m_pq->centroids.begin() + static_cast<long>(m * per));
    if (transposed) m_pq->sync_transposed_centroids();
}

FaissPq::~FaissPq() = default;

std::size_t FaissPq::code_bytes() const {
    return m_pq->code_size;
}
int FaissPq::sub_quantizers() const {
    return static_cast<int>(m_pq->M);
}

void FaissPq::encode(const float* z, std::size_t n, std::uint8_t* codes) const {
    m_pq->compute_codes(z, codes, n);
}

void FaissPq::decode(const std::uint8_t* codes, std::size_t n, float* z) const {
    m_pq->decode(codes, z, n);
}

std::uint32_t FaissPq::index(const std::uint8_t* code, int m) const {
    // PQEncoderGeneric / PQEncoder8 / PQEncoder16 all give the LSB-first bit stream.
    const std::size_t pos = static_cast<std::size_t>(m) * static_cast<std::size_t>(m_nbits);
    std::uint32_t v = 0;
    for (int b = 0; b < m_nbits; ++b) {
        const std::size_t p = pos + static_cast<std::size_t>(b);
        v |= static_cast<std::uint32_t>((code[p / 8] >> (p % 8)) & 1u) << b;
    }
    return v;
}

FaissRotation::FaissRotation(int d, const double* pi) : m_d(d) {
    m_lt = std::make_unique<faiss::LinearTransform>(d, d, false);
    m_lt->A.assign(pi, pi + static_cast<std::size_t>(d) * static_cast<std::size_t>(d));
    m_lt->is_trained = true;
}

FaissRotation::~FaissRotation() = default;

void FaissRotation::apply(const float* x, std::size_t n, float* scratch, float* z) const {
    std::memcpy(scratch, x, sizeof(float) * n * static_cast<std::size_t>(m_d));
    faiss::fvec_renorm_L2(static_cast<std::size_t>(m_d), n, scratch);
    m_lt->apply_noalloc(static_cast<faiss::Index::idx_t>(n), scratch, z);
}

bool faiss_available() {
    return true;
}

std::string faiss_version() {
    return "FAISS " + std::to_string(FAISS_VERSION_MAJOR) + "." +
           std::to_string(FAISS_VERSION_MINOR) + "." + std::to_string(FAISS_VERSION_PATCH);
}

#else  // no FAISS: the bench never constructs a FaissPq

FaissPq::FaissPq(int, int, int, const float*, bool) {
    throw std::logic_error("fq-bench was built without FAISS");
}
FaissPq::~FaissPq() = default;
std::size_t FaissPq::code_bytes() const {
    return 0;
}
int FaissPq::sub_quantizers() const {
    return 0;
}
void FaissPq::encode(const float*, std::size_t, std::uint8_t*) const {}
void FaissPq::decode(const std::uint8_t*, std::size_t, float*) const {}
std::uint32_t FaissPq::index(const std::uint8_t*, int) const {
    return 0;
}
FaissRotation::FaissRotation(int, const double*) {
    throw std::logic_error("fq-bench was built without FAISS");
}
FaissRotation::~FaissRotation() = default;
void FaissRotation::apply(const float*, std::size_t, float*, float*) const {}
bool faiss_available() {
    return false;
}
std::string faiss_version() {
    return "";
}

#endif

}  // namespace fq::bench

#include "fq/codecs/faiss_codecs.hpp"

#include <faiss/IndexAdditiveQuantizer.h>
#include <faiss/IndexPQ.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include "fq/core/error.hpp"

namespace fq::codecs {

struct FaissState {
    std::unique_ptr<faiss::Index> index;
    const faiss::Quantizer* q = nullptr;  // index's pq or rq
};

std::string to_string(FaissKind k) {
    return k == FaissKind::pq ? "pq" : "rq";
}

FaissCodec::FaissCodec(std::shared_ptr<FaissState> s) : m_state(std::move(s)) {
    if (auto* p = dynamic_cast<const faiss::IndexPQ*>(m_state->index.get())) {
        m_kind = FaissKind::pq;
        m_state->q = &p->pq;
        m_M = static_cast<int>(p->pq.M);
        m_nbits = static_cast<int>(p->pq.nbits);
        m_code_bytes = p->pq.code_size;
    } else if (auto* r = dynamic_cast<const faiss::IndexResidualQuantizer*>(m_state->index.get())) {
        m_kind = FaissKind::rq;
        m_state->q = &r->rq;
        m_M = static_cast<int>(r->rq.M);
        if (r->rq.M == 0 || r->rq.nbits.empty()) throw CorruptError("faiss-rq: no stages");
        m_nbits = static_cast<int>(r->rq.nbits[0]);
        for (std::size_t b : r->rq.nbits)
            if (static_cast<int>(b) != m_nbits)
                throw CorruptError("faiss-rq: stages with different nbits are not supported");
        if (r->rq.search_type != faiss::AdditiveQuantizer::ST_decompress)
            throw CorruptError("faiss-rq: only search_type ST_decompress (no norm in codes)");
        m_code_bytes = r->rq.code_size;
    } else {
        throw CorruptError(
            "faiss codec: the FAISS index is neither IndexPQ nor "
            "IndexResidualQuantizer");
    }
    m_d = static_cast<int>(m_state->index->d);
    if (!m_state->index->is_trained) throw CorruptError("faiss codec: index is not trained");
    if (m_code_bytes * 8 < static_cast<std::size_t>(m_M) * static_cast<std::size_t>(m_nbits))
        throw CorruptError("faiss codec: code_size too small for M * nbits");
}

FaissCodec FaissCodec::train(FaissKind kind, int d, int M, int nbits, const float* x,
                             std::size_t n) {
    if (d < 1 || M < 1 || nbits < 1 || nbits > 16)
        throw UsageError("faiss-" + to_string(kind) + ": need d >= 1, M >= 1, nbits in 1..16");
    if (kind == FaissKind::pq && d % M != 0)
        throw UsageError("faiss-pq: d = " + std::to_string(d) +
                         " is not a multiple of M = " + std::to_string(M));
    if (n < (std::size_t{1} << nbits))
        throw UsageError("faiss-" + to_string(kind) +
                         ": need at least 2^nbits = " + std::to_string(1 << nbits) +
                         " training vectors, got " + std::to_string(n));
    auto s = std::make_shared<FaissState>();
    try {
        if (kind == FaissKind::pq)
            s->index = std::make_unique<faiss::IndexPQ>(d, M, nbits);
        else
            s->index = std::make_unique<faiss::IndexResidualQuantizer>(
                d, M, nbits, faiss::METRIC_L2, faiss::AdditiveQuantizer::ST_decompress);
        // Small calibration sets are the use case: no FAISS warning below 39 points per centroid.
        if (auto* p = dynamic_cast<faiss::IndexPQ*>(s->index.get()))
            p->pq.cp.min_points_per_centroid = 1;
        else if (auto* r = dynamic_cast<faiss::IndexResidualQuantizer*>(s->index.get()))
            r->rq.cp.min_points_per_centroid = 1;
        s->index->train(static_cast<faiss::Index::idx_t>(n), x);
    } catch (const faiss::FaissException& e) {
        throw UsageError(std::string("faiss training failed: ") + e.what());
    }
    return FaissCodec(std::move(s));
}

FaissCodec FaissCodec::from_bytes(const std::vector<std::uint8_t>& bytes) {
    auto s = std::make_shared<FaissState>();
    try {
        faiss::VectorIOReader r;
        r.data = bytes;
        s->index.reset(faiss::read_index(&r));
    } catch (const faiss::FaissException& e) {
        throw CorruptError(std::string("faiss index bytes unreadable: ") + e.what());
    }
    return FaissCodec(std::move(s));
}

std::vector<std::uint8_t> FaissCodec::to_bytes() const {
    faiss::VectorIOWriter w;
    faiss::write_index(m_state->index.get(), &w);
    return w.data;
}

void FaissCodec::encode(const float* x, std::size_t n, std::uint8_t* codes) const {
    if (n == 0) return;
    m_state->q->compute_codes(x, codes, n);
}

void FaissCodec::decode(const std::uint8_t* codes, std::size_t n, float* x) const {
    if (n == 0) return;
    m_state->q->decode(codes, x, n);
}

}  // namespace fq::codecs

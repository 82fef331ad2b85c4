#include "fq/codecs/gsrq.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>

#include "fq/core/error.hpp"

namespace fq::codecs {

void validate(const GsrqCodebooks& cb) {
    require(cb.D >= 1 && cb.d >= cb.D && cb.d % cb.D == 0,
            "gsrq: D = " + std::to_string(cb.D) + " must divide d = " + std::to_string(cb.d));
    require(cb.K >= 2, "gsrq: need K >= 2");
    require(cb.S >= 1, "gsrq: need S >= 1 stages");
    require(cb.stages.size() == static_cast<std::size_t>(cb.S),
            "gsrq: expected " + std::to_string(cb.S) + " stages, got " +
                std::to_string(cb.stages.size()));
    const std::size_t P = cb.shared ? 1 : static_cast<std::size_t>(cb.positions());
    for (const auto& st : cb.stages) {
        require(st.size() == P, "gsrq: expected " + std::to_string(P) + " codebooks per stage");
        for (const auto& c : st) {
            require(c.k == cb.D && c.N == cb.K &&
                        c.codewords.size() == static_cast<std::size_t>(cb.K) * cb.D,
                    "gsrq: a stage codebook is not (K, D)");
            for (double v : c.codewords)
                require(std::isfinite(v), "gsrq: non-finite codeword value");
        }
    }
}

double rq_search(const std::vector<const BlockCodebook*>& stages, const double* y, int beam,
                 std::uint32_t* idx, double* recon) {
    require(beam >= 1, "gsrq: beam width must be >= 1");
    const int D = stages.empty() ? 0 : stages[0]->k;
    const std::size_t S = stages.size();
    struct Beam {
        double err;
        std::vector<double> r;           // residual y - reconstruction
        std::vector<std::uint32_t> idx;  // indices so far
    };
    std::vector<Beam> beams(1);
    beams[0].r.assign(y, y + D);
    beams[0].err = 0;
    for (int t = 0; t < D; ++t) beams[0].err += y[t] * y[t];
    std::vector<std::tuple<double, std::uint32_t, std::uint32_t>> cand;  // (err, beam, k)
    for (std::size_t s = 0; s < S; ++s) {
        const BlockCodebook& cb = *stages[s];
        cand.clear();
        for (std::size_t b = 0; b < beams.size(); ++b) {
            const double* r = beams[b].r.data();
            for (int k = 0; k < cb.N; ++k) {
                const double* c = cb.codeword(k);
                double e = 0;
                for (int t = 0; t < D; ++t) {
                    const double u = r[t] - c[t];
                    e += u * u;
                }
                cand.emplace_back(e, static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(k));
            }
        }
        const std::size_t keep = std::min<std::size_t>(static_cast<std::size_t>(beam), cand.size());
        std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(keep),
                          cand.end());
        std::vector<Beam> next(keep);
        for (std::size_t j = 0; j < keep; ++j) {
            const auto [e, b, k] = cand[j];
            next[j].err = e;
            next[j].idx = beams[b].idx;
            next[j].idx.push_back(k);
            next[j].r = beams[b].r;
            const double* c = cb.codeword(static_cast<int>(k));
            for (int t = 0; t < D; ++t) next[j].r[t] -= c[t];
        }
        beams = std::move(next);
    }
    std::copy(beams[0].idx.begin(), beams[0].idx.end(), idx);
    if (recon)
        for (int t = 0; t < D; ++t) recon[t] = y[t] - beams[0].r[t];
    return beams[0].err;
}

GsrqCodec::GsrqCodec(GsrqCodebooks codebooks, int beam) : m_cb(std::move(codebooks)), m_beam(beam) {
    validate(m_cb);
    require(beam >= 1, "gsrq: beam width must be >= 1");
    m_pack = IndexPacker(static_cast<std::uint32_t>(m_cb.K),
                         static_cast<std::size_t>(m_cb.positions()) * m_cb.S);
    m_bytes = (m_pack.bits() + 7) / 8;
}

void GsrqCodec::encode_indices(const float* x, std::size_t n, std::uint32_t* idx) const {
    const int d = m_cb.d, D = m_cb.D, P = m_cb.positions(), S = m_cb.S;
    std::vector<double> y(D);
    std::vector<const BlockCodebook*> st(S);
    for (std::size_t v = 0; v < n; ++v) {
        for (int p = 0; p < P; ++p) {
            for (int s = 0; s < S; ++s) st[s] = &m_cb.codebook(s, p);
            for (int t = 0; t < D; ++t) {
                y[t] = x[v * d + p * D + t];
                if (!std::isfinite(y[t])) throw NumericError("gsrq: non-finite input value");
            }
            rq_search(st, y.data(), m_beam, idx + (v * P + p) * S, nullptr);
        }
    }
}

void GsrqCodec::decode_indices(const std::uint32_t* idx, std::size_t n, float* x) const {
    const int d = m_cb.d, D = m_cb.D, P = m_cb.positions(), S = m_cb.S;
    std::vector<double> y(D);
    for (std::size_t v = 0; v < n; ++v) {
        for (int p = 0; p < P; ++p) {
            std::fill(y.begin(), y.end(), 0.0);
            for (int s = 0; s < S; ++s) {
                const std::uint32_t k =
                    std::min<std::uint32_t>(idx[(v * P + p) * S + s], m_cb.K - 1);
                const double* c = m_cb.codebook(s, p).codeword(static_cast<int>(k));
                for (int t = 0; t < D; ++t) y[t] += c[t];
            }
            for (int t = 0; t < D; ++t) x[v * d + p * D + t] = static_cast<float>(y[t]);
        }
    }
}

void GsrqCodec::encode(const float* x, std::size_t n, std::uint8_t* codes) const {
    const std::size_t per = m_pack.count();
    std::vector<std::uint32_t> idx(per);
    for (std::size_t v = 0; v < n; ++v) {
        encode_indices(x + v * m_cb.d, 1, idx.data());
        std::memset(codes + v * m_bytes, 0, m_bytes);
        m_pack.pack(idx.data(), codes + v * m_bytes, 0);
    }
}

void GsrqCodec::decode(const std::uint8_t* codes, std::size_t n, float* x) const {
    const std::size_t per = m_pack.count();
    std::vector<std::uint32_t> idx(per);
    for (std::size_t v = 0; v < n; ++v) {
        m_pack.unpack(codes + v * m_bytes, 0, idx.data());
        decode_indices(idx.data(), 1, x + v * m_cb.d);
    }
}

}  // namespace fq::codecs

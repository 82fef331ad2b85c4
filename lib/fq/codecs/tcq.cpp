#include "fq/codecs/tcq.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "fq/core/error.hpp"

namespace fq::codecs {

namespace {
constexpr std::size_t k_batch = 64;  // vectors per rotation product
}

TcqCodec::TcqCodec(TcqSpec spec, HeaderOptions header) : m_spec(std::move(spec)), m_header(header) {
    const int d = m_spec.d, V = m_spec.trellis.V;
    require(d >= 2 && V >= 1 && d % V == 0, "tcq codec: d = " + std::to_string(d) +
                                                " is not a multiple of V = " + std::to_string(V));
    m_search = TrellisSearch(m_spec.trellis, d / V);
    m_rotation = core::Rotation(m_spec.rotation, d, m_spec.rotation_seed);
    const std::size_t bits = header_bits(m_header) + static_cast<std::size_t>(d / V) *
                                                         static_cast<std::size_t>(m_spec.trellis.K);
    m_bytes = (bits + 7) / 8;
}

double TcqCodec::code_bits() const {
    return static_cast<double>(header_bits(m_header)) +
           static_cast<double>(m_search.steps()) * m_spec.trellis.K;
}

void TcqCodec::encode(const float* x, std::size_t n, std::uint8_t* codes) const {
    for (std::size_t b = 0; b < n; b += k_batch) {
        const std::size_t m = std::min(k_batch, n - b);
        encode_batch(x + b * m_spec.d, m, codes + b * m_bytes);
    }
}

void TcqCodec::decode(const std::uint8_t* codes, std::size_t n, float* x) const {
    for (std::size_t b = 0; b < n; b += k_batch) {
        const std::size_t m = std::min(k_batch, n - b);
        decode_batch(codes + b * m_bytes, m, x + b * m_spec.d);
    }
}

void TcqCodec::encode_batch(const float* x, std::size_t n, std::uint8_t* codes) const {
    const int d = m_spec.d;
    const auto du = static_cast<std::size_t>(d);
    std::vector<double> nu(n);
    std::vector<float> z(n * du);
    unit_directions(x, n, d, nu.data(), z.data());
    m_rotation.forward(z.data(), n, z.data());
    const float scale = std::sqrt(static_cast<float>(d)), inv_scale = 1.0f / scale;
    TrellisWorkspace w;
    TrellisPath path;
    std::vector<float> t(du), zhat(du);
    const std::size_t hb = header_bits(m_header);
    for (std::size_t i = 0; i < n; ++i) {
        const float* zi = &z[i * du];
        for (std::size_t j = 0; j < du; ++j) t[j] = zi[j] * scale;
        m_search.encode(t.data(), w, path);
        if (m_header.value == NormHeader::gain) {
            m_search.decode(path, zhat.data());
            for (float& v : zhat) v *= inv_scale;
        }
        const double g = header_value(m_header, nu[i], zi, zhat.data(),
                                      m_header.value == NormHeader::gain ? du : 0);
        std::uint8_t* code = codes + i * m_bytes;
        std::memset(code, 0, m_bytes);
        write_header(m_header, g, code);
        pack_path(path, m_spec.trellis.K, code, hb);
    }
}

void TcqCodec::decode_batch(const std::uint8_t* codes, std::size_t n, float* x) const {
    const auto du = static_cast<std::size_t>(m_spec.d);
    const float inv_scale = 1.0f / std::sqrt(static_cast<float>(m_spec.d));
    const std::size_t hb = header_bits(m_header);
    std::vector<float> gain(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* code = codes + i * m_bytes;
        gain[i] = read_header(m_header, code);
        m_search.decode_packed(code, hb, inv_scale, x + i * du);
    }
    m_rotation.inverse(x, n, x);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < du; ++j) x[i * du + j] *= gain[i];
}

}  // namespace fq::codecs

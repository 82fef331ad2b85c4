#include "fq/codecs/head_center.hpp"

#include <string>

#include "fq/core/error.hpp"
#include "fq/core/half.hpp"

namespace fq::codecs {

HeadMeans::HeadMeans(std::size_t heads, std::size_t d)
    : m_heads(heads), m_d(d), m_sum(heads * d, 0.0) {}

void HeadMeans::add(const float* x, std::size_t n) {
    for (std::size_t h = 0; h < m_heads; ++h) {
        double* s = m_sum.data() + h * m_d;
        for (std::size_t t = 0; t < n; ++t) {
            const float* v = x + (h * n + t) * m_d;
            for (std::size_t j = 0; j < m_d; ++j) s[j] += static_cast<double>(v[j]);
        }
    }
    m_tokens += n;
}

std::vector<std::uint16_t> HeadMeans::float16() const {
    std::vector<std::uint16_t> out(m_sum.size(), 0);
    if (m_tokens == 0) return out;
    for (std::size_t i = 0; i < m_sum.size(); ++i) {
        const double mean = m_sum[i] / static_cast<double>(m_tokens);
        out[i] = core::float_to_half(static_cast<float>(mean));
        if ((out[i] & 0x7C00u) == 0x7C00u)
            throw NumericError("a per-head mean (" + std::to_string(mean) +
                               ") is beyond the float16 range");
    }
    return out;
}

namespace {
// x[h, t, :] += sign * center[h, :] (sign = -1 or +1; exact float additions).
void shift(float* x, std::size_t heads, std::size_t T, std::size_t d, const std::uint16_t* center,
           float sign) {
    std::vector<float> c(d);
    for (std::size_t h = 0; h < heads; ++h) {
        core::halves_to_floats(center + h * d, d, c.data());
        for (float& v : c) v *= sign;
        for (std::size_t t = 0; t < T; ++t) {
            float* v = x + (h * T + t) * d;
            for (std::size_t j = 0; j < d; ++j) v[j] += c[j];
        }
    }
}
}  // namespace

void subtract_center(float* x, std::size_t heads, std::size_t T, std::size_t d,
                     const std::uint16_t* center) {
    shift(x, heads, T, d, center, -1.0f);
}

void add_center(float* x, std::size_t heads, std::size_t T, std::size_t d,
                const std::uint16_t* center) {
    shift(x, heads, T, d, center, 1.0f);
}

void add_center_scores(const float* q, std::size_t nq, const std::uint16_t* center, std::size_t d,
                       std::size_t T, double* scores) {
    for (std::size_t i = 0; i < nq; ++i) {
        double s = 0;
        for (std::size_t j = 0; j < d; ++j)
            s += static_cast<double>(q[i * d + j]) *
                 static_cast<double>(core::half_to_float(center[j]));
        for (std::size_t t = 0; t < T; ++t) scores[i * T + t] += s;
    }
}

}  // namespace fq::codecs

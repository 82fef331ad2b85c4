#include "fq/metrics/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "fq/core/error.hpp"

namespace fq::metrics {

namespace {

// Neumaier-compensated sum: metric values are often near-equal (cosines close to 1) and
// numerous, where a plain running sum loses digits the standard error needs.
class CompensatedSum {
public:
    void add(double x) {
        const double t = m_sum + x;
        if (std::abs(m_sum) >= std::abs(x))
            m_comp += (m_sum - t) + x;
        else
            m_comp += (x - t) + m_sum;
        m_sum = t;
    }
    double value() const { return m_sum + m_comp; }

private:
    double m_sum = 0;
    double m_comp = 0;
};

}  // namespace

double quantile_sorted(std::span<const double> sorted, double p) {
    require(!sorted.empty(), "quantile: empty input");
    require(p >= 0.0 && p <= 1.0, "quantile: p must lie in [0, 1]");
    const double h = static_cast<double>(sorted.size() - 1) * p;
    const auto lo = static_cast<std::size_t>(std::floor(h));
    if (lo + 1 >= sorted.size()) return sorted.back();
    const double frac = h - static_cast<double>(lo);
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

Summary summarize(std::span<const double> values) {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> v;
    v.reserve(values.size());
    Summary s;
    for (double x : values) {
        if (std::isnan(x)) {
            ++s.skipped;
            continue;
        }
        if (!std::isfinite(x)) throw NumericError("summarize: infinite metric value");
        v.push_back(x);
    }
    s.n = v.size();
    if (v.empty()) {
        s.mean = s.std_error = s.min = s.p5 = s.median = s.max = nan;
        return s;
    }
    std::sort(v.begin(), v.end());
    const auto n = static_cast<double>(v.size());

    CompensatedSum sum;
    for (double x : v) sum.add(x);
    s.mean = sum.value() / n;

    if (v.size() >= 2) {
        CompensatedSum ss;
        for (double x : v) ss.add((x - s.mean) * (x - s.mean));
        s.std_error = std::sqrt(ss.value() / (n - 1.0)) / std::sqrt(n);
    } else {
        s.std_error = nan;
    }
    s.min = v.front();
    s.max = v.back();
    s.p5 = quantile_sorted(v, 0.05);
    s.median = quantile_sorted(v, 0.5);
    return s;
}

void Accumulator::add(std::span<const double> values) {
    m_values.insert(m_values.end(), values.begin(), values.end());
}

void Accumulator::merge(const Accumulator& other) {
    if (&other == this) {
        const std::vector<double> copy = m_values;
        add(copy);
    } else {
        add(other.m_values);
    }
}

}  // namespace fq::metrics

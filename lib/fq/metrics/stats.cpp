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
    double sum() const { return m_sum; }
    double comp() const { return m_comp; }

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

// ---- Moments -----------------------------------------------------------------------------

void Moments::add(std::span<const double> chunk) {
    CompensatedSum sum;
    Moments c;
    for (double x : chunk) {
        if (std::isnan(x)) {
            ++c.m_skipped;
            continue;
        }
        if (!std::isfinite(x)) throw NumericError("summarize: infinite metric value");
        sum.add(x);
        ++c.m_n;
    }
    if (c.m_n > 0) {
        c.m_sum = sum.sum();
        c.m_comp = sum.comp();
        const double mean = sum.value() / c.m_n;
        CompensatedSum ss;
        for (double x : chunk)
            if (!std::isnan(x)) ss.add((x - mean) * (x - mean));
        c.m_m2 = ss.value();
    }
    merge(c);
}

void Moments::merge(const Moments& other) {
    const Moments o = other;  // other may be *this
    m_skipped += o.m_skipped;
    if (o.m_n == 0) return;
    if (m_n == 0) {
        m_n = o.m_n;
        m_sum = o.m_sum;
        m_comp = o.m_comp;
        m_m2 = o.m_m2;
        return;
    }
    const double n = m_n + o.m_n;
    const double delta = o.mean() - mean();
    m_m2 = m_m2 + o.m_m2 + delta * delta * (m_n * o.m_n / n);
    // Two-sum: s + err is exactly m_sum + o.m_sum.
    const double s = m_sum + o.m_sum;
    const double b = s - m_sum;
    const double err = (m_sum - (s - b)) + (o.m_sum - b);
    m_comp = m_comp + o.m_comp + err;
    m_sum = s;
    m_n = n;
}

double Moments::mean() const {
    return m_n == 0 ? std::numeric_limits<double>::quiet_NaN() : (m_sum + m_comp) / m_n;
}

double Moments::std_error() const {
    if (m_n < 2) return std::numeric_limits<double>::quiet_NaN();
    return std::sqrt(m_m2 / (m_n - 1.0)) / std::sqrt(m_n);
}

std::array<double, 5> Moments::state() const {
    return {m_n, m_skipped, m_sum, m_comp, m_m2};
}

Moments Moments::from_state(const std::array<double, 5>& s) {
    require(s[0] >= 0 && s[1] >= 0 && s[0] == std::floor(s[0]) && s[1] == std::floor(s[1]),
            "Moments: invalid state");
    Moments m;
    m.m_n = s[0];
    m.m_skipped = s[1];
    m.m_sum = s[2];
    m.m_comp = s[3];
    m.m_m2 = s[4];
    return m;
}

// ---- LowTail -----------------------------------------------------------------------------

std::size_t LowTail::keep_for(double p_max, std::uint64_t n_max) {
    require(p_max >= 0.0 && p_max <= 1.0, "LowTail: p_max must lie in [0, 1]");
    if (n_max == 0) return 0;
    return static_cast<std::size_t>(std::floor(static_cast<double>(n_max - 1) * p_max)) + 2;
}

void LowTail::trim() {
    if (m_values.size() <= m_keep) return;
    std::nth_element(m_values.begin(), m_values.begin() + static_cast<std::ptrdiff_t>(m_keep),
                     m_values.end());
    m_values.resize(m_keep);
    // Every value kept is <= m_bound: a later value >= m_bound is never among the m_keep
    // smallest (or ties with one kept), so add() skips it.
    m_bound = m_keep == 0 ? -std::numeric_limits<double>::infinity()
                          : *std::max_element(m_values.begin(), m_values.end());
}

namespace {

// The size past which a tail of capacity keep is trimmed: a quarter more (amortised O(1) work
// per value added, little memory over the capacity).
std::size_t trim_limit(std::size_t keep) {
    return keep + std::max<std::size_t>(keep / 4, 4096);
}

}  // namespace

void LowTail::add(std::span<const double> values) {
    const std::size_t limit = trim_limit(m_keep);
    if (m_values.capacity() < limit + 1) m_values.reserve(limit + 1);  // no growth beyond
    for (double x : values) {
        if (std::isnan(x)) continue;
        if (!std::isfinite(x)) throw NumericError("summarize: infinite metric value");
        ++m_n;
        if (x >= m_bound) continue;
        m_values.push_back(x);
        if (m_values.size() > limit) trim();
    }
}

void LowTail::merge(const LowTail& other) {
    const std::vector<double> values = other.m_values;  // other may be *this
    const std::uint64_t n = other.m_n, keep = other.m_keep;
    if (m_keep == 0 && m_n == 0) m_keep = keep;
    require(n <= keep || keep >= m_keep, "LowTail::merge: the other tail keeps too few values");
    m_n += n;
    m_values.insert(m_values.end(), values.begin(), values.end());
    if (m_values.size() > trim_limit(m_keep)) trim();
}

double LowTail::min() const {
    if (m_n == 0) return std::numeric_limits<double>::quiet_NaN();
    require(!m_values.empty(), "LowTail: no values kept");
    return *std::min_element(m_values.begin(), m_values.end());
}

std::vector<double> LowTail::smallest() const {
    std::vector<double> v = m_values;
    if (v.size() > m_keep) {
        std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m_keep), v.end());
        v.resize(m_keep);
    }
    std::sort(v.begin(), v.end());
    return v;
}

double LowTail::quantile(double p) const {
    require(p >= 0.0 && p <= 1.0, "quantile: p must lie in [0, 1]");
    if (m_n == 0) return std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> v = smallest();
    if (v.size() == m_n) return quantile_sorted(v, p);
    // quantile_sorted's formula over all m_n values, from the order statistics kept.
    const double h = static_cast<double>(m_n - 1) * p;
    const auto lo = static_cast<std::size_t>(std::floor(h));
    require(lo + 1 < v.size(), "LowTail: quantile beyond the values kept");
    const double frac = h - static_cast<double>(lo);
    return v[lo] + frac * (v[lo + 1] - v[lo]);
}

LowTail LowTail::restore(std::size_t keep, std::uint64_t count, std::vector<double> smallest) {
    require(smallest.size() == std::min<std::uint64_t>(count, keep),
            "LowTail: restored values do not match the count");
    LowTail t(keep);
    t.m_n = count;
    t.m_values = std::move(smallest);
    return t;
}

}  // namespace fq::metrics

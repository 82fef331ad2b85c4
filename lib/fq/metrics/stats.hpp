// Summary statistics of per-item metric values (one value per vector, per query, ...).
//
// For values x_1..x_n (n items, NaN items left out and counted as skipped):
//   mean      = (1/n) sum x_i
//   std_error = s / sqrt(n),  s^2 = (1/(n-1)) sum (x_i - mean)^2   (sample standard deviation)
//   quantile(p) by linear interpolation between order statistics (Hyndman-Fan type 7, the
//   default of R and NumPy): with x_(0) <= ... <= x_(n-1) and h = (n-1) p,
//   quantile(p) = x_(floor h) + (h - floor h) (x_(floor h + 1) - x_(floor h)).
//   p5 = quantile(0.05), median = quantile(0.5), min = x_(0), max = x_(n-1).
// The standard error treats the items as independent samples.
//
// Determinism: every sum runs over the sorted values in ascending order, so a Summary
// depends only on the multiset of values, never on the order they were added or merged in,
// nor on the thread count that produced them.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace fq::metrics {

struct Summary {
    std::size_t n = 0;        // items summarised (NaN items excluded)
    std::size_t skipped = 0;  // NaN items left out (values a metric defines as undefined)
    double mean = 0;          // NaN when n = 0
    double std_error = 0;     // sample std / sqrt(n); NaN when n < 2
    double min = 0;           // NaN when n = 0
    double p5 = 0;            // quantile(0.05), type 7; NaN when n = 0
    double median = 0;        // quantile(0.5), type 7; NaN when n = 0
    double max = 0;           // NaN when n = 0
};

// Type-7 quantile of sorted: ascending, non-empty, no NaN; p in [0, 1].
double quantile_sorted(std::span<const double> sorted, double p);

// Summary of values: n doubles in any order. NaN entries are skipped (and counted);
// +-Inf throws NumericError.
Summary summarize(std::span<const double> values);

// Mergeable collection of per-item values: keeps every value (8 bytes per item) so that
// quantiles stay exact after aggregating per head -> per layer -> overall.
class Accumulator {
public:
    void add(double value) { m_values.push_back(value); }
    void add(std::span<const double> values);
    void merge(const Accumulator& other);  // appends other's values (other may be *this)

    std::size_t size() const { return m_values.size(); }  // items added, NaN included
    const std::vector<double>& values() const { return m_values; }
    Summary summary() const { return summarize(m_values); }

private:
    std::vector<double> m_values;
};

}  // namespace fq::metrics

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

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
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

// Mean and standard error of a stream of values in bounded memory (the Summary's mean and
// std_error without keeping the values). State: the count n, the sum as a compensated pair
// (sum + comp) and M2 = sum (x_i - mean)^2. A chunk of values is added in two passes (its
// mean, then its deviations, Neumaier-compensated as summarize() does); two states combine
// by the pairwise update of Chan, Golub and LeVeque,
//   M2 = M2_a + M2_b + (mean_b - mean_a)^2 n_a n_b / (n_a + n_b),
// and the sums by an exact two-sum. The result depends on the chunks and the order they
// are merged in, which the caller fixes (chunks of fixed size, merged in chunk order), never
// on the thread count. It agrees with summarize() over the same values to rounding: the
// mean is the compensated sum / n (almost always the same bits), M2 differs by a few ulps.
class Moments {
public:
    // One chunk of values: NaN entries are skipped and counted, +-Inf throws NumericError.
    void add(std::span<const double> chunk);
    void merge(const Moments& other);  // other may be *this

    std::size_t count() const { return static_cast<std::size_t>(m_n); }  // NaN excluded
    std::size_t skipped() const { return static_cast<std::size_t>(m_skipped); }
    double mean() const;       // NaN when count = 0
    double std_error() const;  // sqrt(M2 / (n - 1)) / sqrt(n); NaN when count < 2

    // The state as doubles (n, skipped, sum, comp, M2), to move it between processes.
    std::array<double, 5> state() const;
    static Moments from_state(const std::array<double, 5>& s);

private:
    double m_n = 0, m_skipped = 0;  // counts, exact in a double up to 2^53
    double m_sum = 0, m_comp = 0;   // sum of the values = m_sum + m_comp
    double m_m2 = 0;                // sum of squared deviations from the mean
};

// The smallest values of a stream: its exact minimum and type-7 quantiles (as summarize()
// computes them, same bits) for p up to p_max, in memory for `keep` values instead of all.
// quantile(p) over n values reads the order statistics floor((n - 1) p) and the one after,
// so keep = keep_for(p_max, n_max) = floor((n_max - 1) p_max) + 2 suffices for every
// p <= p_max while at most n_max values are added. NaN values are skipped. The result
// depends only on the multiset of values added, never on their order or on merging.
class LowTail {
public:
    LowTail() = default;  // keeps nothing until merged with a tail (takes its capacity)
    explicit LowTail(std::size_t keep) : m_keep(keep) {}
    static std::size_t keep_for(double p_max, std::uint64_t n_max);

    void add(std::span<const double> values);
    // Appends other's values. UsageError if other keeps fewer values than this tail needs
    // (other.capacity() < capacity() while other dropped some).
    void merge(const LowTail& other);

    std::size_t capacity() const { return m_keep; }
    std::uint64_t count() const { return m_n; }  // values added (NaN excluded)
    double min() const;                          // NaN when count = 0
    // Type-7 quantile of every value added (quantile_sorted); NaN when count = 0.
    // UsageError if it needs an order statistic beyond the values kept.
    double quantile(double p) const;
    // The smallest min(count, capacity) values, ascending (to move a tail between
    // processes: restore(capacity(), count(), smallest())).
    std::vector<double> smallest() const;
    static LowTail restore(std::size_t keep, std::uint64_t count, std::vector<double> smallest);

private:
    void trim();  // keeps the m_keep smallest of m_values

    std::size_t m_keep = 0;
    std::uint64_t m_n = 0;
    std::vector<double> m_values;  // the min(m_n, m_keep) smallest values, among a few more
                                   // (trimmed when it grows a quarter past m_keep)
    double m_bound = std::numeric_limits<double>::infinity();  // after a trim: the largest kept
};

}  // namespace fq::metrics

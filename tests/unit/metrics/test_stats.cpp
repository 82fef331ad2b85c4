#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "fq/core/error.hpp"
#include "fq/core/rng.hpp"
#include "fq/metrics/stats.hpp"

using fq::metrics::Accumulator;
using fq::metrics::quantile_sorted;
using fq::metrics::summarize;
using fq::metrics::Summary;

TEST_CASE("summarize: mean, standard error and type-7 quantiles by hand") {
    // sorted {1, 3, 4, 7}: mean 3.75, squared deviations 7.5625 + 0.5625 + 0.0625 + 10.5625
    // = 18.75, sample variance 6.25, sd 2.5, se 2.5 / sqrt(4) = 1.25.
    // p5: h = 3 * 0.05 = 0.15 -> 1 + 0.15 * (3 - 1) = 1.3; median: h = 1.5 -> 3.5.
    const std::vector<double> v = {4, 1, 7, 3};
    const Summary s = summarize(v);
    CHECK(s.n == 4);
    CHECK(s.skipped == 0);
    CHECK(s.mean == doctest::Approx(3.75).epsilon(1e-15));
    CHECK(s.std_error == doctest::Approx(1.25).epsilon(1e-15));
    CHECK(s.min == 1.0);
    CHECK(s.max == 7.0);
    CHECK(s.p5 == doctest::Approx(1.3).epsilon(1e-15));
    CHECK(s.median == doctest::Approx(3.5).epsilon(1e-15));
}

TEST_CASE("summarize: 1..10 against R's quantile(type = 7) and sd()") {
    std::vector<double> v;
    for (int i = 10; i >= 1; --i) v.push_back(i);
    const Summary s = summarize(v);
    CHECK(s.mean == doctest::Approx(5.5).epsilon(1e-15));
    // sd(1:10) = sqrt(55 / 6)
    CHECK(s.std_error == doctest::Approx(std::sqrt(55.0 / 6.0) / std::sqrt(10.0)).epsilon(1e-14));
    CHECK(s.p5 == doctest::Approx(1.45).epsilon(1e-15));  // h = 0.45
    CHECK(s.median == doctest::Approx(5.5).epsilon(1e-15));
    CHECK(quantile_sorted(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9) ==
          doctest::Approx(9.1).epsilon(1e-15));
}

TEST_CASE("summarize: NaN items are skipped and counted, infinities are an error") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Summary s = summarize(std::vector<double>{4, nan, 1, 7, nan, 3});
    CHECK(s.n == 4);
    CHECK(s.skipped == 2);
    CHECK(s.mean == doctest::Approx(3.75).epsilon(1e-15));
    CHECK(s.std_error == doctest::Approx(1.25).epsilon(1e-15));
    CHECK_THROWS_AS(summarize(std::vector<double>{1, INFINITY}), fq::NumericError);
}

TEST_CASE("summarize: empty and single-item inputs") {
    const Summary e = summarize(std::vector<double>{});
    CHECK(e.n == 0);
    CHECK(std::isnan(e.mean));
    CHECK(std::isnan(e.p5));
    const Summary one = summarize(std::vector<double>{2.5});
    CHECK(one.n == 1);
    CHECK(one.mean == 2.5);
    CHECK(one.p5 == 2.5);
    CHECK(one.median == 2.5);
    CHECK(std::isnan(one.std_error));
    CHECK_THROWS_AS(quantile_sorted(std::vector<double>{}, 0.5), fq::UsageError);
    CHECK_THROWS_AS(quantile_sorted(std::vector<double>{1.0}, 1.5), fq::UsageError);
}

TEST_CASE("summarize: naive two-pass formulas on random values") {
    fq::core::Rng rng(7);
    std::vector<double> v(257);
    for (auto& x : v) x = 0.3 + 2.0 * rng.normal();  // N(0.3, 2^2)
    double mean = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    double ss = 0;
    for (double x : v) ss += (x - mean) * (x - mean);
    const double se = std::sqrt(ss / 256.0) / std::sqrt(257.0);
    std::vector<double> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    // type 7 at p = 0.05 with n = 257: h = 12.8
    const double p5 = sorted[12] + 0.8 * (sorted[13] - sorted[12]);
    const Summary s = summarize(v);
    CHECK(s.mean == doctest::Approx(mean).epsilon(1e-12));
    CHECK(s.std_error == doctest::Approx(se).epsilon(1e-12));
    CHECK(s.p5 == doctest::Approx(p5).epsilon(1e-12));
    CHECK(s.median == sorted[128]);
    CHECK(s.min == sorted.front());
    CHECK(s.max == sorted.back());
}

TEST_CASE("Accumulator: merging in any order gives byte-identical summaries") {
    fq::core::Rng rng(11);
    const auto u = [&rng] { return 0.9 + 0.1 * rng.uniform(); };  // uniform in (0.9, 1)
    Accumulator a, b, c;
    for (int i = 0; i < 1000; ++i) a.add(u());
    for (int i = 0; i < 333; ++i) b.add(u());
    for (int i = 0; i < 77; ++i) c.add(u());

    Accumulator abc, cba;
    abc.merge(a);
    abc.merge(b);
    abc.merge(c);
    cba.merge(c);
    cba.merge(b);
    cba.merge(a);
    CHECK(abc.size() == 1410);
    const Summary s1 = abc.summary(), s2 = cba.summary();
    CHECK(std::memcmp(&s1, &s2, sizeof(Summary)) == 0);

    Accumulator all;
    all.add(a.values());
    all.add(b.values());
    all.add(c.values());
    const Summary s3 = all.summary();
    CHECK(std::memcmp(&s1, &s3, sizeof(Summary)) == 0);

    Accumulator self = c;
    self.merge(self);
    CHECK(self.size() == 154);
    CHECK(self.summary().mean == doctest::Approx(c.summary().mean).epsilon(1e-15));
}

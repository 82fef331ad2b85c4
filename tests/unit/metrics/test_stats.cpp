#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>
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

TEST_CASE("Moments: the summary's mean and standard error from chunks, merged in a fixed order") {
    fq::core::Rng rng(13);
    std::vector<double> v(10007);
    for (auto& x : v) x = 0.95 + 0.01 * rng.normal();  // cosine-like: near-equal values
    v[17] = std::numeric_limits<double>::quiet_NaN();
    const Summary s = summarize(v);
    const auto chunked = [&](std::size_t chunk) {
        fq::metrics::Moments m;
        for (std::size_t i = 0; i < v.size(); i += chunk)
            m.add(std::span(v).subspan(i, std::min(chunk, v.size() - i)));
        return m;
    };
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{1024}, v.size()}) {
        CAPTURE(chunk);
        const fq::metrics::Moments m = chunked(chunk);
        CHECK(m.count() == s.n);
        CHECK(m.skipped() == 1);
        CHECK(m.mean() == doctest::Approx(s.mean).epsilon(1e-15));
        CHECK(m.std_error() == doctest::Approx(s.std_error).epsilon(1e-12));
    }
    // The same chunks grouped differently before merging: the same to rounding.
    fq::metrics::Moments a, b, ab, whole = chunked(1024);
    for (std::size_t i = 0; i < 5 * 1024; i += 1024) a.add(std::span(v).subspan(i, 1024));
    for (std::size_t i = 5 * 1024; i < v.size(); i += 1024)
        b.add(std::span(v).subspan(i, std::min<std::size_t>(1024, v.size() - i)));
    ab.merge(a);
    ab.merge(b);
    CHECK(ab.mean() == doctest::Approx(whole.mean()).epsilon(1e-15));
    CHECK(ab.std_error() == doctest::Approx(whole.std_error()).epsilon(1e-13));
    const fq::metrics::Moments copy = fq::metrics::Moments::from_state(ab.state());
    CHECK(std::memcmp(&copy, &ab, sizeof copy) == 0);
    fq::metrics::Moments self = a;
    self.merge(self);
    CHECK(self.count() == 2 * a.count());
    CHECK(self.mean() == doctest::Approx(a.mean()).epsilon(1e-15));

    fq::metrics::Moments empty, one;
    CHECK(std::isnan(empty.mean()));
    one.add(std::vector<double>{2.5});
    CHECK(one.mean() == 2.5);
    CHECK(std::isnan(one.std_error()));
    CHECK_THROWS_AS(one.add(std::vector<double>{INFINITY}), fq::NumericError);
}

TEST_CASE("LowTail: the summary's exact p5 and minimum from the smallest values") {
    fq::core::Rng rng(21);
    for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{21}, std::size_t{4099},
                          std::size_t{100003}}) {
        CAPTURE(n);
        std::vector<double> v(n);
        for (auto& x : v) x = rng.normal();
        const Summary s = summarize(v);
        // Pieces merged into a tail sized for all n values (as layers into the total).
        const std::size_t keep = fq::metrics::LowTail::keep_for(0.05, n);
        fq::metrics::LowTail all(keep);
        for (std::size_t i = 0; i < n; i += 997) {
            fq::metrics::LowTail piece(keep);
            piece.add(std::span(v).subspan(i, std::min<std::size_t>(997, n - i)));
            all.merge(piece);
        }
        CHECK(all.count() == n);
        CHECK(all.quantile(0.05) == s.p5);
        CHECK(all.min() == s.min);
        fq::metrics::LowTail direct(keep);  // one stream: trimmed, later values skipped
        direct.add(v);
        CHECK(direct.count() == n);
        CHECK(direct.quantile(0.05) == s.p5);
        CHECK(direct.min() == s.min);
        CHECK(all.smallest().size() == std::min(n, keep));
        const fq::metrics::LowTail back =
            fq::metrics::LowTail::restore(all.capacity(), all.count(), all.smallest());
        CHECK(back.quantile(0.05) == s.p5);
        fq::metrics::LowTail adopted;  // a default tail takes the capacity it is merged with
        adopted.merge(back);
        CHECK(adopted.quantile(0.05) == s.p5);
        if (n > 100) {
            CHECK(keep < n / 10);
            CHECK_THROWS_AS(all.quantile(0.5), fq::UsageError);  // beyond the values kept
        }
    }
    fq::metrics::LowTail t(fq::metrics::LowTail::keep_for(0.05, 10));
    CHECK(std::isnan(t.quantile(0.05)));
    CHECK(std::isnan(t.min()));
    t.add(std::vector<double>{3, std::numeric_limits<double>::quiet_NaN(), 1, 2});
    CHECK(t.count() == 3);
    CHECK(t.min() == 1);
    CHECK(t.quantile(0.05) == summarize(std::vector<double>{3, 1, 2}).p5);
    fq::metrics::LowTail small(2), big(fq::metrics::LowTail::keep_for(0.05, 1000));
    std::vector<double> many(100);
    for (std::size_t i = 0; i < many.size(); ++i) many[i] = static_cast<double>(i);
    small.add(many);
    CHECK_THROWS_AS(big.merge(small), fq::UsageError);  // small dropped values big needs
}

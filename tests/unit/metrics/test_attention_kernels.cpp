#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fq/core/rng.hpp"
#include "fq/metrics/attention.hpp"
#include "fq/metrics/attention_kernels.hpp"

#include "metrics/attention_test_support.hpp"
#include "test_support.hpp"

using namespace fq::metrics;
using namespace fq::metrics::detail;
using fq::test::randn;
using fq::test::same_bytes;

namespace {

// Distance in units in the last place between two finite floats of the same sign.
std::int64_t ulps(float a, float b) {
    std::int32_t ia, ib;
    std::memcpy(&ia, &a, sizeof ia);
    std::memcpy(&ib, &b, sizeof ib);
    return std::abs(static_cast<std::int64_t>(ia) - static_cast<std::int64_t>(ib));
}

struct Problem {
    std::size_t T, d;
    std::vector<float> q, k, kh, v, vh;
};

// Random head with noise on the decoded keys and values; every 40th key repeats the one 3
// before it (ties in both rankings).
Problem make_problem(std::size_t T, std::size_t d, std::uint64_t seed, float noise) {
    Problem p{
        T, d, randn(T * d, seed, 1.5f), randn(T * d, seed + 1, 1.5f), {}, randn(T * d, seed + 2),
        {}};
    const auto nk = randn(T * d, seed + 3, noise), nv = randn(T * d, seed + 4, noise);
    for (std::size_t j = 39; j < T; j += 40)
        for (std::size_t i = 0; i < d; ++i) p.k[j * d + i] = p.k[(j - 3) * d + i];
    p.kh.resize(T * d);
    p.vh.resize(T * d);
    for (std::size_t i = 0; i < T * d; ++i) {
        p.kh[i] = p.k[i] + nk[i];
        p.vh[i] = p.v[i] + nv[i];
    }
    for (std::size_t j = 39; j < T; j += 40)
        for (std::size_t i = 0; i < d; ++i) p.kh[j * d + i] = p.kh[(j - 3) * d + i];
    return p;
}

}  // namespace

TEST_CASE("attention kernels: the scalar path is always there, the default is the widest") {
    const auto isas = supported_isas();
    REQUIRE(!isas.empty());
    CHECK(isas.front() == KernelIsa::scalar);
    CHECK(default_isa() == isas.back());
    std::string names;
    for (KernelIsa isa : isas) names += std::string(" ") + isa_name(isa);
    MESSAGE("attention kernel paths on this CPU:" << names);
}

TEST_CASE("attention kernels: every instruction-set path gives the scalar path's bits") {
    const auto isas = supported_isas();
    struct Case {
        std::size_t T, d;
        float noise;
        bool with_v;
        std::vector<std::size_t> positions;
    };
    // d = 128 (the usual head), d = 24 and 5 (column remainders of every vector width), noise
    // 40 (the far-regime formulas), T = 613 (three key tiles, the last partial), positions
    // subsets, no values.
    const std::vector<Case> cases = {
        {300, 128, 0.05f, true, {}},
        {613, 24, 0.3f, true, {}},
        {613, 24, 40.0f, true, select_positions(613, 7, 500)},
        {97, 5, 0.5f, false, {}},
        {520, 16, 1e-3f, true, {0, 5, 255, 256, 519}},
    };
    for (std::size_t ci = 0; ci < cases.size(); ++ci) {
        const Case& c = cases[ci];
        CAPTURE(ci);
        const Problem p = make_problem(c.T, c.d, 40 + ci, c.noise);
        AttentionOptions opts;
        opts.positions = c.positions;
        const float* v = c.with_v ? p.v.data() : nullptr;
        const float* vh = c.with_v ? p.vh.data() : nullptr;
        const AttentionMetrics ref = attention_metrics_isa(
            KernelIsa::scalar, p.q.data(), p.k.data(), v, p.kh.data(), vh, c.T, c.d, opts);
        // approximate scores: q . k_hat in double, times 1.01
        std::vector<double> s_hat(c.T * c.T, 0.0);
        for (std::size_t t = 0; t < c.T; ++t)
            for (std::size_t j = 0; j <= t; ++j)
                for (std::size_t i = 0; i < c.d; ++i)
                    s_hat[t * c.T + j] +=
                        1.01 * double(p.q[t * c.d + i]) * double(p.kh[j * c.d + i]);
        const ScoreRowFn rows = score_rows_from_matrix(s_hat.data(), c.T);
        const AttentionMetrics ref_s = attention_metrics_from_scores_isa(
            KernelIsa::scalar, p.q.data(), p.k.data(), v, rows, vh, c.T, c.d, opts);
        CHECK(attention_metrics(p.q.data(), p.k.data(), v, p.kh.data(), vh, c.T, c.d, opts)
                  .kl.size() == ref.kl.size());
        for (KernelIsa isa : isas) {
            CAPTURE(isa_name(isa));
            CHECK(same_bytes(attention_metrics_isa(isa, p.q.data(), p.k.data(), v, p.kh.data(), vh,
                                                   c.T, c.d, opts),
                             ref));
            CHECK(same_bytes(attention_metrics_from_scores_isa(isa, p.q.data(), p.k.data(), v, rows,
                                                               vh, c.T, c.d, opts),
                             ref_s));
        }
    }
}

TEST_CASE("attention kernels: exp within 2 ulp, the same bits on every path") {
    std::vector<float> x;
    for (float t = -87.0f; t <= 88.0f; t += 0.001953125f) x.push_back(t);  // 2^-9 grid
    fq::core::Rng rng(3);
    for (int i = 0; i < 200000; ++i) x.push_back(static_cast<float>(-87.0 + 175.0 * rng.uniform()));
    for (float t : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-8f, -1e-8f, 88.0f, -87.0f}) x.push_back(t);
    const std::vector<float> below = {-87.0001f, -88.0f, -100.0f, -1e30f};

    std::vector<float> ref(x.size()), got(x.size()), zero(below.size());
    kernels(KernelIsa::scalar).exp(x.data(), ref.data(), x.size());
    std::int64_t worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const float exact = static_cast<float>(std::exp(static_cast<double>(x[i])));
        worst = std::max(worst, ulps(ref[i], exact));
    }
    MESSAGE("largest exp error: " << worst << " ulp");
    CHECK(worst <= 2);
    CHECK(ref[x.size() - 8] == 1.0f);  // exp(0) = 1 exactly
    kernels(KernelIsa::scalar).exp(below.data(), zero.data(), below.size());
    for (float z : zero) CHECK(z == 0.0f);

    for (KernelIsa isa : supported_isas()) {
        CAPTURE(isa_name(isa));
        kernels(isa).exp(x.data(), got.data(), x.size());
        CHECK(same_bytes(got, ref));
    }
}

TEST_CASE("attention kernels: top-5 by value then lowest index, in any offer order") {
    const std::vector<std::pair<float, std::uint32_t>> offers = {
        {1.0f, 7}, {2.0f, 3}, {1.0f, 2}, {2.0f, 9}, {0.5f, 1}, {1.0f, 4}, {3.0f, 11}, {1.0f, 0}};
    // expected: 3 (11), 2 (3), 2 (9), 1 (0), 1 (2)
    const std::uint32_t want[5] = {11, 3, 9, 0, 2};
    std::vector<std::size_t> order(offers.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    int perms = 0;
    do {
        Top5 t;
        for (std::size_t i : order) t.offer(offers[i].first, offers[i].second);
        REQUIRE(t.n == 5);
        CHECK(std::equal(t.idx, t.idx + 5, want));
        CHECK(t.threshold() == 1.0f);
        ++perms;
    } while (std::next_permutation(order.begin(), order.end()) && perms < 2000);
    Top5 few;
    few.offer(1.0f, 3);
    few.offer(1.0f, 1);
    CHECK(few.n == 2);
    CHECK(few.idx[0] == 1);
    CHECK(std::isinf(few.threshold()));
}

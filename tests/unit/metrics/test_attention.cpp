#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/metrics/attention.hpp"

#include "metrics/attention_test_support.hpp"
#include "test_support.hpp"

using namespace fq::metrics;
using fq::test::randn;
using fq::test::same_bytes;

namespace {

std::vector<float> perturb(const std::vector<float>& x, std::uint64_t seed, float sigma) {
    const auto e = randn(x.size(), seed, sigma);
    std::vector<float> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] + e[i];
    return y;
}

double naive_cos(const std::vector<double>& a, const std::vector<double>& b) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
    if (aa == 0 || bb == 0) return aa == bb ? 1.0 : 0.0;  // the zero-vector rule
    return ab / (std::sqrt(aa) * std::sqrt(bb));
}

std::vector<std::size_t> naive_top(const std::vector<double>& s, std::size_t k) {
    std::vector<std::size_t> idx(s.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(),
                     [&](std::size_t a, std::size_t b) { return s[a] > s[b]; });
    idx.resize(std::min(k, s.size()));
    return idx;
}

struct NaiveRow {
    double kl, top1, top5, score_cos, prob_cos, out_cos;
};

// Plain loops for query t: scores, softmax, KL = sum p log(p / p_hat), rankings, outputs.
NaiveRow naive_row(const float* q, const float* k, const float* v, const std::vector<double>& s_hat,
                   const float* vh, std::size_t t, std::size_t d, double scale) {
    const std::size_t len = t + 1;
    std::vector<double> s(len);
    for (std::size_t j = 0; j < len; ++j) {
        s[j] = 0;
        for (std::size_t c = 0; c < d; ++c) s[j] += double(q[t * d + c]) * double(k[j * d + c]);
    }
    auto softmax = [&](const std::vector<double>& x) {
        double mx = -INFINITY, z = 0;
        for (double e : x) mx = std::max(mx, scale * e);
        std::vector<double> p(x.size());
        for (std::size_t j = 0; j < x.size(); ++j) z += (p[j] = std::exp(scale * x[j] - mx));
        for (auto& e : p) e /= z;
        return p;
    };
    const auto p = softmax(s), ph = softmax(s_hat);
    NaiveRow r{};
    for (std::size_t j = 0; j < len; ++j) r.kl += p[j] * std::log(p[j] / ph[j]);
    r.top1 = naive_top(s, 1)[0] == naive_top(s_hat, 1)[0] ? 1.0 : 0.0;
    const auto a = naive_top(s, 5), b = naive_top(s_hat, 5);
    double common = 0;
    for (auto x : a) common += std::count(b.begin(), b.end(), x);
    r.top5 = common / double(std::min<std::size_t>(5, len));
    r.score_cos = naive_cos(s, s_hat);
    r.prob_cos = naive_cos(p, ph);
    std::vector<double> o(d, 0.0), oh(d, 0.0);
    for (std::size_t j = 0; j < len; ++j)
        for (std::size_t c = 0; c < d; ++c) {
            o[c] += p[j] * v[j * d + c];
            oh[c] += ph[j] * vh[j * d + c];
        }
    r.out_cos = naive_cos(o, oh);
    return r;
}

// Scores are float sums of d products (metrics/attention.hpp), so the library agrees with
// these double loops to float rounding, relative to what each metric resolves: 2e-5 of the KL
// and of 1 - cos for the score and probability cosines. The difference x = c (s - s_hat) is
// computed directly and the expm1 sums are centred, so a tiny KL or 1 - cos keeps float
// relative precision; what remains is the rounding of s itself, |ds| <= d eps |q| |k|, which
// moves each weight p_j by up to c |ds| (about 1e-5 relative in these tests; 5e-6 observed).
// The KL also gets 1e-13 absolute for the naive form's own double rounding, and the output
// cosine 1e-6 absolute: sum_j p_j v_j and sum_j p_hat_j v_hat_j are float sums that round
// independently (~1e-7 relative each).
doctest::Approx naive_kl(double kl, double rel = 2e-5) {
    return doctest::Approx(std::max(0.0, kl)).epsilon(rel).scale(1e-13 / rel);
}

// |got - ref| <= rel (1 - |ref|) + abs: agreement to float rounding of a cosine.
bool cos_close(double got, double ref, double rel = 2e-5, double abs = 1e-12) {
    return std::fabs(got - ref) <= rel * (1 - std::fabs(ref)) + abs;
}

std::vector<double> naive_scores_hat(const float* q, const float* kh, std::size_t t,
                                     std::size_t d) {
    std::vector<double> s(t + 1, 0.0);
    for (std::size_t j = 0; j <= t; ++j)
        for (std::size_t c = 0; c < d; ++c) s[j] += double(q[t * d + c]) * double(kh[j * d + c]);
    return s;
}

struct Head {
    std::size_t T, d;
    std::vector<float> q, k, v, kh, vh;
};

Head random_head(std::size_t T, std::size_t d, std::uint64_t seed, float noise) {
    Head h{T,  d, randn(T * d, seed, 1.5f), randn(T * d, seed + 1, 1.5f), randn(T * d, seed + 2),
           {}, {}};
    h.kh = perturb(h.k, seed + 3, noise);
    h.vh = perturb(h.v, seed + 4, noise);
    return h;
}

AttentionMetrics run(const Head& h, const AttentionOptions& opts = {}) {
    return attention_metrics(h.q.data(), h.k.data(), h.v.data(), h.kh.data(), h.vh.data(), h.T, h.d,
                             opts);
}

}  // namespace

TEST_CASE("attention: every metric against naive loops (T = 17, d = 8)") {
    for (float noise : {0.05f, 0.5f, 2.0f}) {
        CAPTURE(noise);
        const Head h = random_head(17, 8, 100, noise);
        for (double scale : {0.0, 0.7}) {
            AttentionOptions opts;
            opts.scale = scale;
            const AttentionMetrics m = run(h, opts);
            const double c = scale > 0 ? scale : 1.0 / std::sqrt(8.0);
            REQUIRE(m.positions.size() == 17);
            REQUIRE(m.output_cosine.size() == 17);
            for (std::size_t t = 0; t < 17; ++t) {
                CAPTURE(t);
                CHECK(m.positions[t] == t);
                const NaiveRow r = naive_row(h.q.data(), h.k.data(), h.v.data(),
                                             naive_scores_hat(h.q.data(), h.kh.data(), t, 8),
                                             h.vh.data(), t, 8, c);
                CHECK(m.kl[t] == naive_kl(r.kl));
                CHECK(m.top1[t] == r.top1);
                CHECK(m.top5[t] == r.top5);
                CHECK(cos_close(m.score_cosine[t], r.score_cos));
                CHECK(cos_close(m.probability_cosine[t], r.prob_cos));
                CHECK(cos_close(m.output_cosine[t], r.out_cos, 2e-5, 1e-6));
            }
        }
    }
}

TEST_CASE("attention: metrics are not trivial on noisy keys") {
    // Guards the naive comparison against passing on constant outputs.
    const Head h = random_head(60, 8, 7, 1.0f);
    const AttentionMetrics m = run(h);
    const double kl_sum = std::accumulate(m.kl.begin(), m.kl.end(), 0.0);
    const double top1 = std::accumulate(m.top1.begin(), m.top1.end(), 0.0);
    const double top5 = std::accumulate(m.top5.begin(), m.top5.end(), 0.0);
    CHECK(kl_sum > 1.0);
    CHECK(top1 < 59.0);
    CHECK(top5 < 59.0);
    CHECK(*std::min_element(m.score_cosine.begin(), m.score_cosine.end()) < 0.95);
    CHECK(*std::min_element(m.output_cosine.begin(), m.output_cosine.end()) < 0.95);
}

TEST_CASE("attention: identical inputs give KL 0, cosines 1 and full agreement") {
    Head h = random_head(40, 16, 1, 0.0f);
    h.kh = h.k;
    h.vh = h.v;
    const AttentionMetrics m = run(h);
    for (std::size_t t = 0; t < 40; ++t) {
        CHECK(m.kl[t] == 0.0);
        CHECK(m.top1[t] == 1.0);
        CHECK(m.top5[t] == 1.0);
        CHECK(m.score_cosine[t] == 1.0);
        CHECK(m.probability_cosine[t] == 1.0);
        CHECK(m.output_cosine[t] == 1.0);
    }
}

TEST_CASE("attention: KL of known distributions from supplied scores") {
    // q_t = 0 makes the exact scores 0, so p is uniform over the t + 1 keys.
    // t = 1: s_hat = (0, ln 3) -> p_hat = (1/4, 3/4), KL = 0.5 ln 2 + 0.5 ln(2/3) = 0.5 ln(4/3).
    // t = 2: s_hat = (0, ln 2, ln 3) -> p_hat = (1, 2, 3) / 6, KL = (1/3) ln(4/3).
    const std::size_t T = 3, d = 2;
    const std::vector<float> q(T * d, 0.0f), k = {1, 0, 0, 1, 1, 1}, v = {1, 0, 0, 1, 1, 1};
    std::vector<double> s_hat(T * T, 0.0);
    s_hat[1 * T + 1] = std::log(3.0);
    s_hat[2 * T + 1] = std::log(2.0);
    s_hat[2 * T + 2] = std::log(3.0);
    s_hat[0 * T + 2] = 1e300;  // above the diagonal: never read
    AttentionOptions opts;
    opts.scale = 1.0;
    const AttentionMetrics m = attention_metrics_from_scores(
        q.data(), k.data(), v.data(), score_rows_from_matrix(s_hat.data(), T), v.data(), T, d,
        opts);
    // (float rounding of the supplied ln 2 and ln 3: 1e-7)
    CHECK(m.kl[0] == 0.0);
    CHECK(m.kl[1] == doctest::Approx(0.5 * std::log(4.0 / 3.0)).epsilon(1e-7));
    CHECK(m.kl[2] == doctest::Approx(std::log(4.0 / 3.0) / 3.0).epsilon(1e-7));
    // cos((1/2, 1/2), (1/4, 3/4)) = (1/2) / sqrt((1/2) (10/16))
    CHECK(m.probability_cosine[1] == doctest::Approx(0.5 / std::sqrt(0.5 * 0.625)).epsilon(1e-7));
    // exact score row is the zero vector, approximate is not: cosine 0 by the zero rule
    CHECK(m.score_cosine[1] == 0.0);
    // argmax of the all-zero row is key 0 (lowest index); of s_hat it is key 1
    CHECK(m.top1[1] == 0.0);
    CHECK(m.top1[2] == 0.0);
    // o_1 = (1/2, 1/2), o_hat_1 = (1/4, 3/4)
    CHECK(m.output_cosine[1] == doctest::Approx(0.5 / std::sqrt(0.5 * 0.625)).epsilon(1e-7));
}

TEST_CASE("attention: one key (T = 1)") {
    const std::vector<float> q = {1, 2}, k = {0.5f, -1}, kh = {0.25f, -1}, v = {3, 4}, vh = {4, 3};
    const AttentionMetrics m =
        attention_metrics(q.data(), k.data(), v.data(), kh.data(), vh.data(), 1, 2);
    REQUIRE(m.kl.size() == 1);
    CHECK(m.kl[0] == 0.0);
    CHECK(m.top1[0] == 1.0);
    CHECK(m.top5[0] == 1.0);
    CHECK(m.probability_cosine[0] == 1.0);
    CHECK(m.score_cosine[0] == 1.0);  // scores -1.5 and -1.75: same sign
    CHECK(m.output_cosine[0] == doctest::Approx(24.0 / 25.0).epsilon(1e-15));  // cos(v, v_hat)
    const std::vector<float> kneg = {-0.5f, 1};
    const AttentionMetrics n =
        attention_metrics(q.data(), k.data(), v.data(), kneg.data(), vh.data(), 1, 2);
    CHECK(n.score_cosine[0] == -1.0);
    CHECK(n.kl[0] == 0.0);
}

TEST_CASE("attention: later keys and values never change an earlier query's metrics") {
    const Head h = random_head(37, 8, 40, 0.3f);
    const AttentionMetrics before = run(h);
    for (std::size_t t0 : {0u, 9u, 20u, 35u}) {
        CAPTURE(t0);
        Head g = h;
        const auto junk = randn(37 * 8, 1000 + t0, 5.0f);
        for (std::size_t i = (t0 + 1) * 8; i < 37 * 8; ++i) {
            g.k[i] = junk[i];
            g.kh[i] = -junk[i];
            g.v[i] = 2 * junk[i];
            g.vh[i] = junk[i] + 1;
        }
        const AttentionMetrics after = run(g);
        for (std::size_t t = 0; t <= t0; ++t) {
            CHECK(after.kl[t] == before.kl[t]);
            CHECK(after.top1[t] == before.top1[t]);
            CHECK(after.top5[t] == before.top5[t]);
            CHECK(after.score_cosine[t] == before.score_cosine[t]);
            CHECK(after.probability_cosine[t] == before.probability_cosine[t]);
            CHECK(after.output_cosine[t] == before.output_cosine[t]);
        }
        // and the change is visible at the next query
        CHECK(after.output_cosine[t0 + 1] != before.output_cosine[t0 + 1]);
    }
}

TEST_CASE("attention: score rows equal to q k_hat^T give the k_hat result") {
    const Head h = random_head(29, 8, 50, 0.4f);
    std::vector<double> s_hat(29 * 29, 0.0);
    for (std::size_t t = 0; t < 29; ++t)
        for (std::size_t j = 0; j < 29; ++j)
            for (std::size_t c = 0; c < 8; ++c)
                s_hat[t * 29 + j] += double(h.q[t * 8 + c]) * double(h.kh[j * 8 + c]);
    const AttentionMetrics a = run(h);
    const AttentionMetrics b =
        attention_metrics_from_scores(h.q.data(), h.k.data(), h.v.data(),
                                      score_rows_from_matrix(s_hat.data(), 29), h.vh.data(), 29, 8);
    // The two paths form s - s_hat differently (q . (k - k_hat) in float against the double
    // estimate minus the float score): they agree to float rounding.
    for (std::size_t t = 0; t < 29; ++t) {
        CHECK(b.kl[t] == naive_kl(a.kl[t]));
        CHECK(b.top1[t] == a.top1[t]);
        CHECK(b.top5[t] == a.top5[t]);
        CHECK(cos_close(b.score_cosine[t], a.score_cosine[t]));
        CHECK(cos_close(b.probability_cosine[t], a.probability_cosine[t]));
        CHECK(cos_close(b.output_cosine[t], a.output_cosine[t], 2e-5, 1e-6));
    }
    // a plain callback works too and is called only for evaluated positions
    AttentionOptions opts;
    opts.positions = {4, 28};
    const AttentionMetrics c = attention_metrics_from_scores(
        h.q.data(), h.k.data(), h.v.data(),
        [&](std::size_t t, double* row) {
            REQUIRE((t == 4 || t == 28));
            std::copy(&s_hat[t * 29], &s_hat[t * 29] + t + 1, row);
        },
        h.vh.data(), 29, 8, opts);
    CHECK(c.kl[1] == b.kl[28]);
    CHECK(c.output_cosine[0] == b.output_cosine[4]);
}

namespace {

// Every per-query value of sub equals all's at the same position, bit for bit (all: every
// position evaluated).
void check_same_per_query(const AttentionMetrics& sub, const AttentionMetrics& all) {
    for (std::size_t i = 0; i < sub.positions.size(); ++i) {
        const std::size_t t = sub.positions[i];
        CAPTURE(t);
        CHECK(sub.kl[i] == all.kl[t]);
        CHECK(sub.top1[i] == all.top1[t]);
        CHECK(sub.top5[i] == all.top5[t]);
        CHECK(sub.score_cosine[i] == all.score_cosine[t]);
        CHECK(sub.probability_cosine[i] == all.probability_cosine[t]);
        CHECK(sub.output_cosine[i] == all.output_cosine[t]);
        CHECK(sub.ip_sum[i] == all.ip_sum[t]);
        CHECK(sub.ip_sum_sq[i] == all.ip_sum_sq[t]);
    }
}

}  // namespace

TEST_CASE("attention: a subset of positions gives the same per-query values, bit for bit") {
    const Head h = random_head(50, 8, 60, 0.4f);
    const AttentionMetrics all = run(h);
    AttentionOptions opts;
    opts.positions = select_positions(50, 7);
    REQUIRE(opts.positions == std::vector<std::size_t>{0, 7, 14, 21, 28, 35, 42, 49});
    const AttentionMetrics sub = run(h, opts);
    REQUIRE(sub.positions == opts.positions);
    check_same_per_query(sub, all);
    opts.positions = {3, 3};
    CHECK_THROWS_AS(run(h, opts), fq::UsageError);
    opts.positions = {50};
    CHECK_THROWS_AS(run(h, opts), fq::UsageError);
}

TEST_CASE("attention: keys packed per head (many query chunks) or per tile (few), same bits") {
    // Every position of T = 700 makes 6 query chunks: the head's keys are packed once. A few
    // positions make one chunk, which packs the tiles it reads itself (memory O(tile)).
    // Both must give the same per-query values, across several key tiles and the last
    // partial tile.
    const Head h = random_head(700, 16, 61, 0.3f);
    const AttentionMetrics all = run(h);
    AttentionOptions opts;
    opts.positions = select_positions(700, 97);
    REQUIRE(opts.positions.size() == 8);
    const AttentionMetrics sub = run(h, opts);
    check_same_per_query(sub, all);
}

TEST_CASE("select_positions: stride anchored at the last token, last-n window") {
    using V = std::vector<std::size_t>;
    CHECK(select_positions(5) == V{0, 1, 2, 3, 4});
    CHECK(select_positions(10, 3) == V{0, 3, 6, 9});
    CHECK(select_positions(10, 4) == V{1, 5, 9});
    CHECK(select_positions(10, 1, 4) == V{6, 7, 8, 9});
    CHECK(select_positions(10, 2, 4) == V{7, 9});
    CHECK(select_positions(3, 1, 10) == V{0, 1, 2});
    CHECK(select_positions(0, 3).empty());
    CHECK_THROWS_AS(select_positions(10, 0), fq::UsageError);
}

TEST_CASE("attention: GQA maps query head h to KV head h / (n_heads / n_kv_heads)") {
    for (std::size_t h = 0; h < 8; ++h) CHECK(kv_head_for_query_head(h, 8, 4) == h / 2);
    for (std::size_t h = 0; h < 32; ++h) CHECK(kv_head_for_query_head(h, 32, 8) == h / 4);
    for (std::size_t h = 0; h < 4; ++h) CHECK(kv_head_for_query_head(h, 4, 4) == h);
    CHECK(kv_head_for_query_head(5, 6, 1) == 0);
    CHECK_THROWS_AS(kv_head_for_query_head(0, 6, 4), fq::UsageError);
    CHECK_THROWS_AS(kv_head_for_query_head(0, 8, 0), fq::UsageError);
    CHECK_THROWS_AS(kv_head_for_query_head(8, 8, 4), fq::UsageError);
}

TEST_CASE("attention: without values there is no output cosine, bad inputs are refused") {
    const Head h = random_head(10, 4, 70, 0.3f);
    const AttentionMetrics m =
        attention_metrics(h.q.data(), h.k.data(), nullptr, h.kh.data(), nullptr, 10, 4);
    CHECK(m.output_cosine.empty());
    CHECK(m.kl.size() == 10);
    CHECK(m.kl[9] == run(h).kl[9]);
    CHECK_THROWS_AS(
        attention_metrics(h.q.data(), h.k.data(), h.v.data(), h.kh.data(), nullptr, 10, 4),
        fq::UsageError);
    Head bad = h;
    bad.kh[13] = NAN;
    CHECK_THROWS_AS(run(bad), fq::NumericError);
    CHECK_THROWS_AS(attention_metrics_from_scores(
                        h.q.data(), h.k.data(), h.v.data(),
                        [](std::size_t t, double* row) {
                            for (std::size_t j = 0; j <= t; ++j) row[j] = t == 6 ? INFINITY : 0.0;
                        },
                        h.vh.data(), 10, 4),
                    fq::NumericError);
}

TEST_CASE("attention: fallback q = k (keys as queries) is causal self-attention") {
    const Head h = random_head(12, 8, 80, 0.3f);
    const AttentionMetrics m =
        attention_metrics(h.k.data(), h.k.data(), h.v.data(), h.kh.data(), h.vh.data(), 12, 8);
    const double c = 1.0 / std::sqrt(8.0);
    for (std::size_t t = 0; t < 12; ++t) {
        const NaiveRow r =
            naive_row(h.k.data(), h.k.data(), h.v.data(),
                      naive_scores_hat(h.k.data(), h.kh.data(), t, 8), h.vh.data(), t, 8, c);
        CHECK(m.kl[t] == naive_kl(r.kl));
        CHECK(cos_close(m.output_cosine[t], r.out_cos, 2e-5, 1e-6));
    }
}

TEST_CASE("attention: results are byte-identical for 1 and 2 threads") {
    const Head h = random_head(150, 16, 90, 0.3f);
    std::vector<double> s_hat(150 * 150, 0.0);
    for (std::size_t t = 0; t < 150; ++t)
        for (std::size_t j = 0; j <= t; ++j)
            for (std::size_t c = 0; c < 16; ++c)
                s_hat[t * 150 + j] += double(h.q[t * 16 + c]) * double(h.kh[j * 16 + c]) * 1.01;
    const int saved = fq::core::max_threads();
    fq::core::set_threads(1);
    const AttentionMetrics a1 = run(h);
    const AttentionMetrics s1 = attention_metrics_from_scores(
        h.q.data(), h.k.data(), h.v.data(), score_rows_from_matrix(s_hat.data(), 150), h.vh.data(),
        150, 16);
    fq::core::set_threads(2);
    const AttentionMetrics a2 = run(h);
    const AttentionMetrics s2 = attention_metrics_from_scores(
        h.q.data(), h.k.data(), h.v.data(), score_rows_from_matrix(s_hat.data(), 150), h.vh.data(),
        150, 16);
    fq::core::set_threads(saved);
    CHECK(same_bytes(a1, a2));
    CHECK(same_bytes(s1, s2));
    CHECK_FALSE(same_bytes(a1, s1));  // the comparison can fail
}

TEST_CASE("attention: top-1 and top-5 ties go to the lowest key index") {
    // q = 0: every exact score is 0, so top5(s_t) = {0, 1, 2, 3, 4} and argmax = 0.
    const std::size_t T = 12, d = 2;
    const std::vector<float> q(T * d, 0.0f), k(T * d, 1.0f);
    std::vector<double> s_hat(T * T, 0.0);
    s_hat[7 * T + 7] = 1.0;    // t = 7: top5 = {7, 0, 1, 2, 3} -> 4 common; argmax 7
    s_hat[9 * T + 0] = -1.0;   // t = 9: top5 = {1, 2, 3, 4, 5} -> 4 common; argmax 1
    s_hat[11 * T + 0] = -1.0;  // t = 11: top5 = {4, 5, 6, 7, 8} -> 1 common; argmax 4
    for (std::size_t j = 1; j < 4; ++j) s_hat[11 * T + j] = -2.0;
    const AttentionMetrics m = attention_metrics_from_scores(
        q.data(), k.data(), nullptr, score_rows_from_matrix(s_hat.data(), T), nullptr, T, d);
    CHECK(m.top5[6] == 1.0);
    CHECK(m.top1[6] == 1.0);
    CHECK(m.top5[7] == doctest::Approx(0.8).epsilon(1e-15));
    CHECK(m.top1[7] == 0.0);
    CHECK(m.top5[9] == doctest::Approx(0.8).epsilon(1e-15));
    CHECK(m.top1[9] == 0.0);
    CHECK(m.top5[11] == doctest::Approx(0.2).epsilon(1e-15));
    CHECK(m.top1[11] == 0.0);
    // fewer than five keys: both top sets hold every key
    CHECK(m.top5[2] == 1.0);
}

namespace {

// The metrics of query t by plain double loops: s and (unless given) s_hat as double dot
// products, log-softmax with the maximum subtracted, KL from the log-probabilities, rankings by
// a stable sort (ties to the lowest index), cosines, outputs. *_firm: the ranking's boundary
// (first/second for top-1, fifth/sixth for top-5) is an exact tie or wider than float rounding
// of a score can cross, in both s and s_hat; elsewhere a float ranking may legitimately differ.
struct Reference {
    double kl, top1, top5, score_cos, prob_cos, out_cos;
    bool top1_firm, top5_firm;
};

Reference reference_row(const float* q, const float* k, const float* kh, std::vector<double> s_hat,
                        const float* v, const float* vh, std::size_t t, std::size_t d, double c) {
    const std::size_t len = t + 1;
    std::vector<double> s(len, 0.0);
    for (std::size_t j = 0; j < len; ++j)
        for (std::size_t i = 0; i < d; ++i) s[j] += double(q[t * d + i]) * double(k[j * d + i]);
    if (kh != nullptr) {
        s_hat.assign(len, 0.0);
        for (std::size_t j = 0; j < len; ++j)
            for (std::size_t i = 0; i < d; ++i)
                s_hat[j] += double(q[t * d + i]) * double(kh[j * d + i]);
    }
    s_hat.resize(len);
    auto log_softmax = [&](const std::vector<double>& x) {
        double mx = -INFINITY, z = 0;
        for (double e : x) mx = std::max(mx, c * e);
        for (double e : x) z += std::exp(c * e - mx);
        std::vector<double> lp(len);
        for (std::size_t j = 0; j < len; ++j) lp[j] = c * x[j] - mx - std::log(z);
        return lp;
    };
    const auto lp = log_softmax(s), lph = log_softmax(s_hat);
    std::vector<double> p(len), ph(len);
    Reference r{};
    for (std::size_t j = 0; j < len; ++j) {
        p[j] = std::exp(lp[j]);
        ph[j] = std::exp(lph[j]);
        r.kl += p[j] * (lp[j] - lph[j]);
    }
    const auto a = naive_top(s, 6), b = naive_top(s_hat, 6);
    r.top1 = a[0] == b[0] ? 1.0 : 0.0;
    double common = 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(5, len); ++i)
        common += std::count(b.begin(), b.begin() + std::min<std::size_t>(5, len), a[i]);
    r.top5 = common / double(std::min<std::size_t>(5, len));
    auto firm = [&](const std::vector<double>& x, const std::vector<std::size_t>& top,
                    std::size_t i) {
        if (top.size() <= i + 1) return true;
        double mx = 0;
        for (double e : x) mx = std::max(mx, std::fabs(e));
        const double gap = x[top[i]] - x[top[i + 1]];
        return gap == 0 || gap > 1e-5 * (1 + mx);
    };
    r.top1_firm = firm(s, a, 0) && firm(s_hat, b, 0);
    r.top5_firm = firm(s, a, 4) && firm(s_hat, b, 4);
    r.score_cos = naive_cos(s, s_hat);
    r.prob_cos = naive_cos(p, ph);
    r.out_cos = 1;
    if (v != nullptr) {
        std::vector<double> o(d, 0.0), oh(d, 0.0);
        for (std::size_t j = 0; j < len; ++j)
            for (std::size_t i = 0; i < d; ++i) {
                o[i] += p[j] * v[j * d + i];
                oh[i] += ph[j] * vh[j * d + i];
            }
        r.out_cos = naive_cos(o, oh);
    }
    return r;
}

// Checks m (at positions m.positions) against reference_row, KL and cosines to rel (see
// naive_kl); returns the number of queries whose ranking was checked (firm).
std::size_t check_against_reference(const AttentionMetrics& m, const float* q, const float* k,
                                    const float* kh, const std::vector<double>* s_hat_matrix,
                                    const float* v, const float* vh, std::size_t T, std::size_t d,
                                    double c, double rel = 2e-5, double kl_abs = 1e-13) {
    std::size_t firm = 0;
    for (std::size_t i = 0; i < m.positions.size(); ++i) {
        const std::size_t t = m.positions[i];
        CAPTURE(t);
        std::vector<double> s_hat;
        if (s_hat_matrix != nullptr)
            s_hat.assign(s_hat_matrix->begin() + t * T, s_hat_matrix->begin() + t * T + t + 1);
        const Reference r = reference_row(q, k, kh, s_hat, v, vh, t, d, c);
        CHECK(m.kl[i] == doctest::Approx(std::max(0.0, r.kl)).epsilon(rel).scale(kl_abs / rel));
        CHECK(cos_close(m.score_cosine[i], r.score_cos, rel));
        CHECK(cos_close(m.probability_cosine[i], r.prob_cos, rel));
        if (v != nullptr) CHECK(cos_close(m.output_cosine[i], r.out_cos, rel, 1e-6));
        if (r.top1_firm) CHECK(m.top1[i] == r.top1);
        if (r.top5_firm) CHECK(m.top5[i] == doctest::Approx(r.top5).epsilon(1e-15));
        firm += static_cast<std::size_t>(r.top1_firm && r.top5_firm);
    }
    return firm;
}

}  // namespace

TEST_CASE("attention: against plain double loops over several key tiles, GQA, ties, subsets") {
    // T = 613: three key tiles of 256, the last partial, and no multiple of any block size;
    // d = 24: no multiple of the 16-lane vectors. 4 query heads share 2 KV heads. Every 50th
    // key repeats the key 7 before it (exact ties in s and s_hat); query 100 of head 0 is 0
    // (all its scores tie). Noise 1e-4 gives KLs of order 1e-9 (float16-like decoding), which
    // must keep their relative precision; noise 40 puts |c (s - s_hat)| beyond 30: the
    // far-regime formulas.
    const std::size_t T = 613, d = 24, n_q = 4, n_kv = 2;
    const double c = 1.0 / std::sqrt(double(d));
    for (float noise : {1e-4f, 0.3f, 40.0f}) {
        CAPTURE(noise);
        std::vector<Head> kv;
        for (std::size_t h = 0; h < n_kv; ++h) {
            Head x = random_head(T, d, 500 + 10 * h, noise);
            for (std::size_t j = 49; j < T; j += 50)
                for (std::size_t i = 0; i < d; ++i) {
                    x.k[j * d + i] = x.k[(j - 7) * d + i];
                    x.kh[j * d + i] = x.kh[(j - 7) * d + i];
                }
            kv.push_back(std::move(x));
        }
        std::size_t firm = 0, total = 0;
        for (std::size_t qh = 0; qh < n_q; ++qh) {
            CAPTURE(qh);
            auto q = randn(T * d, 700 + qh, 1.5f);
            if (qh == 0) std::fill(q.begin() + 100 * d, q.begin() + 101 * d, 0.0f);
            const Head& h = kv[kv_head_for_query_head(qh, n_q, n_kv)];
            const AttentionMetrics all =
                attention_metrics(q.data(), h.k.data(), h.v.data(), h.kh.data(), h.vh.data(), T, d);
            firm += check_against_reference(all, q.data(), h.k.data(), h.kh.data(), nullptr,
                                            h.v.data(), h.vh.data(), T, d, c);
            total += T;
            if (qh == 0) {
                CHECK(all.top1[100] == 1.0);  // every score is 0: key 0 in both rankings
                CHECK(all.top5[100] == 1.0);
            }
            // subsets give the same bits as the full run
            for (const std::vector<std::size_t>& sub :
                 {select_positions(T, 5, 400), std::vector<std::size_t>{612},
                  std::vector<std::size_t>{0, 1, 255, 256, 257, 511, 512}}) {
                AttentionOptions opts;
                opts.positions = sub;
                const AttentionMetrics m = attention_metrics(q.data(), h.k.data(), h.v.data(),
                                                             h.kh.data(), h.vh.data(), T, d, opts);
                REQUIRE(m.positions == sub);
                for (std::size_t i = 0; i < sub.size(); ++i) {
                    const std::size_t t = sub[i];
                    CHECK(m.kl[i] == all.kl[t]);
                    CHECK(m.top1[i] == all.top1[t]);
                    CHECK(m.top5[i] == all.top5[t]);
                    CHECK(m.score_cosine[i] == all.score_cosine[t]);
                    CHECK(m.probability_cosine[i] == all.probability_cosine[t]);
                    CHECK(m.output_cosine[i] == all.output_cosine[t]);
                }
            }
        }
        CHECK(firm > total * 99 / 100);  // nearly every ranking was checked
    }
}

TEST_CASE("attention: approximate scores against plain double loops, ties in s_hat") {
    // s_hat = q . k + N(0, 0.5^2) (a QJL-like estimate), rounded to 1/64 so that ties occur.
    const std::size_t T = 300, d = 16;
    const Head h = random_head(T, d, 900, 0.2f);
    const auto noise = randn(T * T, 901, 0.5f);
    std::vector<double> s_hat(T * T, 0.0);
    for (std::size_t t = 0; t < T; ++t)
        for (std::size_t j = 0; j <= t; ++j) {
            double e = 0;
            for (std::size_t i = 0; i < d; ++i) e += double(h.q[t * d + i]) * h.k[j * d + i];
            s_hat[t * T + j] = std::round(64 * (e + noise[t * T + j])) / 64;
        }
    for (double scale : {0.0, 1.0}) {
        CAPTURE(scale);
        AttentionOptions opts;
        opts.scale = scale;
        const AttentionMetrics m = attention_metrics_from_scores(
            h.q.data(), h.k.data(), h.v.data(), score_rows_from_matrix(s_hat.data(), T),
            h.vh.data(), T, d, opts);
        // Here s - s_hat is the float score minus the given estimate, so it carries the
        // rounding of s (~1e-6 of |q| |k|, absolute) rather than that of a direct
        // q . (k - k_hat): 1e-4 relative (KL: plus 1e-9 absolute: KL ~ var(x) / 2 moves by
        // ~|x| 1e-6 when x moves by 1e-6).
        const std::size_t firm =
            check_against_reference(m, h.q.data(), h.k.data(), nullptr, &s_hat, h.v.data(),
                                    h.vh.data(), T, d, scale > 0 ? scale : 0.25, 1e-4, 1e-9);
        CHECK(firm > T * 95 / 100);
    }
}

TEST_CASE("attention: the inner-product error from the attention sums equals inner_product_error") {
    const std::size_t T = 613, d = 24;
    Head h = random_head(T, d, 950, 0.3f);
    for (std::size_t t = 0; t < T; ++t) {  // a bias: e gains 0.05 q_t0, q_t0 ~ 2 +- 1.5
        h.q[t * d] += 2.0f;
        h.kh[t * d] += 0.05f;
    }
    for (const std::vector<std::size_t>& pos :
         {std::vector<std::size_t>{}, select_positions(T, 9, 300)}) {
        AttentionOptions opts;
        opts.positions = pos;
        const AttentionMetrics m = run(h, opts);
        const InnerProductError got = inner_product_error_from(m);
        const InnerProductError ref = inner_product_error(h.q.data(), T, h.k.data(), h.kh.data(), T,
                                                          d, PairSet::causal, m.positions);
        // e is a float dot product (~1e-7 relative): the sums agree to that, the bias (a mean
        // of e, which cancels) to 1e-6 of the RMS error.
        CHECK(got.pairs == ref.pairs);
        CHECK(std::fabs(got.bias() - ref.bias()) <= 1e-6 * ref.rmse());
        CHECK(ref.bias() > 0.05);  // the bias is there (0.1 expected)
        CHECK(got.rmse() == doctest::Approx(ref.rmse()).epsilon(1e-6));
        CHECK(got.rmse_se() == doctest::Approx(ref.rmse_se()).epsilon(1e-5));
        CHECK(got.sum_4 == doctest::Approx(ref.sum_4).epsilon(1e-6));
        REQUIRE(got.query_mean.size() == m.positions.size());
        for (std::size_t i = 0; i < got.query_mean.size(); ++i) {
            CHECK(std::fabs(got.query_mean[i] - ref.query_mean[i]) <=
                  1e-6 * std::sqrt(ref.query_mean_sq[i]));
            CHECK(got.query_mean_sq[i] == doctest::Approx(ref.query_mean_sq[i]).epsilon(1e-6));
        }
    }
    // approximate scores carry no inner-product sums
    std::vector<double> s_hat(T * T, 0.0);
    const AttentionMetrics a =
        attention_metrics_from_scores(h.q.data(), h.k.data(), h.v.data(),
                                      score_rows_from_matrix(s_hat.data(), T), h.vh.data(), T, d);
    CHECK(a.ip_sum.empty());
    CHECK_THROWS_AS(inner_product_error_from(a), fq::UsageError);
}

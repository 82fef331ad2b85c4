#include <doctest/doctest.h>

#include <omp.h>

#include <cmath>

#include "fq/source/spherical_beta.hpp"
#include "fq/train/fib_train.hpp"
#include "fq/train/lloyd.hpp"

using namespace fq::train;

namespace {
FibParams small(int d, int k, int N) {
    FibParams p;
    p.d = d;
    p.k = k;
    p.N = N;
    p.train_samples = 1 << 16;
    p.val_samples = 1 << 15;
    p.restarts = 2;
    p.max_iter = 60;
    return p;
}
}  // namespace

TEST_SUITE("fib_train") {
    TEST_CASE("k=2 N=16 at d=128 reaches the k-means reference 0.1061 (SPEC 4.2)") {
        const auto res = train_fib(small(128, 2, 16));
        CHECK(res.rate == doctest::Approx(2.0));
        CHECK_FALSE(res.tail.has_value());
        // Fresh samples, independent of training and validation.
        const auto fresh = fq::source::sample(128, 2, 1 << 17, 987654321);
        const double total = 64 * mean_distortion(res.main.codebook, fresh.data(), 1 << 17);
        CHECK(total <= 0.1061 * 1.01);
        CHECK(res.val_total_mse == doctest::Approx(total).epsilon(0.01));
        // The structured initialisation alone is already better than a random-sample start.
        CHECK(res.main.init_distortion < res.main.random_init_distortion);
        CHECK(res.main.train_distortion <= res.main.init_distortion);
    }

    TEST_CASE("Lloyd history is non-increasing without empty-cell repairs") {
        const auto res = train_fib(small(64, 4, 16));
        for (const auto& r : res.main.restarts) {
            for (std::size_t i = 1; i < r.history.size(); ++i) {
                if (r.history[i - 1].empty_repaired) continue;
                CHECK(r.history[i].distortion <= r.history[i - 1].distortion * (1 + 1e-12));
            }
            CHECK(r.train_distortion == r.history.back().distortion);
        }
    }

    TEST_CASE("k=3 at d=16: multishell factorisation chosen, tail block with exact rate") {
        auto p = small(16, 3, 64);
        p.train_samples = 1 << 14;
        p.val_samples = 1 << 13;
        const auto res = train_fib(p);
        REQUIRE(res.tail.has_value());
        CHECK(res.tail->codebook.k == 1);
        CHECK(res.tail->codebook.N == tail_codebook_size(64, 3, 1));
        CHECK(res.tail->codebook.N == 4);  // round(2^(2*1))
        CHECK(res.rate == doctest::Approx((5 * 6 + 2) / 16.0));
        CHECK(res.main.shell_choices.size() >= 4);  // L in {1,2,4,8,16,32}
        CHECK(res.main.init_name.rfind("multishell", 0) == 0);
        CHECK(res.val_total_mse ==
              doctest::Approx(5 * res.main.val_distortion + res.tail->val_distortion));
    }

    TEST_CASE("training is deterministic whatever the thread count") {
        const auto p = small(32, 4, 32);
        omp_set_num_threads(1);
        const auto a = train_fib(p);
        omp_set_num_threads(2);
        const auto b = train_fib(p);
        CHECK(a.main.codebook.codewords == b.main.codebook.codewords);
        CHECK(a.val_total_mse == b.val_total_mse);
    }

    TEST_CASE("empty cells are repaired") {
        // All codewords start on one point: every cell but the first is empty.
        fq::codecs::BlockCodebook cb{2, 8, std::vector<double>(16, 0.01)};
        const auto y = fq::source::sample(16, 2, 4096, 3);
        RestartStats st;
        lloyd_refine(cb, y.data(), 4096, LloydOptions{50, 1e-9}, st);
        CHECK(st.history.front().empty_repaired == 7);
        CHECK(st.train_distortion < 0.5 * st.history.front().distortion);
    }

    TEST_CASE("invalid parameters are rejected") {
        auto p = small(64, 4, 16);
        p.k = 64;
        CHECK_THROWS(train_fib(p));
        p = small(64, 4, 1);
        CHECK_THROWS(train_fib(p));
        p = small(64, 4, 16);
        p.k3_shells = 2;
        CHECK_THROWS(train_fib(p));
    }
}

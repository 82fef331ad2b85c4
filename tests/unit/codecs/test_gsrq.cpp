// Tests of codecs/gsrq: exact rates (power-of-two and mixed-radix K), greedy encoding equal to
// a naive stage-by-stage nearest-centroid loop, decode = sum of the stored centroids, beam
// search never worse than greedy for S = 2 and better on average for S = 3, re-encoding
// (idempotent for S = 1; for S = 2 measured, not assumed), thread independence.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "fq/codecs/gsrq.hpp"
#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"
#include "fq/train/gskm.hpp"

#include "test_support.hpp"

using namespace fq;
using namespace fq::codecs;

namespace {

std::vector<float> data(std::size_t n, int d, std::uint64_t seed) {
    core::Rng rng(seed, 9);
    std::vector<float> x(n * d);
    for (std::size_t i = 0; i < n; ++i) {
        const double s = std::exp(0.5 * rng.normal());
        for (int j = 0; j < d; ++j)
            x[i * d + j] = static_cast<float>(s * (rng.normal() + (j % 3 == 0 ? 1.0 : 0.0)));
    }
    return x;
}

GsrqCodebooks trained(int d, int D, int K, int S, std::uint64_t seed) {
    const std::size_t n = 1200;
    const auto x = data(n, d, seed);
    train::GsrqTrainOptions o;
    o.D = D;
    o.K = K;
    o.S = S;
    o.kmeans.max_iter = 10;
    return train::train_gsrq(x.data(), n, d, nullptr, o).codebooks;
}

double sqerr(const float* a, const float* b, std::size_t m) {
    double s = 0;
    for (std::size_t i = 0; i < m; ++i)
        s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    return s;
}

}  // namespace

TEST_SUITE("gsrq") {
    TEST_CASE("rate S log2(K) / D exactly, mixed radix for K not a power of two") {
        const GsrqCodec a(trained(16, 8, 16, 2, 1));
        CHECK(a.code_bits() == 2 * 2 * 4);  // P = 2 positions, S = 2, 4 bits
        CHECK(a.rate() == 1.0);
        CHECK(a.code_bytes() == 2);
        const GsrqCodec b(trained(16, 4, 10, 1, 2));
        CHECK(b.code_bits() == doctest::Approx(4 * std::log2(10.0)));
        CHECK(b.code_bytes() == 2);  // 4 indices of radix 10: 10^3 in 10 bits + 1 in 4 bits
        GsrqCodebooks bad = trained(16, 8, 16, 1, 3);
        bad.stages[0][1].codewords.pop_back();
        CHECK_THROWS_AS(GsrqCodec{bad}, UsageError);
    }

    TEST_CASE("greedy codes equal the naive stage-by-stage search, decode sums the centroids") {
        const int d = 16, D = 4, K = 16, S = 3;
        const GsrqCodebooks cb = trained(d, D, K, S, 5);
        const GsrqCodec c(cb);
        const std::size_t n = 100;
        const auto x = data(n, d, 6);
        std::vector<std::uint32_t> idx(n * 4 * S);
        c.encode_indices(x.data(), n, idx.data());
        std::vector<std::uint8_t> codes(n * c.code_bytes());
        c.encode(x.data(), n, codes.data());
        std::vector<float> y(n * d), y2(n * d);
        c.decode(codes.data(), n, y.data());
        c.decode_indices(idx.data(), n, y2.data());
        CHECK(y == y2);
        for (std::size_t v = 0; v < n; ++v)
            for (int p = 0; p < d / D; ++p) {
                std::vector<double> r(D), rec(D, 0.0);
                for (int t = 0; t < D; ++t) r[t] = x[v * d + p * D + t];
                for (int s = 0; s < S; ++s) {
                    const BlockCodebook& b = cb.stages[s][p];
                    int best = 0;
                    double bd = 1e300;
                    for (int k = 0; k < K; ++k) {
                        double e = 0;
                        for (int t = 0; t < D; ++t)
                            e += (r[t] - b.codeword(k)[t]) * (r[t] - b.codeword(k)[t]);
                        if (e < bd) {
                            bd = e;
                            best = k;
                        }
                    }
                    CHECK(idx[(v * 4 + p) * S + s] == static_cast<std::uint32_t>(best));
                    for (int t = 0; t < D; ++t) {
                        r[t] -= b.codeword(best)[t];
                        rec[t] += b.codeword(best)[t];
                    }
                }
                for (int t = 0; t < D; ++t)
                    CHECK(y[v * d + p * D + t] == static_cast<float>(rec[t]));
            }
    }

    TEST_CASE("beam search: never worse than greedy at S = 2, better on average at S = 3") {
        const int d = 16;
        const std::size_t n = 300;
        const auto x = data(n, d, 8);
        for (int S : {2, 3}) {
            const GsrqCodebooks cb = trained(d, 8, 32, S, 9);
            const GsrqCodec greedy(cb, 1), beam(cb, 4);
            std::vector<std::uint8_t> cg(n * greedy.code_bytes()), cbm(n * beam.code_bytes());
            greedy.encode(x.data(), n, cg.data());
            beam.encode(x.data(), n, cbm.data());
            std::vector<float> yg(n * d), yb(n * d);
            greedy.decode(cg.data(), n, yg.data());
            beam.decode(cbm.data(), n, yb.data());
            double eg = 0, eb = 0;
            int worse = 0;
            for (std::size_t v = 0; v < n; ++v) {
                const double a = sqerr(&x[v * d], &yg[v * d], d),
                             b = sqerr(&x[v * d], &yb[v * d], d);
                eg += a;
                eb += b;
                if (b > a * (1 + 1e-6) + 1e-9) ++worse;
            }
            MESSAGE("S = " << S << ": MSE/coord greedy " << eg / (n * d) << ", beam 4 "
                           << eb / (n * d) << ", vectors where beam is worse: " << worse);
            if (S == 2) CHECK(worse == 0);
            CHECK(eb < eg);
        }
    }

    TEST_CASE("re-encoding decoded data: idempotent for S = 1, for S = 2 measured") {
        const int d = 16;
        const std::size_t n = 300;
        const auto x = data(n, d, 10);
        for (int S : {1, 2}) {
            const GsrqCodec c(trained(d, 4, 16, S, 11));
            std::vector<std::uint8_t> a(n * c.code_bytes()), b(n * c.code_bytes());
            c.encode(x.data(), n, a.data());
            std::vector<float> y(n * d);
            c.decode(a.data(), n, y.data());
            c.encode(y.data(), n, b.data());
            std::size_t same = 0;
            for (std::size_t v = 0; v < n; ++v)
                same += std::equal(&a[v * c.code_bytes()], &a[(v + 1) * c.code_bytes()],
                                   &b[v * c.code_bytes()]);
            MESSAGE("S = " << S << ": " << same << " / " << n
                           << " codes reproduced by re-encoding");
            if (S == 1) CHECK(same == n);  // the nearest centroid to a centroid is itself
        }
    }

    TEST_CASE("two stages beat one at the same K on held-out data") {
        const int d = 32;
        const std::size_t n = 400;
        const auto x = data(n, d, 40);
        double mse[2];
        for (int S : {1, 2}) {
            const GsrqCodec c(trained(d, 8, 32, S, 41));
            std::vector<std::uint8_t> codes(n * c.code_bytes());
            c.encode(x.data(), n, codes.data());
            std::vector<float> y(n * d);
            c.decode(codes.data(), n, y.data());
            mse[S - 1] = sqerr(x.data(), y.data(), n * d) / (n * d);
        }
        MESSAGE("held-out MSE/coord: 1 stage " << mse[0] << ", 2 stages " << mse[1]);
        CHECK(mse[1] < mse[0]);
    }

    TEST_CASE("shared codebooks and weighted training") {
        const int d = 16;
        const std::size_t n = 800;
        const auto x = data(n, d, 50);
        train::GsrqTrainOptions o;
        o.D = 4;
        o.K = 16;
        o.S = 2;
        o.shared = true;
        o.kmeans.max_iter = 8;
        const auto shared = train::train_gsrq(x.data(), n, d, nullptr, o);
        CHECK(shared.codebooks.stages[0].size() == 1);
        const GsrqCodec c(shared.codebooks);
        std::vector<std::uint8_t> codes(n * c.code_bytes());
        c.encode(x.data(), n, codes.data());
        std::vector<float> y(n * d);
        c.decode(codes.data(), n, y.data());
        CHECK(sqerr(x.data(), y.data(), n * d) / (n * d) ==
              doctest::Approx(shared.stages[1].mse_per_coord).epsilon(1e-6));
        // Uniform weights w = 2 change no sum but by an exact factor 2: identical codebooks.
        o.shared = false;
        const auto plain = train::train_gsrq(x.data(), n, d, nullptr, o);
        const std::vector<double> w(n, 2.0);
        const auto weighted = train::train_gsrq(x.data(), n, d, w.data(), o);
        for (int s = 0; s < 2; ++s)
            for (int p = 0; p < 4; ++p)
                CHECK(plain.codebooks.stages[s][p].codewords ==
                      weighted.codebooks.stages[s][p].codewords);
        // Heavy weights on the first half move the codebooks.
        std::vector<double> w2(n, 1.0);
        for (std::size_t i = 0; i < n / 2; ++i) w2[i] = 50.0;
        const auto skewed = train::train_gsrq(x.data(), n, d, w2.data(), o);
        CHECK(skewed.codebooks.stages[0][0].codewords != plain.codebooks.stages[0][0].codewords);
    }

    TEST_CASE("codes do not depend on the thread count") {
        const int d = 16;
        const std::size_t n = 500;
        const auto x = data(n, d, 12);
        const GsrqCodec c(trained(d, 4, 16, 2, 13), 3);
        const auto out = fq::test::codes_per_thread_count(c, x.data(), n, 37);
        CHECK(out[0] == out[1]);
    }
}

// The shipped universal codebooks (codebooks/d32 ... d256): every file loads, and
// on FRESH samples of the spherical-Beta source (independent of training and validation)
// they reproduce the theory of SPEC 4.2: fib strictly below scalar at matched integer rates,
// and within 1% of (or below) the plain k-means reference distortions.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "fq/codecs/nearest.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/io/codebook_store.hpp"
#include "fq/io/tcq_file.hpp"
#include "fq/source/spherical_beta.hpp"

namespace fs = std::filesystem;

namespace {

const std::string k_dir = std::string(FQ_SOURCE_DIR) + "/codebooks";

struct Estimate {
    double total = 0;  // total MSE per unit vector
    double se = 0;     // its standard error
};

// Total MSE of a unit vector on n fresh source samples per block codebook, with its standard
// error from the per-block squared errors.
Estimate fresh_total_mse(const fq::io::UniversalCodebook& cb, std::size_t n, std::uint64_t seed) {
    // Per-block squared errors (exact nearest codeword), their mean and standard error.
    auto one = [&](const fq::codecs::BlockCodebook& block, std::uint64_t s) {
        const auto y = fq::source::sample(cb.spec.d, block.k, n, s);
        const fq::codecs::NearestCodeword search(block);
        std::vector<std::uint32_t> idx(n);
        std::vector<double> d2(n);
        search.assign(y.data(), n, idx.data(), d2.data());
        double sum = 0, sum2 = 0;
        for (const double v : d2) {
            sum += v;
            sum2 += v * v;
        }
        const double mean = sum / n;
        const double var = (sum2 / n - mean * mean) * n / (n - 1.0);
        return std::pair{mean, std::sqrt(var / n)};
    };
    const int blocks = cb.spec.d / cb.spec.main.k;
    auto [dm, sm] = one(cb.spec.main, seed);
    Estimate e{blocks * dm, blocks * sm};
    if (cb.spec.tail.N > 0) {
        auto [dt, st] = one(cb.spec.tail, seed + 1);
        e.total += dt;
        e.se += st;
    }
    return e;
}

fq::io::UniversalCodebook load(int d, const std::string& name) {
    return fq::io::load_codebook(k_dir + "/d" + std::to_string(d) + "/" + name);
}

}  // namespace

TEST_SUITE("shipped_codebooks") {
    TEST_CASE("every shipped codebook loads and the ladder is complete") {
        int count = 0, tcq_count = 0;
        for (const int d : {32, 64, 80, 96, 128, 256}) {
            CAPTURE(d);
            const fs::path dir = k_dir + "/d" + std::to_string(d);
            REQUIRE(fs::is_directory(dir));
            for (const auto& e : fs::directory_iterator(dir)) {
                if (e.path().extension() != ".json") continue;
                if (e.path().filename().string().rfind("tcq-", 0) == 0) {
                    CHECK(fq::io::load_tcq(e.path().string()).d == d);
                    ++tcq_count;
                    continue;
                }
                const auto cb = fq::io::load_codebook(e.path().string());
                CHECK(cb.spec.d == d);
                ++count;
            }
            for (int b = 1; b <= 4; ++b)
                CHECK(fs::exists(dir / ("scalar-b" + std::to_string(b) + ".json")));
            for (const char* f : {"fib-k2-N4", "fib-k2-N16", "fib-k2-N64", "fib-k2-N256",
                                  "fib-k3-N64", "fib-k3-N512", "fib-k4-N16", "fib-k4-N256",
                                  "fib-k8-N16", "fib-k8-N256", "fib-k16-N256", "fib-k32-N256"})
                if (std::string(f) != "fib-k32-N256" || d > 32)  // a block is shorter than d
                    CHECK(fs::exists(dir / (std::string(f) + ".json")));
            for (const char* f : {"tcq-L12-K1-V2", "tcq-L12-K1-V1", "tcq-L12-K3-V2",
                                  "tcq-L12-K2-V1", "tcq-L12-K3-V1", "tcq-L12-K4-V1"})
                CHECK(fs::exists(dir / (std::string(f) + ".json")));
        }
        CHECK(count == 6 * 16 - 1 + 4);  // + k = 4 and 8 at N = 4096 for d = 64 and 128
        CHECK(tcq_count == 6 * 6 + 2);   // + L = 16 at 1 and 2 bits for d = 128
    }

    TEST_CASE("tcq L = 12 ladder for d = 64 and 128 meets the issue's distortion targets") {
        // Issue 11: L = 12 within 0.8 dB of 4^-b at b = 2 and within 1.0 dB at b = 3 (the
        // validation distortion recorded in the file, on samples independent of training).
        for (const int d : {64, 128}) {
            CAPTURE(d);
            for (const char* kv : {"K1-V2", "K1-V1", "K3-V2", "K2-V1", "K3-V1", "K4-V1"}) {
                CAPTURE(kv);
                const auto f =
                    fq::io::load_tcq(k_dir + "/d" + std::to_string(d) + "/tcq-L12-" + kv + ".json");
                CHECK(f.trellis.L == 12);
                const double db = fq::io::db_above_bound(f.val_mse, f.rate());
                CHECK(db < 1.1);
                if (f.rate() == 2.0) CHECK(db < 0.8);
                if (f.rate() == 3.0) CHECK(db < 1.0);
            }
        }
    }

    TEST_CASE("tcq L = 16 entries meet the issue's near-limit targets") {
        // Issue 11: L = 16 within 0.45 dB of 4^-b at b = 1 and 2 (validation distortion).
        for (const int d : {128}) {
            CAPTURE(d);
            for (const char* kv : {"K1-V1", "K2-V1"}) {
                CAPTURE(kv);
                const auto f =
                    fq::io::load_tcq(k_dir + "/d" + std::to_string(d) + "/tcq-L16-" + kv + ".json");
                CHECK(f.trellis.L == 16);
                CHECK(fq::io::db_above_bound(f.val_mse, f.rate()) < 0.45);
            }
        }
    }

    TEST_CASE("scalar files hold the exact Lloyd-Max distortion of SPEC 4.1") {
        const std::map<std::pair<int, int>, double> ref = {
            {{64, 1}, 0.35839},  {{64, 2}, 0.11453},  {{64, 3}, 0.03339},  {{64, 4}, 0.00913},
            {{128, 1}, 0.36089}, {{128, 2}, 0.11600}, {{128, 3}, 0.03397}, {{128, 4}, 0.00931}};
        for (const auto& [key, value] : ref) {
            const auto cb = load(key.first, "scalar-b" + std::to_string(key.second) + ".json");
            CHECK(cb.val_total_mse == doctest::Approx(value).epsilon(1e-4));
            // And a fresh Monte-Carlo estimate agrees with the exact value within 4 standard
            // errors (and the standard error is small: under 1% of the value).
            const auto e = fresh_total_mse(cb, 1 << 17, 4242 + key.second);
            INFO("d=" << key.first << " b=" << key.second << ": " << e.total << " +- " << e.se);
            CHECK(std::abs(e.total - value) < 4 * e.se);
            CHECK(e.se < 0.01 * value);
        }
    }

    TEST_CASE("large-N entries: shipped for d = 64 and 128, below their ladder, never a default") {
        const fq::io::CodebookStore store(k_dir);
        for (const int d : {64, 128}) {
            CAPTURE(d);
            const auto k4 = load(d, "fib-k4-N4096.json"), k8 = load(d, "fib-k8-N4096.json");
            CHECK(k4.rate == doctest::Approx(3.0));
            CHECK(k8.rate == doctest::Approx(1.5));
            // 3 bits: below the shipped 3-bit k = 3 N = 512 entry (validation distortion).
            CHECK(k4.val_total_mse < load(d, "fib-k3-N512.json").val_total_mse);
            // A rate alone never selects them (exhaustive search of 4096 codewords is slow).
            CHECK(store.default_codebook_for(d, 3.0).N <= fq::io::k_max_default_N);
            CHECK(store.default_codebook_for(d, 1.5).N <= fq::io::k_max_default_N);
        }
    }

    TEST_CASE("fib is strictly below scalar at b = 1 and 2 (d = 64, 128), on fresh samples") {
        for (const int d : {64, 128}) {
            for (const auto& [b, fib] :
                 std::map<int, std::string>{{1, "fib-k8-N256.json"}, {2, "fib-k4-N256.json"}}) {
                const auto s = load(d, "scalar-b" + std::to_string(b) + ".json");
                const auto f = load(d, fib);
                CHECK(f.rate == doctest::Approx(b));
                const auto e = fresh_total_mse(f, 1 << 17, 777 + d + b);
                INFO("d=" << d << " b=" << b << " fib=" << e.total
                          << " scalar=" << s.val_total_mse);
                CHECK(e.total + 3 * e.se < s.val_total_mse);
            }
        }
    }

    TEST_CASE("fib matches or beats the k-means references of SPEC 4.2 at d = 128") {
        const std::map<std::string, double> ref = {
            {"fib-k4-N16.json", 0.3397},  {"fib-k8-N256.json", 0.3222},
            {"fib-k2-N16.json", 0.1061},  {"fib-k4-N256.json", 0.0970},
            {"fib-k3-N64.json", 0.1010},  {"fib-k16-N256.json", 0.5809},
            {"fib-k32-N256.json", 0.7689}};
        for (const auto& [name, value] : ref) {
            const auto cb = load(128, name);
            const auto e = fresh_total_mse(cb, 1 << 17, 99);
            INFO(name << ": fresh total MSE " << e.total << " (reference " << value << ")");
            CHECK(e.total <= value * 1.01);
        }
    }
}

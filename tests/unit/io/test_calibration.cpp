// io/calibration: the calibration vectors of fq-train gsrq / faiss-* against a plain
// dataset-by-dataset, head-by-head copy written in the test; ranges, weights and errors.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/io/calibration.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/io/kv_dump_writer.hpp"

#include "test_support.hpp"

using namespace fq;
using fq::test::TempDir;

namespace {

constexpr int H = 2, T = 10, d = 4, L = 3;

// layer_<l>/{k,v} with x[l][kind][h][t][j] = 1000 l + 100 kind + 10 h + t + j / 10, and a
// weight dataset layer_<l>/w [H, T] = 1 + l + h + t.
std::string write_dump(const std::string& dir) {
    const std::string path = dir + "/cal.h5";
    io::KvDumpWriter w(path);
    for (int l = 0; l < L; ++l) {
        for (int kind = 0; kind < 2; ++kind) {
            const std::string name = "layer_" + std::to_string(l) + (kind == 0 ? "/k" : "/v");
            std::vector<float> x(H * T * d);
            for (int h = 0; h < H; ++h)
                for (int t = 0; t < T; ++t)
                    for (int j = 0; j < d; ++j)
                        x[(h * T + t) * d + j] = 1000.0f * l + 100.0f * kind + 10.0f * h +
                                                 static_cast<float>(t) + j / 10.0f;
            w.create(name, H, T, d, "float32");
            w.write(name, io::Slab{0, H, 0, T}, x.data());
        }
        std::vector<float> wt(H * T);
        for (int h = 0; h < H; ++h)
            for (int t = 0; t < T; ++t) wt[h * T + t] = 1.0f + l + h + t;
        const std::string wname = "layer_" + std::to_string(l) + "/w";
        w.create(wname, 1, H, T, "float32", "td");
        w.write(wname, io::Slab{0, 1, 0, H}, wt.data());
    }
    w.commit();
    return path;
}

}  // namespace

TEST_SUITE("calibration") {
    TEST_CASE("vectors and weights equal a plain copy, in path order, layer and token ranges") {
        TempDir tmp;
        io::CalibrationSelection s;
        s.input = write_dump(tmp.path.string());
        s.tensor = "v";
        s.layers = "1:3";
        s.tokens = "2:7";
        s.weights = "w";
        const io::CalibrationVectors c = io::read_calibration_vectors(s);
        std::vector<float> want;
        std::vector<double> want_w;
        for (int l = 1; l < 3; ++l)
            for (int h = 0; h < H; ++h)
                for (int t = 2; t < 7; ++t) {
                    for (int j = 0; j < d; ++j)
                        want.push_back(1000.0f * l + 100.0f + 10.0f * h + static_cast<float>(t) +
                                       j / 10.0f);
                    want_w.push_back(1.0 + l + h + t);
                }
        CHECK(c.d == d);
        CHECK(c.n == want.size() / d);
        CHECK(c.x == want);
        CHECK(c.w == want_w);
        CHECK(c.datasets == std::vector<std::string>{"layer_1/v", "layer_2/v"});
        CHECK(c.token_range == "2:7");
    }

    TEST_CASE("centred: each (dataset, head) minus its float16 mean over the tokens read") {
        TempDir tmp;
        io::CalibrationSelection s;
        s.input = write_dump(tmp.path.string());
        s.tensor = "k";
        s.tokens = "2:7";
        s.center = true;
        const io::CalibrationVectors c = io::read_calibration_vectors(s);
        std::vector<float> want;
        for (int l = 0; l < L; ++l)
            for (int h = 0; h < H; ++h)
                for (int t = 2; t < 7; ++t)
                    for (int j = 0; j < d; ++j) {
                        const auto x = [&](int tt) {
                            return 1000.0f * l + 10.0f * h + static_cast<float>(tt) + j / 10.0f;
                        };
                        double sum = 0;
                        for (int tt = 2; tt < 7; ++tt) sum += x(tt);
                        const float mean =
                            core::half_to_float(core::float_to_half(static_cast<float>(sum / 5.0)));
                        want.push_back(x(t) - mean);
                    }
        CHECK(c.x == want);
        // Centring moved every dataset near zero (float16 rounds 2004.3 to 2004).
        for (float v : c.x) CHECK(std::fabs(v) < 3.0f);
    }

    TEST_CASE("errors: nothing selected, bad ranges, bad tensor") {
        TempDir tmp;
        io::CalibrationSelection s;
        s.input = write_dump(tmp.path.string());
        s.select = {"nothing/*"};
        CHECK_THROWS_AS(io::read_calibration_vectors(s), IoError);
        s.select.clear();
        s.layers = "2:9";
        CHECK_THROWS_AS(io::read_calibration_vectors(s), UsageError);
        s.layers.clear();
        s.tokens = "5:4";
        CHECK_THROWS_AS(io::read_calibration_vectors(s), UsageError);
        s.tokens.clear();
        s.tensor = "q";
        CHECK_THROWS_AS(io::read_calibration_vectors(s), UsageError);
    }
}

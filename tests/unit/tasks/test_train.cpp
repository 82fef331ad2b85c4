// The fq-train tasks (tasks/train_universal): one options struct per subcommand, the --config
// file (keys, precedence of explicit options, keys of the other subcommand, unknown keys),
// and the saved file equal to the codebook made directly from the library.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "fq/codecs/scalar.hpp"
#include "fq/core/error.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/io/text_file.hpp"
#include "fq/tasks/train_universal.hpp"

#include "test_support.hpp"

using namespace fq;
using fq::test::TempDir;

namespace {

std::string write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST_SUITE("train") {
    TEST_CASE("scalar: config keys apply, explicit options win, file equals the library's") {
        TempDir tmp;
        tasks::TrainScalarOptions o;
        o.config = write(tmp / "cfg.json", R"({"family": "scalar", "d": 16, "bits": 3,
                                               "rotation": "hadamard", "output": ")" +
                                               (tmp / "s.json") + R"("})");
        o.bits = 2;
        o.explicit_options = {"bits"};  // --bits 2 on the command line beats "bits": 3
        o.run.verbosity = -1;
        tasks::run_train_scalar(o);
        const io::UniversalCodebook cb = io::load_codebook(tmp / "s.json");
        CHECK(cb.spec.d == 16);
        CHECK(cb.spec.main.N == 4);
        CHECK(cb.spec.rotation == core::RotationKind::hadamard);
        const io::UniversalCodebook direct = io::make_scalar_codebook(
            codecs::lloyd_max_scalar(16, 2, 1e-12), 1e-12, core::RotationKind::hadamard, 1);
        CHECK(io::read_text_file(tmp / "s.json", "codebook") == io::serialize_codebook(direct));
    }

    TEST_CASE("config errors name the file and the key") {
        TempDir tmp;
        const auto fails_with = [&](const std::string& json, const std::string& what) {
            tasks::TrainScalarOptions o;
            o.config = write(tmp / "bad.json", json);
            o.run.output = tmp / "never.json";
            o.run.verbosity = -1;
            try {
                tasks::run_train_scalar(o);
                FAIL("no error for " << json);
            } catch (const UsageError& e) {
                CHECK(std::string(e.what()).find(what) != std::string::npos);
                CHECK(std::string(e.what()).find("bad.json") != std::string::npos);
            }
            CHECK(!std::filesystem::exists(tmp / "never.json"));
        };
        fails_with(R"({"k": 4})", "'k' does not apply to scalar codebooks");
        fails_with(R"({"bitz": 4})", "unknown key 'bitz'");
        fails_with(R"({"family": "fib"})", "but the command is 'scalar'");
        fails_with(R"({"bits": "two"})", "'bits' must be an integer");
        fails_with(R"([1, 2])", "is not a JSON object");
    }

    TEST_CASE("fib: the options struct is the training parameters") {
        tasks::TrainFibOptions o;
        o.d = 32;
        o.k = 2;
        o.N = 16;
        o.radial = "companded";
        o.restarts = 3;
        const train::FibParams p = tasks::fib_params(o);
        CHECK(p.d == 32);
        CHECK(p.k == 2);
        CHECK(p.N == 16);
        CHECK(p.restarts == 3);
        CHECK(p.radial == codecs::radial_init_from_string("companded"));
        CHECK(p.seed == train::FibParams{}.seed);
    }
}

// tcq codebook files (io/tcq_file.hpp) and the tcq family (io/families/tcq.cpp): round trip
// and determinism, validation, the codec built from a file and from the short form.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "fq/codecs/tcq.hpp"
#include "fq/core/error.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/tcq_file.hpp"
#include "fq/train/tcq_train.hpp"
#include "test_support.hpp"

using fq::io::TcqCodebookFile;

namespace {

TcqCodebookFile small_file() {
    fq::train::TcqParams p;
    p.d = 16;
    p.L = 6;
    p.K = 2;
    p.V = 1;
    p.max_iter = 4;
    p.train_vectors = 256;
    return fq::io::make_tcq_file(fq::train::train_tcq(p), fq::core::RotationKind::haar, 1);
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto pos = text.find(from);
    REQUIRE(pos != std::string::npos);
    return text.replace(pos, from.size(), to);
}

}  // namespace

TEST_SUITE("tcq_file") {
    TEST_CASE("round trip: same table and hash, same bytes, training deterministic") {
        const TcqCodebookFile f = small_file();
        const std::string text = fq::io::serialize_tcq(f);
        const TcqCodebookFile back = fq::io::parse_tcq(text, "t");
        CHECK(back.trellis.lut == f.trellis.lut);
        CHECK(back.content_hash == f.content_hash);
        CHECK(back.val_mse == f.val_mse);
        CHECK(fq::io::serialize_tcq(back) == text);
        // Same options, 1 or 2 threads: the same file.
        const int saved = fq::core::max_threads();
        fq::core::set_threads(1);
        const std::string one = fq::io::serialize_tcq(small_file());
        fq::core::set_threads(2);
        const std::string two = fq::io::serialize_tcq(small_file());
        fq::core::set_threads(saved);
        CHECK(one == two);
        CHECK(one == text);
        // The recorded distortion is the table's on fresh samples of the source.
        const auto val = fq::train::tcq_source_samples(16, 128, 1, 2);
        CHECK(fq::train::tcq_distortion(back.trellis, 16, val) == doctest::Approx(f.val_mse));
    }

    TEST_CASE("tampering is refused with CorruptError") {
        const std::string sealed = fq::io::serialize_tcq(small_file());
        const std::string text = fq::test::drop_file_seal(sealed);
        CHECK_NOTHROW(fq::io::parse_tcq(text, "t"));
        CHECK_THROWS_AS(fq::io::parse_tcq(replaced(sealed, "\"K\": 2", "\"K\":  2"), "t"),
                        fq::CorruptError);
        // One table digit: the content hash.
        const auto lut = text.find("\"lut\"");
        const auto digit = text.find_first_of("123456789", text.find('[', lut + 8) + 3);
        std::string t = text;
        t[digit] = t[digit] == '9' ? '8' : static_cast<char>(t[digit] + 1);
        CHECK_THROWS_AS(fq::io::parse_tcq(t, "t"), fq::CorruptError);
        CHECK_THROWS_AS(fq::io::parse_tcq(
                            replaced(text, "\"format_version\": 1", "\"format_version\": 2"), "t"),
                        fq::CorruptError);
        CHECK_THROWS_AS(fq::io::parse_tcq(replaced(text, "\"L\": 6", "\"L\": 7"), "t"),
                        fq::CorruptError);
        CHECK_THROWS_AS(fq::io::parse_tcq(replaced(text, "\"rate_bits_per_coord\": 2.0",
                                                   "\"rate_bits_per_coord\": 2.5"),
                                          "t"),
                        fq::CorruptError);
        CHECK_THROWS_AS(fq::io::parse_tcq(text.substr(0, text.size() / 2), "t"), fq::CorruptError);
    }

    TEST_CASE("the family: a file or the short form gives the codec, its rate, its label") {
        fq::test::TempDir dir;
        const TcqCodebookFile f = small_file();
        std::filesystem::create_directories(dir.path / "d16");
        const std::string path = (dir.path / "d16" / fq::io::tcq_file_name(6, 2, 1)).string();
        fq::io::save_tcq(f, path, false);
        fq::io::CodebookStore store(dir.path.string());
        nlohmann::ordered_json desc = {{"codec", "tcq"}, {"codebook", path}};
        const fq::io::BuiltCodec b =
            fq::io::make_codec(desc, store, "test", fq::ExitCode::usage, 16);
        CHECK(b.family() == "tcq");
        CHECK(b.codec->code_bits() == 16 + 32);
        CHECK(b.label == "tcq L=6 K=2 V=1 norm/float16");
        CHECK(b.description["codebook"] == f.content_hash);
        CHECK(b.stored.format == fq::io::k_tcq_format);
        const auto spec = fq::io::parse_codec_spec("tcq:bits=2,L=6,header=gain", 16, store);
        CHECK(spec["codec"] == "tcq");
        CHECK(spec["header"] == "gain");
        CHECK_THROWS_AS(fq::io::parse_codec_spec("tcq:bits=3,L=6", 16, store), fq::UsageError);
        CHECK_THROWS_AS(fq::io::parse_codec_spec("tcq:bits=0.3", 16, store), fq::UsageError);
        // Coding through the built codec: error of a random vector below its energy.
        std::vector<float> x = fq::test::randn(4 * 16, 3);
        std::vector<std::uint8_t> codes(4 * b.codec->code_bytes());
        std::vector<float> y(x.size());
        b.codec->encode(x.data(), 4, codes.data());
        b.codec->decode(codes.data(), 4, y.data());
        double e = 0, n = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            e += (x[i] - y[i]) * static_cast<double>(x[i] - y[i]);
            n += x[i] * static_cast<double>(x[i]);
        }
        CHECK(e / n < 0.2);
    }
}

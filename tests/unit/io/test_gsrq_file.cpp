// Tests of io/gsrq_file: the GSRQ codebook file round trip (codebooks, statistics, hash),
// deterministic bytes, and every tampering a reader must refuse (CorruptError).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fq/codecs/gsrq.hpp"
#include "fq/core/error.hpp"
#include "fq/io/gsrq_file.hpp"
#include "fq/train/gskm.hpp"

#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace fq;
using namespace fq::io;
using Json = nlohmann::ordered_json;

namespace {

GsrqCodebookFile small_file(bool shared = false) {
    const std::vector<float> x = fq::test::normal_array<float>(400 * 16, 3);
    train::GsrqTrainOptions o;
    o.D = 4;
    o.K = 8;
    o.S = 2;
    o.shared = shared;
    o.kmeans.max_iter = 5;
    Json c = Json::object();
    c["note"] = "test";
    return make_gsrq_file(train::train_gsrq(x.data(), 400, 16, nullptr, o), c);
}

std::string with(std::string text, const std::string& from, const std::string& to) {
    const auto pos = text.find(from);
    REQUIRE(pos != std::string::npos);
    return text.replace(pos, from.size(), to);
}

}  // namespace

TEST_SUITE("gsrq_file") {
    TEST_CASE("round trip: same codebooks, same hash, same bytes") {
        for (bool shared : {false, true}) {
            CAPTURE(shared);
            const GsrqCodebookFile f = small_file(shared);
            CHECK(f.rate() == doctest::Approx(2 * 3.0 / 4));
            CHECK(f.codebooks.method == "gain-shape");
            const std::string text = serialize_gsrq(f);
            const GsrqCodebookFile g = parse_gsrq(text, "mem");
            CHECK(g.content_hash == f.content_hash);
            CHECK(g.codebooks.d == 16);
            CHECK(g.codebooks.shared == shared);
            REQUIRE(g.codebooks.stages.size() == 2);
            for (int s = 0; s < 2; ++s)
                for (int p = 0; p < (shared ? 1 : 4); ++p)
                    CHECK(g.codebooks.codebook(s, p).codewords ==
                          f.codebooks.codebook(s, p).codewords);
            CHECK(g.construction["note"] == "test");
            CHECK(g.training["stages"].size() == 2);
            CHECK(g.training["stages"][0]["codebook"].contains("shrinkage"));
            CHECK(serialize_gsrq(g) == text);  // deterministic, re-writing gives the same bytes
            // Codes decode identically through the parsed file.
            const codecs::GsrqCodec a(f.codebooks), b(g.codebooks);
            std::vector<float> x(16, 0.25f), ya(16), yb(16);
            std::vector<std::uint8_t> ca(a.code_bytes()), cb(b.code_bytes());
            a.encode(x.data(), 1, ca.data());
            b.encode(x.data(), 1, cb.data());
            CHECK(ca == cb);
        }
    }

    TEST_CASE("save and load, an existing file needs force") {
        const fq::test::TempDir tmp;
        const fs::path& dir = tmp.path;
        const GsrqCodebookFile f = small_file();
        save_gsrq(f, (dir / "g.json").string(), false);
        CHECK(load_gsrq((dir / "g.json").string()).content_hash == f.content_hash);
        CHECK_THROWS_AS(save_gsrq(f, (dir / "g.json").string(), false), UsageError);
        CHECK_NOTHROW(save_gsrq(f, (dir / "g.json").string(), true));
        CHECK_THROWS_AS(load_gsrq((dir / "missing.json").string()), IoError);
    }

    TEST_CASE("tampering is refused with CorruptError") {
        const GsrqCodebookFile f = small_file();
        const std::string sealed = serialize_gsrq(f);
        // Any changed byte of the sealed file: the seal (io/json_util.hpp).
        CHECK_THROWS_AS(parse_gsrq(with(sealed, "\"K\": 8", "\"K\":  8"), "t"), CorruptError);
        // The edits below go to the unsealed text, to reach the checks they are about.
        const std::string text = fq::test::drop_file_seal(sealed);
        CHECK(parse_gsrq(text, "t").content_hash == f.content_hash);
        const Json doc = Json::parse(text);
        // A changed codeword: the content hash no longer matches.
        {
            Json j = doc;
            j["stages"][1][2][3][0] = j["stages"][1][2][3][0].get<double>() + 1e-9;
            CHECK_THROWS_AS(parse_gsrq(j.dump(), "t"), CorruptError);
        }
        CHECK_THROWS_AS(
            parse_gsrq(with(text, "\"format_version\": 1", "\"format_version\": 2"), "t"),
            CorruptError);
        CHECK_THROWS_AS(parse_gsrq(with(text, "fq-gsrq-codebook", "fq-codebook"), "t"),
                        CorruptError);
        CHECK_THROWS_AS(parse_gsrq(with(text, "\"K\": 8", "\"K\": 9"), "t"), CorruptError);
        CHECK_THROWS_AS(parse_gsrq(with(text, "\"S\": 2", "\"S\": 3"), "t"), CorruptError);
        CHECK_THROWS_AS(
            parse_gsrq(with(text, "\"rate_bits_per_coord\": 1.5", "\"rate_bits_per_coord\": 2"),
                       "t"),
            CorruptError);
        CHECK_THROWS_AS(parse_gsrq(with(text, "\"method\"", "\"extra\": 1, \"method\""), "t"),
                        CorruptError);
        CHECK_THROWS_AS(parse_gsrq(text.substr(0, text.size() / 2), "t"), CorruptError);
        {
            Json j = doc;
            j["stages"][0][0].erase(0);  // a missing row
            CHECK_THROWS_AS(parse_gsrq(j.dump(), "t"), CorruptError);
        }
        {
            Json j = doc;
            j.erase("training");
            CHECK_THROWS_AS(parse_gsrq(j.dump(), "t"), CorruptError);
        }
        // Statistics are not part of the hash: changing them keeps the file valid.
        {
            Json j = doc;
            j["training"]["extra"] = 1;
            CHECK(parse_gsrq(j.dump(), "t").content_hash == f.content_hash);
        }
    }
}

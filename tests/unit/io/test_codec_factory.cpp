// Tests of io/codec_factory: codec descriptions (defaults, unknown keys), short-form SPECs,
// codebook resolution by path and hash, and the default codebook choice for (d, rate).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fq/codecs/scalar.hpp"
#include "fq/core/error.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/train/fib_train.hpp"

namespace fs = std::filesystem;
using namespace fq;
using namespace fq::io;
using Json = nlohmann::ordered_json;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "fq_test_factory.XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

UniversalCodebook scalar_cb(int d, int bits) {
    return make_scalar_codebook(codecs::lloyd_max_scalar(d, bits), 1e-12, core::RotationKind::haar,
                                1);
}

UniversalCodebook small_fib(int d, int k, int N) {
    train::FibParams p;
    p.d = d;
    p.k = k;
    p.N = N;
    p.train_samples = 4000;
    p.val_samples = 2000;
    p.restarts = 1;
    p.max_iter = 20;
    return make_fib_codebook(train::train_fib(p), core::RotationKind::haar, 1);
}

}  // namespace

TEST_SUITE("codec_factory") {
    TEST_CASE("descriptions: defaults filled, unknown keys and values refused") {
        const Json d = normalize_description({{"codec", "fib"}, {"codebook", "x.json"}}, "cfg");
        CHECK(d["header"] == "norm");
        CHECK(d["header_type"] == "float16");
        CHECK_THROWS_AS(
            normalize_description({{"codec", "fib"}, {"codebook", "x"}, {"rate", 2}}, "cfg"),
            UsageError);
        CHECK_THROWS_AS(normalize_description({{"codec", "zip"}, {"codebook", "x"}}, "cfg"),
                        UsageError);
        CHECK_THROWS_AS(normalize_description({{"codec", "fib"}}, "cfg"), UsageError);
        CHECK_THROWS_AS(
            normalize_description({{"codec", "fib"}, {"codebook", "x"}, {"header", "max"}}, "cfg"),
            UsageError);
        CHECK_THROWS_AS(normalize_description({{"codec", "fib"}, {"codebook", "x"}, {"extra", 1}},
                                              "file", ExitCode::corrupt),
                        CorruptError);
    }

    TEST_CASE("make_codec by path and by hash; family must match") {
        TempDir tmp;
        const UniversalCodebook cb = scalar_cb(64, 2);
        save_codebook(cb, tmp / "s2.json", false);
        CodebookStore store(tmp.path.string());
        BuiltCodec b = make_codec(
            {{"codec", "scalar"}, {"codebook", tmp / "s2.json"}, {"header_type", "float32"}},
            store);
        CHECK(b.codec->dim() == 64);
        CHECK(b.codec->code_bytes() == 20);
        CHECK(b.description["codebook"] == cb.content_hash);
        // relative to the codebook directory, and by hash once added
        CHECK(
            make_codec({{"codec", "scalar"}, {"codebook", "s2.json"}}, store).codec->code_bytes() ==
            18);
        CHECK_THROWS_AS(make_codec({{"codec", "scalar"}, {"codebook", cb.content_hash}}, store),
                        IoError);
        store.add(cb);
        CHECK(
            make_codec({{"codec", "scalar"}, {"codebook", cb.content_hash}}, store).codec->rate() ==
            2.25);
        CHECK_THROWS_AS(make_codec({{"codec", "fib"}, {"codebook", cb.content_hash}}, store),
                        UsageError);
        CHECK_THROWS_AS(make_codec({{"codec", "scalar"}, {"codebook", tmp / "none.json"}}, store),
                        IoError);
    }

    TEST_CASE("default_codebook_for: highest rate <= rate, then lowest validation MSE") {
        TempDir tmp;
        fs::create_directories(tmp.path / "d64");
        UniversalCodebook f16 = small_fib(64, 2, 16);  // rate 2
        UniversalCodebook f4 = small_fib(64, 2, 4);    // rate 1
        save_codebook(f4, tmp / "d64/fib-k2-N4.json", false);
        // The same codebook twice with different recorded validation MSE (the content hash
        // ignores statistics): the lower one wins the tie.
        f16.val_total_mse = 0.2;
        save_codebook(f16, tmp / "d64/fib-a.json", false);
        f16.val_total_mse = 0.1;
        save_codebook(f16, tmp / "d64/fib-b.json", false);
        save_codebook(scalar_cb(64, 2), tmp / "d64/scalar-b2.json", false);
        {
            std::ofstream junk(tmp / "d64/junk.json");
            junk << "{not json";
        }
        const CodebookStore store(tmp.path.string());
        CHECK(store.shipped(64).size() == 4);
        CHECK(store.default_codebook_for(64, 2.0).path == tmp / "d64/fib-b.json");
        CHECK(store.default_codebook_for(64, 2.5).path == tmp / "d64/fib-b.json");
        CHECK(store.default_codebook_for(64, 1.999).path == tmp / "d64/fib-k2-N4.json");
        CHECK(store.default_codebook_for(64, 2.0, "scalar").path == tmp / "d64/scalar-b2.json");
        CHECK_THROWS_AS(store.default_codebook_for(64, 0.5), UsageError);
        try {
            store.default_codebook_for(96, 2.0);
            FAIL("no error");
        } catch (const UsageError& e) {
            CHECK(std::string(e.what()).find("fq-train fib --d 96 --k 4 --N 256 -o " +
                                             tmp.path.string() + "/d96/fib-k4-N256.json") !=
                  std::string::npos);
        }
        CHECK(train_command_for(128, 1.0, "fib") ==
              "fq-train fib --d 128 --k 8 --N 256 -o codebooks/d128/fib-k8-N256.json");
        CHECK(train_command_for(64, 3.0, "scalar") ==
              "fq-train scalar --d 64 --bits 3 -o codebooks/d64/scalar-b3.json");
        // hash lookup through the directory
        CHECK(store.resolve(f4.content_hash).spec.main.N == 4);
    }

    TEST_CASE("short-form SPECs") {
        TempDir tmp;
        fs::create_directories(tmp.path / "d64");
        save_codebook(small_fib(64, 2, 16), tmp / "d64/fib-k2-N16.json", false);
        CodebookStore store(tmp.path.string());
        Json j = parse_codec_spec("fib:rate=2,header=gain", 64, store);
        CHECK(j["codec"] == "fib");
        CHECK(j["header"] == "gain");
        CHECK(j["codebook"] == tmp / "d64/fib-k2-N16.json");
        CHECK(parse_codec_spec("fib:k=2,N=16", 64, store)["codebook"] ==
              tmp / "d64/fib-k2-N16.json");
        CHECK_THROWS_AS(parse_codec_spec("fib:k=4,N=256", 64, store), UsageError);
        CHECK_THROWS_AS(parse_codec_spec("fib:rate=2,bits=3", 64, store), UsageError);
        CHECK_THROWS_AS(parse_codec_spec("fib:rate=x", 64, store), UsageError);
        CHECK_THROWS_AS(parse_codec_spec("scalar:bits=9", 64, store), UsageError);
        CHECK_THROWS_AS(parse_codec_spec("nonsense", 64, store), UsageError);
        // scalar not shipped: computed on the fly, resolvable by hash
        j = parse_codec_spec("scalar:bits=3", 64, store, "norm", "float32");
        CHECK(j["codebook"] == scalar_cb(64, 3).content_hash);
        CHECK(make_codec(j, store).codec->code_bytes() == (32 + 192) / 8);
        // a codebook file
        j = parse_codec_spec(tmp / "d64/fib-k2-N16.json", 64, store);
        CHECK(j["codec"] == "fib");
    }
}

// Tests of io/codec_factory: codec descriptions (defaults, unknown keys), short-form SPECs,
// codebook resolution by path and hash, and the default codebook choice for (d, rate).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fq/codecs/scalar.hpp"
#include "fq/core/error.hpp"
#include "fq/core/rng.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/train/fib_train.hpp"

#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace fq;
using namespace fq::io;
using Json = nlohmann::ordered_json;
using fq::test::scalar_codebook;
using fq::test::TempDir;

namespace {

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

    TEST_CASE("make_codec by path and by hash, family must match") {
        TempDir tmp;
        const UniversalCodebook cb = scalar_codebook(64, 2);
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
        save_codebook(scalar_codebook(64, 2), tmp / "d64/scalar-b2.json", false);
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
            CHECK(std::string(e.what()).find("fq-train fib --d 96 --k 4 --N 256 --restarts 2 -o " +
                                             tmp.path.string() + "/d96/fib-k4-N256.json") !=
                  std::string::npos);
        }
        CHECK(train_command_for(128, 1.0, "fib") ==
              "fq-train fib --d 128 --k 8 --N 256 --restarts 2 -o codebooks/d128/fib-k8-N256.json");
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
        CHECK(j["codebook"] == scalar_codebook(64, 3).content_hash);
        CHECK(make_codec(j, store).codec->code_bytes() == (32 + 192) / 8);
        // a codebook file
        j = parse_codec_spec(tmp / "d64/fib-k2-N16.json", 64, store);
        CHECK(j["codec"] == "fib");
    }

    TEST_CASE("fib search=tree: written only when chosen, encodes near the exhaustive codes") {
        TempDir tmp;
        fs::create_directories(tmp.path / "d64");
        const UniversalCodebook cb = small_fib(64, 4, 256);
        save_codebook(cb, tmp / "d64/fib-k4-N256.json", false);
        CodebookStore store(tmp.path.string());
        // The default is not written: descriptions (and containers) as before the option.
        CHECK(
            !normalize_description({{"codec", "fib"}, {"codebook", "x"}}, "c").contains("search"));
        CHECK(!normalize_description(
                   {{"codec", "fib"}, {"codebook", "x"}, {"search", "exhaustive"}}, "c")
                   .contains("search"));
        CHECK(normalize_description({{"codec", "fib"}, {"codebook", "x"}, {"search", "tree"}},
                                    "c")["search"] == "tree");
        CHECK_THROWS_AS(
            normalize_description({{"codec", "fib"}, {"codebook", "x"}, {"search", "fast"}}, "c"),
            UsageError);
        const Json jt = parse_codec_spec("fib:k=4,N=256,search=tree", 64, store);
        CHECK(jt["search"] == "tree");
        const BuiltCodec tree = make_codec(jt, store);
        const BuiltCodec exact = make_codec(parse_codec_spec("fib:k=4,N=256", 64, store), store);
        CHECK(tree.description["search"] == "tree");
        CHECK(!exact.description.contains("search"));
        CHECK(tree.label.find("tree") != std::string::npos);
        CHECK(tree.codec->code_bytes() == exact.codec->code_bytes());
        // Same data: the tree's codes decode with the same decoder, within 0.1 dB of the
        // exhaustive search's distortion (16 parents, 4 probes of 256 codewords).
        fq::core::Rng rng(3);
        const std::size_t n = 2000;
        std::vector<float> x(n * 64), yt(n * 64), ye(n * 64);
        for (auto& v : x) v = static_cast<float>(rng.normal());
        std::vector<std::uint8_t> ct(n * tree.codec->code_bytes()),
            ce(n * exact.codec->code_bytes());
        tree.codec->encode(x.data(), n, ct.data());
        exact.codec->encode(x.data(), n, ce.data());
        exact.codec->decode(ct.data(), n, yt.data());
        exact.codec->decode(ce.data(), n, ye.data());
        double et = 0, ee = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            et += (x[i] - yt[i]) * (x[i] - yt[i]);
            ee += (x[i] - ye[i]) * (x[i] - ye[i]);
        }
        MESSAGE("tree vs exhaustive: ", 10 * std::log10(et / ee), " dB");
        CHECK(et >= ee * (1 - 1e-6));
        CHECK(10 * std::log10(et / ee) < 0.1);
        CHECK_THROWS_AS(parse_codec_spec("fib:k=4,N=256,search=fast", 64, store), UsageError);
    }

    TEST_CASE("peer codec descriptions: defaults, unknown keys and values refused") {
        Json j = normalize_description({{"codec", "qjl"}}, "cfg");
        CHECK(j == Json{{"codec", "qjl"}, {"m", 0}, {"seed", 1}});
        j = normalize_description({{"codec", "scalar+qjl"}, {"bits", 4}}, "cfg");
        CHECK(j["rotation"] == "hadamard");
        CHECK(j["qjl_seed"] == 2);
        j = normalize_description({{"codec", "int"}}, "cfg");
        CHECK(j == Json{{"codec", "int"}, {"bits", 4}, {"group", 32}, {"grouping", "per_token"}});
        j = normalize_description({{"codec", "block"}, {"format", "q4_0"}}, "cfg");
        CHECK(j["rotation"] == "none");
        j = normalize_description({{"codec", "gsrq"}, {"codebook", "g.json"}}, "cfg");
        CHECK(j["beam"] == 1);
        j = normalize_description({{"codec", "scalar"}, {"bits", 3}, {"rotation", "none"}}, "cfg");
        CHECK(j["rotation_seed"] == 1);
        const std::vector<Json> bad = {
            {{"codec", "qjl"}, {"bits", 2}},
            {{"codec", "qjl"}, {"m", -1}},
            {{"codec", "scalar+qjl"}, {"bits", 1}},
            {{"codec", "scalar+qjl"}, {"rotation", "none"}},
            {{"codec", "int"}, {"grouping", "per_head"}},
            {{"codec", "int"}, {"bits", 9}},
            {{"codec", "int"}, {"codebook", "x"}},
            {{"codec", "block"}, {"format", "q5_1"}},
            {{"codec", "block"}, {"bits", 4}},
            {{"codec", "gsrq"}},
            {{"codec", "gsrq"}, {"codebook", "x"}, {"beam", 0}},
            {{"codec", "scalar"}, {"bits", 2}, {"codebook", "x"}},
            {{"codec", "scalar"}, {"codebook", "x"}, {"rotation", "none"}},
            {{"codec", "fib"}, {"codebook", "x"}, {"bits", 2}},
        };
        for (const Json& b : bad) {
            CAPTURE(b.dump());
            CHECK_THROWS_AS(normalize_description(b, "cfg"), UsageError);
            CHECK_THROWS_AS(normalize_description(b, "file", ExitCode::corrupt), CorruptError);
        }
        CHECK(with_tensor_defaults({{"codec", "int"}}, KvKind::k)["grouping"] == "per_channel");
        CHECK(with_tensor_defaults({{"codec", "int"}}, KvKind::v)["grouping"] == "per_token");
        CHECK(with_tensor_defaults({{"codec", "int"}, {"grouping", "per_token"}},
                                   KvKind::k)["grouping"] == "per_token");
    }

    TEST_CASE("make_codec builds every peer family from a description and d") {
        TempDir tmp;
        CodebookStore store(tmp / "none");
        struct Case {
            Json desc;
            std::string family;
            double bits;  // per vector
            std::size_t G;
        };
        const std::vector<Case> cases = {
            {{{"codec", "qjl"}}, "qjl", 16 + 64, 1},
            {{{"codec", "qjl"}, {"m", 128}}, "qjl", 16 + 128, 1},
            {{{"codec", "scalar+qjl"}, {"bits", 4}}, "scalar+qjl", 16 + 3 * 64 + 16 + 64, 1},
            {{{"codec", "int"}, {"bits", 2}, {"group", 64}}, "int", 64 * (2 + 0.5), 1},
            {{{"codec", "int"}, {"bits", 4}, {"grouping", "per_channel"}}, "int", 64 * 5.0, 32},
            {{{"codec", "block"}, {"format", "q4_0"}, {"rotation", "hadamard"}}, "block", 288, 1},
            {{{"codec", "block"}}, "block", 544, 1},
            {{{"codec", "scalar"}, {"bits", 2}, {"rotation", "none"}}, "scalar", 16 + 128, 1},
        };
        for (const Case& c : cases) {
            CAPTURE(c.desc.dump());
            const BuiltCodec b = make_codec(c.desc, store, "cfg", ExitCode::usage, 64);
            CHECK(b.family() == c.family);
            CHECK(b.codec->dim() == 64);
            CHECK(b.codec->code_bits() == doctest::Approx(c.bits).epsilon(1e-12));
            CHECK(b.codec->block_vectors() == c.G);
            CHECK(!codec_label(b).empty());
            // The stored form is complete and rebuilds the same codec (the scalar codebook
            // made from "bits" is embedded in files: here added to the store).
            if (!b.codebook.content_hash.empty()) store.add(b.codebook);
            const BuiltCodec again =
                make_codec(b.description, store, "file", ExitCode::corrupt, 64);
            CHECK(again.description == b.description);
            CHECK(again.codec->code_bytes() == b.codec->code_bytes());
            if (c.family == "scalar") {
                CHECK(b.codebook.spec.rotation == core::RotationKind::none);
                CHECK(b.description["codebook"] == b.codebook.content_hash);
                CHECK(b.codebook_hash() == b.codebook.content_hash);
            } else {
                CHECK(b.codebook_hash().empty());
            }
        }
        // Generated matrices carry a checksum in the stored form; a mismatch is refused.
        {
            BuiltCodec b = make_codec({{"codec", "scalar+qjl"}}, store, "c", ExitCode::usage, 64);
            REQUIRE(b.description.contains("checksum"));
            CHECK(b.description["checksum"].get<std::string>().size() == 16);
            Json bad = b.description;
            bad["checksum"] = "0123456789abcdef";
            CHECK_THROWS_AS(make_codec(bad, store, "f", ExitCode::corrupt, 64), CorruptError);
            bad = b.description;
            bad["qjl_seed"] = 3;  // another S: another checksum
            CHECK_THROWS_AS(make_codec(bad, store, "f", ExitCode::corrupt, 64), CorruptError);
            CHECK(!make_codec({{"codec", "block"}}, store, "c", ExitCode::usage, 64)
                       .description.contains("checksum"));
            CHECK(make_codec({{"codec", "block"}, {"rotation", "hadamard"}}, store, "c",
                             ExitCode::usage, 64)
                      .description.contains("checksum"));
            CHECK_THROWS_AS(make_codec({{"codec", "block"}, {"checksum", "0123456789abcdef"}},
                                       store, "c", ExitCode::usage, 64),
                            UsageError);
        }
        // d is required by the families without a codebook, and must suit them.
        CHECK_THROWS_AS(make_codec({{"codec", "qjl"}}, store), UsageError);
        CHECK_THROWS_AS(make_codec({{"codec", "block"}}, store, "cfg", ExitCode::usage, 48),
                        UsageError);
        CHECK_THROWS_AS(make_codec({{"codec", "scalar+qjl"}}, store, "f", ExitCode::corrupt, 48),
                        CorruptError);  // hadamard needs a power of two
        CHECK_THROWS_AS(
            make_codec({{"codec", "int"}, {"group", 48}}, store, "c", ExitCode::usage, 64),
            UsageError);  // per_token G must divide d
    }

    TEST_CASE("short forms of the peer codecs") {
        TempDir tmp;
        CodebookStore store(tmp / "none");
        Json j = parse_codec_spec("qjl", 64, store);
        CHECK(j == Json{{"codec", "qjl"}});
        j = parse_codec_spec("scalar+qjl:bits=3", 64, store);
        CHECK(j["bits"] == 3);
        j = parse_codec_spec("int:bits=4,group=32,grouping=per_token", 64, store);
        CHECK(j["grouping"] == "per_token");
        j = parse_codec_spec("int:bits=2", 64, store);
        CHECK(!j.contains("grouping"));  // left to the tensor (fq-encode: K per_channel)
        j = parse_codec_spec("block:format=q4_0,rotation=hadamard", 64, store);
        CHECK(make_codec(j, store, "c", ExitCode::usage, 64).codec->rate() == 4.5);
        j = parse_codec_spec("qjl:seed=18446744073709551615", 64, store);
        CHECK(j["seed"].get<std::uint64_t>() == 18446744073709551615ull);
        j = parse_codec_spec("scalar:bits=3,rotation=hadamard", 64, store);
        CHECK(make_codec(j, store, "c", ExitCode::usage, 64).codebook.spec.rotation ==
              core::RotationKind::hadamard);
        // Parameter values are checked once, when the description is built.
        const auto build = [&](const std::string& spec) {
            return make_codec(with_tensor_defaults(parse_codec_spec(spec, 64, store), KvKind::v),
                              store, "c", ExitCode::usage, 64);
        };
        CHECK_THROWS_AS(build("qjl:bits=2"), UsageError);
        CHECK_THROWS_AS(build("int:grouping=rows"), UsageError);
        CHECK_THROWS_AS(build("gsrq"), UsageError);  // needs a codebook
        // Syntax is checked by the parser.
        CHECK_THROWS_AS(parse_codec_spec("block:format=q8_0,format=q4_0", 64, store), UsageError);
        CHECK_THROWS_AS(parse_codec_spec("qjl:m", 64, store), UsageError);
    }
}

// The encode and decode tasks (tasks/encode, tasks/decode) end to end on the real d = 64
// sample and on synthetic dumps: bit-for-bit agreement with the in-memory codec, every peer
// family through the container with exact rates, codebooks given with -c or embedded.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "fq/codecs/block_vq.hpp"
#include "fq/codecs/scalar.hpp"
#include "fq/core/error.hpp"
#include "fq/core/rng.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/encoded_file.hpp"
#include "fq/io/gsrq_file.hpp"
#include "fq/io/hdf5_util.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/tasks/decode.hpp"
#include "fq/tasks/encode.hpp"
#include "fq/train/gskm.hpp"

#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace fq;
using namespace fq::io;
using fq::test::scalar_codebook;
using fq::test::TempDir;

namespace {

const std::string k_sample = std::string(FQ_SOURCE_DIR) + "/data/sample_kv_d64.h5";

}  // namespace

TEST_SUITE("encode_decode") {
    TEST_CASE("encode + decode of the real sample equal the in-memory codec bit for bit") {
        TempDir tmp;
        for (const char* spec : {"scalar:bits=2", "scalar:bits=3,header=gain"}) {
            CAPTURE(spec);
            tasks::EncodeOptions eo;
            eo.input = k_sample;
            eo.output = tmp / "s.fq.h5";
            eo.k_codec = spec;
            eo.v_codec = spec;
            eo.chunk_tokens = 200;
            eo.codebooks = tmp / "no-shipped-codebooks";  // scalar is computed on the fly
            eo.verbosity = -1;
            eo.force = true;
            const tasks::EncodeSummary s = tasks::run_encode(eo);
            REQUIRE(s.rows.size() == 2);
            CHECK(s.rows[0].tensor == "K");
            CHECK(s.rows[0].vectors == 5 * 2 * 512);

            tasks::DecodeOptions dopt;
            dopt.input = eo.output;
            dopt.output = tmp / "s.h5";
            dopt.verbosity = -1;
            dopt.force = true;
            tasks::run_decode(dopt);

            EncodedFileReader r(eo.output);
            KvDumpReader src(k_sample);
            KvDumpReader dec(dopt.output);
            double num = 0, den = 0;
            for (const DatasetInfo& info : src.datasets()) {
                if (info.kind == KvKind::q) continue;
                const EncodedDataset& e = r.dataset(info.path);
                const UniversalCodebook cb = r.codebook(e.codebook);
                codecs::HeaderOptions h;
                h.value = std::string(spec).find("gain") != std::string::npos
                              ? codecs::NormHeader::gain
                              : codecs::NormHeader::norm;
                const codecs::BlockVqCodec codec("scalar", cb.spec, h);
                const std::vector<float> x = src.read_all(info);
                const std::size_t n = x.size() / 64;
                std::vector<std::uint8_t> want(n * codec.code_bytes()), got(want.size());
                codec.encode(x.data(), n, want.data());
                r.read_codes(e, full_slab(info), got.data());
                CHECK(got == want);
                std::vector<float> y(x.size());
                codec.decode(want.data(), n, y.data());
                CHECK(dec.read_all(dec.info(info.path)) == y);
                if (info.kind == KvKind::k)
                    for (std::size_t i = 0; i < x.size(); ++i) {
                        num += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
                        den += double(x[i]) * x[i];
                    }
            }
            const double nmse = num / den;
            CAPTURE(nmse);
            CHECK(nmse < (std::string(spec).find("bits=3") != std::string::npos ? 0.045 : 0.125));
            CHECK(nmse > 0.01);
        }
    }

    TEST_CASE("decode refuses a -c codebook that is not the file's") {
        TempDir tmp;
        tasks::EncodeOptions eo;
        eo.input = k_sample;
        eo.output = tmp / "s.fq.h5";
        eo.k_codec = eo.v_codec = "scalar:bits=2";
        eo.codebooks = tmp / "none";
        eo.verbosity = -1;
        tasks::run_encode(eo);
        save_codebook(scalar_codebook(64, 3), tmp / "s3.json", false);
        tasks::DecodeOptions d;
        d.input = eo.output;
        d.output = tmp / "out.h5";
        d.codebooks = {tmp / "s3.json"};
        d.verbosity = -1;
        CHECK_THROWS_AS(tasks::run_decode(d), CorruptError);
        CHECK(!fs::exists(d.output));
        save_codebook(scalar_codebook(64, 2), tmp / "s2.json", false);
        d.codebooks = {tmp / "s2.json"};
        CHECK_NOTHROW(tasks::run_decode(d));
    }

    TEST_CASE("every peer codec round-trips through the container with exact rates") {
        // A synthetic dump: 2 heads x 75 tokens (not a multiple of G = 32) of d = 64, with
        // an outlier channel as real keys have; checksum blocks of 40 tokens (rounded up to
        // 64 for G = 32).
        TempDir tmp;
        constexpr int H = 2, T = 75, d = 64;
        std::vector<float> xk(H * T * d), xv(xk.size());
        core::Rng rng(42);
        for (std::size_t i = 0; i < xk.size(); ++i) {
            xk[i] = static_cast<float>(rng.normal() * (i % d == 3 ? 8.0 : 1.0) + 0.5);
            xv[i] = static_cast<float>(rng.normal());
        }
        const std::string dump = tmp / "dump.h5";
        {
            KvDumpWriter w(dump);
            w.create("layer_0/k", H, T, d, "float32");
            w.create("layer_0/v", H, T, d, "float32");
            w.write("layer_0/k", Slab{0, H, 0, T}, xk.data());
            w.write("layer_0/v", Slab{0, H, 0, T}, xv.data());
            w.commit();
        }
        // A small gsrq codebook file trained on the keys (D = 8, K = 16, 2 stages: 1 bit).
        train::GsrqTrainOptions to;
        to.D = 8;
        to.K = 16;
        to.S = 2;
        to.kmeans.max_iter = 10;
        const train::GsrqTrainResult tr = train::train_gsrq(xk.data(), H * T, d, nullptr, to);
        save_gsrq(make_gsrq_file(tr, nlohmann::ordered_json::object()), tmp / "g.json", false);

        struct Case {
            std::string spec;
            double rate;    // exact bits per coordinate
            std::size_t G;  // vectors per code
        };
        const std::vector<Case> cases = {
            {"qjl", (16.0 + 64) / 64, 1},
            {"qjl:m=100,seed=7", (16.0 + 100) / 64, 1},
            {"scalar+qjl:bits=3", (16.0 + 2 * 64 + 16 + 64) / 64, 1},
            {"scalar+qjl:bits=2,rotation=haar,m=32", (16.0 + 64 + 16 + 32) / 64, 1},
            {"int:bits=4,group=32,grouping=per_token", 4 + 32.0 / 32, 1},
            {"int:bits=2,group=32,grouping=per_channel", 2 + 32.0 / 32, 32},
            {"int:bits=3,group=16", 3 + 32.0 / 16, 0},  // K per_channel, V per_token
            {"block:format=q8_0", 8.5, 1},
            {"block:format=q4_0", 4.5, 1},
            {"block:format=q8_0,rotation=hadamard", 8.5, 1},
            {"block:format=q4_0,rotation=hadamard", 4.5, 1},
            {"gsrq:codebook=" + (tmp / "g.json"), 1.0, 1},
            {"gsrq:codebook=" + (tmp / "g.json") + ",beam=4", 1.0, 1},
            {"scalar:bits=2,rotation=none", (16.0 + 128) / 64, 1},
        };
        for (const Case& c : cases) {
            CAPTURE(c.spec);
            tasks::EncodeOptions eo;
            eo.input = dump;
            eo.output = tmp / "p.fq.h5";
            eo.k_codec = eo.v_codec = c.spec;
            eo.chunk_tokens = 40;
            eo.codebooks = tmp / "none";
            eo.verbosity = -1;
            eo.force = true;
            tasks::run_encode(eo);
            tasks::DecodeOptions dopt;
            dopt.input = eo.output;
            dopt.output = tmp / "p.h5";
            dopt.verbosity = -1;
            dopt.force = true;
            tasks::run_decode(dopt);
            dopt.output = tmp / "slice.h5";
            dopt.tokens = "33:70";
            dopt.heads = "1";
            tasks::run_decode(dopt);

            EncodedFileReader r(eo.output);
            KvDumpReader dec(tmp / "p.h5");
            KvDumpReader sl(tmp / "slice.h5");
            CodebookStore store(tmp / "none");
            for (const EncodedDataset& e : r.datasets()) {
                CAPTURE(e.path);
                const std::size_t G = c.G != 0 ? c.G : (e.kind == KvKind::k ? 16 : 1);
                if (!e.codebook.empty()) {
                    if (e.codec["codec"] == "gsrq")
                        store.add(r.gsrq_codebook(e.codebook));
                    else
                        store.add(r.codebook(e.codebook));
                }
                const BuiltCodec b = make_codec(e.codec, store, "test", ExitCode::corrupt, d);
                const codecs::Codec& codec = *b.codec;
                CHECK(codec.block_vectors() == G);
                CHECK(e.block_vectors == static_cast<std::int64_t>(G));
                // Exact rate accounting: nominal per vector, and as stored (padding included).
                CHECK(e.rate() == doctest::Approx(c.rate).epsilon(1e-12));
                CHECK(e.code_bits == doctest::Approx(c.rate * d).epsilon(1e-12));
                const std::size_t rows = (T + G - 1) / G;
                CHECK(e.rows() == static_cast<std::int64_t>(rows));
                CHECK(e.stored_rate() ==
                      doctest::Approx(8.0 * e.code_bytes * rows / (double(T) * d)).epsilon(1e-12));
                CHECK(8.0 * e.code_bytes >= c.rate * d * G - 1e-9);
                CHECK(8.0 * e.code_bytes < c.rate * d * G + 8 + 1e-9);
                {
                    h5::Group g = h5::open_group(static_cast<hid_t>(r.file_id()), e.path);
                    CHECK(h5::read_attr_double(g.id(), "stored_rate") == e.stored_rate());
                    CHECK(h5::has_attr(g.id(), "block_vectors") == (G > 1));
                }
                // In memory: each head padded to whole groups by repeating its last vector.
                const std::vector<float>& x = e.kind == KvKind::k ? xk : xv;
                std::vector<float> xp(H * rows * G * d);
                for (int h = 0; h < H; ++h)
                    for (std::size_t t = 0; t < rows * G; ++t)
                        std::copy_n(&x[(h * T + std::min<std::size_t>(t, T - 1)) * d], d,
                                    &xp[(h * rows * G + t) * d]);
                std::vector<std::uint8_t> want(H * rows * codec.code_bytes()), got(want.size());
                codec.encode(xp.data(), H * rows * G, want.data());
                r.read_codes(e, Slab{0, H, 0, static_cast<std::int64_t>(rows)}, got.data());
                CHECK(got == want);
                std::vector<float> yp(xp.size()), y(x.size());
                codec.decode(want.data(), H * rows * G, yp.data());
                for (int h = 0; h < H; ++h)
                    std::copy_n(&yp[h * rows * G * d], T * d, &y[h * T * d]);
                CHECK(dec.read_all(dec.info(e.path)) == y);
                // The slice head 1, tokens [33, 70) equals the same part of the full decode.
                const std::vector<float> part = sl.read_all(sl.info(e.path));
                REQUIRE(part.size() == 37u * d);
                CHECK(std::equal(part.begin(), part.end(), y.begin() + (T + 33) * d));
                double num = 0, den = 0;
                for (std::size_t i = 0; i < x.size(); ++i) {
                    num += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
                    den += double(x[i]) * x[i];
                }
                CHECK(num / den < 2.0);  // QJL's reconstruction has nMSE ~ pi/2 - 1 + ...
            }
        }
    }

    TEST_CASE("a gsrq container decodes on its own, a damaged embedded gsrq codebook is refused") {
        TempDir tmp;
        std::vector<float> x(4 * 512 * 64);
        KvDumpReader src(k_sample);
        x = src.read(src.info("layer_0/k"), Slab{0, 2, 0, 512});
        train::GsrqTrainOptions to;
        to.D = 8;
        to.K = 16;
        to.S = 1;
        to.kmeans.max_iter = 5;
        const auto f = make_gsrq_file(train::train_gsrq(x.data(), 1024, 64, nullptr, to),
                                      nlohmann::ordered_json::object());
        save_gsrq(f, tmp / "g.json", false);
        tasks::EncodeOptions eo;
        eo.input = k_sample;
        eo.output = tmp / "g.fq.h5";
        eo.k_codec = "gsrq:codebook=" + (tmp / "g.json");
        eo.v_codec = "qjl";
        eo.verbosity = -1;
        tasks::run_encode(eo);
        fs::remove(tmp / "g.json");
        tasks::DecodeOptions d;
        d.input = eo.output;
        d.output = tmp / "out.h5";
        d.verbosity = -1;
        CHECK_NOTHROW(tasks::run_decode(d));
        {
            EncodedFileReader r(eo.output);
            CHECK(r.gsrq_codebook(f.content_hash).content_hash == f.content_hash);
            CHECK_THROWS_AS(r.codebook(f.content_hash), CorruptError);  // not a universal one
            CHECK(r.dataset("layer_0/v").codebook.empty());
            CHECK(r.gsrq_codebook_hashes() == std::vector<std::string>{f.content_hash});
            CHECK(r.codebook_hashes().empty());
        }
        // Flip one codeword byte of the embedded text: its hash no longer matches.
        {
            h5::File file = h5::open_file(eo.output, true);
            h5::Dataset ds = h5::open_dataset(file.id(), "codebooks/" + f.content_hash.substr(7));
            const auto dims = h5::dataset_dims(ds.id());
            std::string text(dims[0], '\0');
            h5::read_slab(ds.id(), H5T_NATIVE_UINT8, {}, {}, text.data());
            const auto pos = text.rfind("\"stages\"");  // the codewords, not the statistics
            REQUIRE(pos != std::string::npos);
            const auto digit = text.find_first_of("123456789", pos);
            text[digit] = text[digit] == '9' ? '8' : static_cast<char>(text[digit] + 1);
            h5::write_slab(ds.id(), H5T_NATIVE_UINT8, {}, {}, text.data());
        }
        d.force = true;
        CHECK_THROWS_AS(tasks::run_decode(d), CorruptError);
    }
}

// Per-head centring ("center": "head") through fq-encode and fq-decode, for every family
// kind (universal fib / scalar / tcq, qjl, int with groups of tokens, llama.cpp blocks), with
// a float16 window: the stored centre is the plain mean of the coded tokens, the codes and
// the decoded values are those of a plain computation written here (subtract, code, add),
// and the centre's 16 heads d bits are counted in every rate.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "fq/codecs/group_coding.hpp"
#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/core/rng.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/encoded_file.hpp"
#include "fq/io/hdf5_util.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/io/kv_dump_writer.hpp"
#include "fq/tasks/decode.hpp"
#include "fq/tasks/encode.hpp"

#include "test_support.hpp"

using namespace fq;
using namespace fq::io;
using fq::test::TempDir;

namespace {

const std::string k_shipped = std::string(FQ_SOURCE_DIR) + "/codebooks";

}  // namespace

TEST_SUITE("encode_center") {
    TEST_CASE("center=head round-trips through the container and is counted, every family") {
        // 2 heads x 75 tokens of d = 64; keys with large per-channel offsets, values offset
        // too; window: first 3 and last 4 tokens (one sequence); checksum blocks of 40.
        TempDir tmp;
        constexpr int H = 2, T = 75, d = 64, F = 3, L = 4;
        std::vector<float> xk(H * T * d), xv(xk.size());
        core::Rng rng(7);
        for (std::size_t i = 0; i < xk.size(); ++i) {
            const double j = static_cast<double>(i % d);
            xk[i] = static_cast<float>(rng.normal() + 6.0 * std::sin(j) + (j == 5 ? 20.0 : 0.0));
            xv[i] = static_cast<float>(0.5 * rng.normal() + 0.8 * std::cos(j));
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
        std::vector<std::int64_t> window, coded;
        for (std::int64_t t = 0; t < T; ++t) (t < F || t >= T - L ? window : coded).push_back(t);
        const auto C = static_cast<std::size_t>(coded.size());

        for (const std::string spec :
             {"scalar:bits=2,center=head", "fib:rate=2,center=head", "tcq:bits=2,center=head",
              "qjl:center=head", "int:bits=2,group=32,grouping=per_channel,center=head",
              "block:format=q4_0,center=head"}) {
            CAPTURE(spec);
            tasks::EncodeOptions eo;
            eo.input = dump;
            eo.output = tmp / "c.fq.h5";
            eo.k_codec = eo.v_codec = spec;
            eo.keep_first = F;
            eo.keep_last = L;
            eo.chunk_tokens = 40;
            eo.codebooks = k_shipped;
            eo.verbosity = -1;
            eo.force = true;
            const tasks::EncodeSummary s = tasks::run_encode(eo);
            tasks::DecodeOptions dopt;
            dopt.input = eo.output;
            dopt.output = tmp / "c.h5";
            dopt.verbosity = -1;
            dopt.force = true;
            tasks::run_decode(dopt);

            EncodedFileReader r(eo.output);
            KvDumpReader dec(dopt.output);
            CodebookStore store(k_shipped);
            for (const EncodedDataset& e : r.datasets()) {
                CAPTURE(e.path);
                CHECK(e.codec["center"] == "head");
                if (!e.codebook.empty() && !store.has(e.codebook))
                    store.add(r.stored_codebook(e.codebook));
                const BuiltCodec b = make_codec(e.codec, store, "test", ExitCode::corrupt, d);
                CHECK(b.center);
                const codecs::Codec& codec = *b.codec;
                const std::vector<float>& x = e.kind == KvKind::k ? xk : xv;

                // The centre: the plain mean over the coded tokens, in float16.
                std::vector<float> xc(H * C * d);
                std::vector<std::uint16_t> center(H * d);
                for (int h = 0; h < H; ++h) {
                    for (std::size_t i = 0; i < C; ++i)
                        std::copy_n(&x[(h * T + coded[i]) * d], d, &xc[(h * C + i) * d]);
                    for (int j = 0; j < d; ++j) {
                        double sum = 0;
                        for (std::size_t i = 0; i < C; ++i) sum += xc[(h * C + i) * d + j];
                        center[h * d + j] =
                            core::float_to_half(static_cast<float>(sum / static_cast<double>(C)));
                    }
                }
                CHECK(e.center == center);
                // Codes: the centred coded tokens through the codec; decoded: plus the centre.
                for (int h = 0; h < H; ++h)
                    for (std::size_t i = 0; i < C; ++i)
                        for (int j = 0; j < d; ++j)
                            xc[(h * C + i) * d + j] -= core::half_to_float(center[h * d + j]);
                std::vector<std::uint8_t> want(H * codecs::group_rows(codec, C) *
                                               codec.code_bytes()),
                    got(want.size());
                std::vector<float> yc(xc.size()), scratch;
                codecs::encode_heads(codec, xc.data(), H, C, want.data(), scratch);
                codecs::decode_heads(codec, want.data(), H, C, yc.data(), scratch);
                r.read_codes(e, Slab{0, H, 0, e.rows()}, got.data());
                CHECK(got == want);
                const std::vector<float> y = dec.read_all(dec.info(e.path));
                bool same = true;
                for (int h = 0; h < H; ++h) {
                    std::size_t ci = 0;
                    for (std::int64_t t = 0; t < T; ++t)
                        for (int j = 0; j < d; ++j) {
                            const float got_v = y[(h * T + t) * d + j];
                            const bool in_window = t < F || t >= T - L;
                            const float want_v =
                                in_window ? core::half_to_float(
                                                core::float_to_half(x[(h * T + t) * d + j]))
                                          : yc[(h * C + ci) * d + j] +
                                                core::half_to_float(center[h * d + j]);
                            same = same && got_v == want_v;
                            if (!in_window && j == d - 1) ++ci;
                        }
                }
                CHECK(same);
                // Rates: the centre's 16 H d bits in the exact and the stored rate.
                const double W = static_cast<double>(window.size());
                const double extra = 16.0 * H * W * d + 64.0 * W + 16.0 * H * d;
                CHECK(e.center_bits() == 16.0 * H * d);
                CHECK(e.exact_rate() ==
                      doctest::Approx((codec.code_bits() * H * double(C) + extra) / (H * T * d))
                          .epsilon(1e-12));
                CHECK(e.stored_rate() ==
                      doctest::Approx(
                          (8.0 * double(codec.code_bytes()) * double(e.rows()) * H + extra) /
                          (H * T * d))
                          .epsilon(1e-12));
            }
            // The summary counts the centre as side information.
            REQUIRE(s.rows.size() == 2);
            for (const tasks::EncodeRow& row : s.rows) {
                CHECK(row.rate ==
                      doctest::Approx(r.datasets()[row.tensor == "K" ? 0 : 1].exact_rate())
                          .epsilon(1e-12));
                CHECK(row.bits.side >= 16.0 * H * d);
            }
        }
    }

    TEST_CASE("center: none is the default and leaves the container as before") {
        TempDir tmp;
        CodebookStore store(k_shipped);
        const nlohmann::ordered_json none =
            parse_codec_spec("scalar:bits=2,center=none", 64, store);
        const nlohmann::ordered_json plain = parse_codec_spec("scalar:bits=2", 64, store);
        CHECK(normalize_description(none, "t") == normalize_description(plain, "t"));
        CHECK_FALSE(normalize_description(none, "t").contains("center"));
        CHECK_THROWS_AS(normalize_description(parse_codec_spec("qjl:center=token", 64, store), "t"),
                        UsageError);
        CHECK_THROWS_AS(parse_codec_spec("qjl:center=head,center=none", 64, store), UsageError);
        const BuiltCodec b = make_codec(parse_codec_spec("qjl:center=head", 64, store), store, "t",
                                        ExitCode::usage, 64);
        CHECK(b.center);
        CHECK(b.description["center"] == "head");
        CHECK(b.label.find("center=head") != std::string::npos);

        // Encoded without centring: no centre object, rates without it.
        const std::string sample = std::string(FQ_SOURCE_DIR) + "/data/sample_kv_d64.h5";
        tasks::EncodeOptions eo;
        eo.input = sample;
        eo.output = tmp / "n.fq.h5";
        eo.k_codec = eo.v_codec = "qjl";
        eo.select = {"layer_0/*"};
        eo.verbosity = -1;
        tasks::run_encode(eo);
        EncodedFileReader r(eo.output);
        for (const EncodedDataset& e : r.datasets()) {
            CHECK(e.center.empty());
            CHECK_FALSE(e.codec.contains("center"));
            CHECK_FALSE(h5::exists(static_cast<hid_t>(r.file_id()), e.path + "/center"));
            CHECK(e.stored_rate() == doctest::Approx(8.0 * e.code_bytes / 64).epsilon(1e-12));
        }
    }
}

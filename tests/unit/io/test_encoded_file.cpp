// Tests of io/encoded_file (the fq-compressed container): container round trips, block-wise
// random access, every corruption a reader must reject (payload byte, block table, version,
// sizes, truncation, embedded codebook). The encode and decode tasks over it:
// tests/unit/tasks/test_encode_decode.cpp.
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
#include "fq/io/container_header.hpp"
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

// A container with one dataset "layer_0/k" of 3 heads x 250 tokens of random 18-byte codes in
// checksum blocks of 100 tokens, plus a copied dataset. Returns the codes written.
std::vector<std::uint8_t> write_small(const std::string& path) {
    const UniversalCodebook cb = scalar_codebook(64, 2);
    const codecs::BlockVqCodec codec("scalar", cb.spec);
    EncodedDataset e;
    e.path = "layer_0/k";
    e.kind = KvKind::k;
    e.layer = 0;
    e.shape = {3, 250, 64};
    e.axes = "htd";
    e.dtype = "float16";
    e.heads = 3;
    e.tokens = 250;
    e.d = 64;
    e.codec = {{"codec", "scalar"},
               {"codebook", cb.content_hash},
               {"header", "norm"},
               {"header_type", "float16"}};
    e.codebook = cb.content_hash;
    e.code_bytes = codec.code_bytes();
    e.code_bits = codec.code_bits();
    e.block_tokens = 100;
    core::Rng rng(42);
    std::vector<std::uint8_t> all(3 * 250 * e.code_bytes);
    for (auto& b : all) b = static_cast<std::uint8_t>(rng.below(256));
    EncodedFileWriter w(path);
    w.add_codebook(cb);
    w.add_codebook(cb);  // idempotent
    w.create(e);
    // blocks in reverse order, each (3 heads, n tokens) gathered from `all`
    for (std::int64_t t0 = 200; t0 >= 0; t0 -= 100) {
        const std::int64_t t1 = std::min<std::int64_t>(t0 + 100, 250);
        const std::size_t n = static_cast<std::size_t>(t1 - t0);
        std::vector<std::uint8_t> blk(3 * n * e.code_bytes);
        for (int h = 0; h < 3; ++h)
            std::copy_n(&all[(h * 250 + static_cast<std::size_t>(t0)) * e.code_bytes],
                        n * e.code_bytes, &blk[h * n * e.code_bytes]);
        w.write_block(e.path, t0, t1, blk.data());
    }
    w.finish(e.path);
    CHECK_THROWS_AS(w.finish(e.path), UsageError);
    w.commit();
    return all;
}

// Opens path writable and runs f(file id).
template <class F>
void modify(const std::string& path, F f, bool reseal = true) {
    h5::File file = h5::open_file(path, true);
    f(file.id());
    // Resealed: the header checksum recomputed over the change, so that the reader's own
    // checks behind it are what the test reaches (reseal = false: the checksum's).
    if (reseal) {
        const auto index = nlohmann::json::parse(h5::read_attr_string(file.id(), "fq_index"));
        h5::write_attr_fixed_string(
            file.id(), k_header_digest_attr,
            container_header_digest(file.id(), index["copied"].get<std::vector<std::string>>()));
    }
    h5::close_file(file);
}

}  // namespace

TEST_SUITE("encoded_file") {
    TEST_CASE("container round trip: attributes, codebook, full and sliced reads") {
        TempDir tmp;
        const std::string path = tmp / "a.fq.h5";
        const auto all = write_small(path);
        EncodedFileReader r(path);
        CHECK(r.format_version() == 2);
        REQUIRE(r.datasets().size() == 1);
        const EncodedDataset& e = r.dataset("/layer_0/k");
        CHECK(e.heads == 3);
        CHECK(e.tokens == 250);
        CHECK(e.code_bytes == 18);
        CHECK(e.code_bits == 144.0);
        CHECK(e.rate() == 2.25);
        CHECK(e.blocks() == 3);
        CHECK(e.shape == std::vector<std::uint64_t>{3, 250, 64});
        CHECK(e.codec["header_type"] == "float16");
        REQUIRE(r.codebook_hashes().size() == 1);
        const UniversalCodebook cb = r.codebook(e.codebook);
        CHECK(cb.content_hash == scalar_codebook(64, 2).content_hash);

        std::vector<std::uint8_t> got(all.size());
        r.read_codes(e, Slab{0, 3, 0, 250}, got.data());
        CHECK(got == all);
        // a slice across a block boundary: heads 1..2, tokens 95..205
        std::vector<std::uint8_t> part(2 * 110 * 18);
        r.read_codes(e, Slab{1, 3, 95, 205}, part.data());
        bool same = true;
        for (int h = 0; h < 2; ++h)
            for (int t = 0; t < 110; ++t)
                for (int b = 0; b < 18; ++b)
                    same = same &&
                           part[(h * 110 + t) * 18 + b] == all[((h + 1) * 250 + 95 + t) * 18 + b];
        CHECK(same);
        CHECK_THROWS_AS(r.read_codes(e, Slab{0, 4, 0, 10}, part.data()), UsageError);
        CHECK_THROWS_AS(r.dataset("layer_0/v"), IoError);
    }

    TEST_CASE("a flipped payload byte fails only the blocks that contain it") {
        TempDir tmp;
        const std::string path = tmp / "a.fq.h5";
        write_small(path);
        modify(path, [](hid_t f) {
            h5::Dataset ds = h5::open_dataset(f, "layer_0/k/codes");
            std::uint8_t b = 0;
            h5::read_slab(ds.id(), H5T_NATIVE_UINT8, {2, 130, 5}, {1, 1, 1}, &b);
            b ^= 0x01;
            h5::write_slab(ds.id(), H5T_NATIVE_UINT8, {2, 130, 5}, {1, 1, 1}, &b);
        });
        EncodedFileReader r(path);
        const EncodedDataset& e = r.dataset("layer_0/k");
        std::vector<std::uint8_t> buf(3 * 250 * 18);
        CHECK_NOTHROW(r.read_codes(e, Slab{0, 2, 0, 250}, buf.data()));    // heads 0, 1
        CHECK_NOTHROW(r.read_codes(e, Slab{2, 3, 0, 100}, buf.data()));    // block 0
        CHECK_NOTHROW(r.read_codes(e, Slab{2, 3, 200, 250}, buf.data()));  // block 2
        try {
            r.read_codes(e, Slab{2, 3, 150, 151}, buf.data());
            FAIL("no error");
        } catch (const CorruptError& err) {
            CHECK(std::string(err.what()).find("checksum mismatch in head 2, tokens [100, 200)") !=
                  std::string::npos);
        }
    }

    TEST_CASE("damaged block table, version, format, sizes and codebook are CorruptError") {
        TempDir tmp;
        const std::string base = tmp / "base.fq.h5";
        write_small(base);
        std::vector<std::uint8_t> buf(3 * 250 * 18);
        auto copy = [&](const std::string& name) {
            const std::string p = tmp / name;
            fs::copy_file(base, p);
            return p;
        };
        {
            const std::string p = copy("table.fq.h5");
            modify(p, [](hid_t f) {
                h5::Dataset ds = h5::open_dataset(f, "layer_0/k/block_sha256");
                std::uint8_t b = 0;
                h5::read_slab(ds.id(), H5T_NATIVE_UINT8, {1, 1, 7}, {1, 1, 1}, &b);
                b ^= 0x80;
                h5::write_slab(ds.id(), H5T_NATIVE_UINT8, {1, 1, 7}, {1, 1, 1}, &b);
            });
            EncodedFileReader r(p);
            CHECK_THROWS_AS(r.read_codes(r.dataset("layer_0/k"), Slab{0, 1, 0, 1}, buf.data()),
                            CorruptError);
        }
        {
            const std::string p = copy("version.fq.h5");
            modify(p, [](hid_t f) { h5::write_attr_int(f, "fq_format_version", 3); });
            try {
                EncodedFileReader r(p);
                FAIL("no error");
            } catch (const CorruptError& err) {
                CHECK(std::string(err.what()).find("unsupported fq_format_version 3") !=
                      std::string::npos);
            }
        }
        {
            const std::string p = copy("format.fq.h5");
            modify(p,
                   [](hid_t f) { h5::write_attr_fixed_string(f, "fq_format", "something-else"); });
            CHECK_THROWS_AS(EncodedFileReader{p}, CorruptError);
        }
        for (const char* attr : {"code_bytes", "tokens", "heads", "block_tokens"}) {
            CAPTURE(attr);
            const std::string p = copy(std::string(attr) + ".fq.h5");
            modify(p, [&](hid_t f) {
                h5::Group g = h5::open_group(f, "layer_0/k");
                h5::write_attr_int(g.id(), attr, std::int64_t{1} << 40);
            });
            CHECK_THROWS_AS(EncodedFileReader{p}, CorruptError);
        }
        {
            const std::string p = copy("codec.fq.h5");
            modify(p, [](hid_t f) {
                h5::Group g = h5::open_group(f, "layer_0/k");
                h5::write_attr_fixed_string(g.id(), "codec",
                                            R"({"codec": "scalar", "codebook": "x", "extra": 1})");
            });
            CHECK_THROWS_AS(EncodedFileReader{p}, CorruptError);
        }
        {
            const std::string p = copy("codebook.fq.h5");
            const std::string hash = scalar_codebook(64, 2).content_hash;
            modify(p, [&](hid_t f) {
                h5::Dataset ds = h5::open_dataset(f, "codebooks/" + hash.substr(7));
                const auto n = h5::dataset_dims(ds.id())[0];
                std::string text(n, ' ');
                h5::read_slab(ds.id(), H5T_NATIVE_UINT8, {}, {}, text.data());
                const auto pos = text.find("\"codewords\"");
                REQUIRE(pos != std::string::npos);
                const auto digit = text.find_first_of("123456789", pos);
                text[digit] = text[digit] == '9' ? '8' : static_cast<char>(text[digit] + 1);
                h5::write_slab(ds.id(), H5T_NATIVE_UINT8, {}, {}, text.data());
            });
            EncodedFileReader r(p);
            CHECK_THROWS_AS(r.codebook(hash), CorruptError);
            CHECK_THROWS_AS(r.codebook("sha256:" + std::string(64, '0')), CorruptError);
        }
        {
            // Version 2: any change to the metadata without resealing is refused up front,
            // naming the header checksum; the same change resealed reads (the reader's own
            // checks then see a valid value).
            const auto set_layer = [](hid_t f) {
                h5::Group g = h5::open_group(f, "layer_0/k");
                h5::write_attr_int(g.id(), "layer", 7);
            };
            const std::string p = copy("unsealed.fq.h5");
            modify(p, set_layer, /*reseal=*/false);
            try {
                EncodedFileReader r(p);
                FAIL("no error");
            } catch (const CorruptError& err) {
                CHECK(std::string(err.what()).find("header checksum mismatch") !=
                      std::string::npos);
            }
            const std::string q = copy("resealed.fq.h5");
            modify(q, set_layer);
            CHECK(EncodedFileReader(q).dataset("layer_0/k").layer == 7);
            CHECK(EncodedFileReader(q).format_version() == 2);
            // A variable-length string where a version 2 writer puts fixed ones: refused.
            const std::string v = copy("vlen.fq.h5");
            modify(
                v, [](hid_t f) { h5::write_attr_string(f, "note", "x"); }, false);
            CHECK_THROWS_AS(EncodedFileReader{v}, CorruptError);
        }
        {
            const std::string p = copy("trunc.fq.h5");
            fs::resize_file(p, fs::file_size(p) / 2);
            CHECK_THROWS_AS(EncodedFileReader{p}, CorruptError);
        }
        CHECK_THROWS_AS(EncodedFileReader{tmp / "missing.fq.h5"}, IoError);
        CHECK_THROWS_AS(EncodedFileReader{k_sample}, CorruptError);  // a dump, not a container
    }

    TEST_CASE("writer refuses bad blocks and unfinished datasets") {
        TempDir tmp;
        const UniversalCodebook cb = scalar_codebook(64, 2);
        EncodedFileWriter w(tmp / "w.fq.h5");
        EncodedDataset e;
        e.path = "x/k";
        e.heads = 1;
        e.tokens = 10;
        e.d = 64;
        e.shape = {1, 10, 64};
        e.codebook = cb.content_hash;
        e.code_bytes = 18;
        e.code_bits = 144;
        e.block_tokens = 4;
        CHECK_THROWS_AS(w.create(e), UsageError);  // codebook not added
        w.add_codebook(cb);
        w.create(e);
        std::vector<std::uint8_t> codes(4 * 18);
        CHECK_THROWS_AS(w.write_block("x/k", 1, 5, codes.data()), UsageError);   // not aligned
        CHECK_THROWS_AS(w.write_block("x/k", 8, 12, codes.data()), UsageError);  // past the end
        w.write_block("x/k", 0, 4, codes.data());
        CHECK_THROWS_AS(w.finish("x/k"), UsageError);  // blocks 1, 2 missing
        CHECK_THROWS_AS(w.commit(), UsageError);
        e.path = "codebooks/evil";
        CHECK_THROWS_AS(w.create(e), UsageError);
    }

    TEST_CASE("parse_range") {
        CHECK(parse_range("100:200", 512, "--tokens") ==
              std::pair<std::int64_t, std::int64_t>{100, 200});
        CHECK(parse_range(":", 512, "--tokens") == std::pair<std::int64_t, std::int64_t>{0, 512});
        CHECK(parse_range("7", 512, "--tokens") == std::pair<std::int64_t, std::int64_t>{7, 8});
        CHECK(parse_range("500:", 512, "--tokens") ==
              std::pair<std::int64_t, std::int64_t>{500, 512});
        CHECK_THROWS_AS(parse_range("5:5", 512, "--tokens"), UsageError);
        CHECK_THROWS_AS(parse_range("0:513", 512, "--tokens"), UsageError);
        CHECK_THROWS_AS(parse_range("a:b", 512, "--tokens"), UsageError);
        CHECK_THROWS_AS(parse_range("-1:3", 512, "--tokens"), UsageError);
    }
}

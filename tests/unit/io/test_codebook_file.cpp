#include "fq/io/codebook_file.hpp"
#include "fq/io/json_util.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fq/codecs/scalar.hpp"
#include "fq/core/error.hpp"
#include "fq/core/sha256.hpp"
#include "fq/train/fib_train.hpp"

#include "test_support.hpp"

namespace fs = std::filesystem;
using fq::io::UniversalCodebook;
using Json = nlohmann::ordered_json;
using fq::test::TempDir;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

// d = 5, k = 2, N = 3: two main blocks and a tail block of r = 1 coordinate with N_r = 2.
UniversalCodebook hand_made() {
    UniversalCodebook cb;
    cb.family = "fib";
    cb.spec.d = 5;
    cb.spec.main.k = 2;
    cb.spec.main.N = 3;
    cb.spec.main.codewords = {0.5, -0.25, 0.125, 0.0, -0.75, 0.375};
    cb.spec.tail.k = 1;
    cb.spec.tail.N = 2;
    cb.spec.tail.codewords = {-0.5, 0.5};
    cb.spec.rotation = fq::core::RotationKind::haar;
    cb.spec.rotation_seed = 7;
    cb.rotation_checksum = fq::core::Rotation(cb.spec.rotation, 5, 7).checksum();
    cb.rate = fq::io::codebook_rate(cb.spec);
    cb.train_total_mse = 0.5;
    cb.val_total_mse = 0.625;
    cb.construction = Json::object();
    cb.construction["method"] = "hand-made";
    cb.construction["seed"] = 3;
    cb.training = Json::object();
    cb.training["note"] = "no training";
    cb.training["history"] = Json::array({Json::object({{"iter", 1}, {"distortion", 0.75}})});
    cb.content_hash = fq::io::compute_content_hash(cb);
    return cb;
}

void check_same(const UniversalCodebook& a, const UniversalCodebook& b) {
    CHECK(a.family == b.family);
    CHECK(a.spec.d == b.spec.d);
    CHECK(a.spec.main.k == b.spec.main.k);
    CHECK(a.spec.main.N == b.spec.main.N);
    CHECK(a.spec.main.codewords == b.spec.main.codewords);
    CHECK(a.spec.tail.k == b.spec.tail.k);
    CHECK(a.spec.tail.N == b.spec.tail.N);
    CHECK(a.spec.tail.codewords == b.spec.tail.codewords);
    CHECK(a.spec.rotation == b.spec.rotation);
    CHECK(a.spec.rotation_seed == b.spec.rotation_seed);
    CHECK(a.rotation_checksum == b.rotation_checksum);
    CHECK(a.rate == b.rate);
    CHECK(a.train_total_mse == b.train_total_mse);
    CHECK(a.val_total_mse == b.val_total_mse);
    CHECK(a.construction == b.construction);
    CHECK(a.training == b.training);
    CHECK(a.content_hash == b.content_hash);
}

// Loading `text` must fail with a one-line CorruptError naming the file and containing
// `needle`.
void expect_corrupt(const TempDir& dir, const std::string& text, const std::string& needle) {
    const std::string path = dir / "tampered.json";
    write_text(path, text);
    try {
        fq::io::load_codebook(path);
        FAIL("loaded a tampered file; expected: " << needle);
    } catch (const fq::CorruptError& e) {
        const std::string msg = e.what();
        INFO(msg);
        CHECK(msg.find(path) != std::string::npos);
        CHECK(msg.find(needle) != std::string::npos);
        CHECK(msg.find('\n') == std::string::npos);
        CHECK(e.code() == fq::ExitCode::corrupt);
    }
}

std::string replace_once(std::string text, const std::string& from, const std::string& to) {
    const auto pos = text.find(from);
    REQUIRE(pos != std::string::npos);
    REQUIRE(text.find(from, pos + 1) == std::string::npos);
    return text.replace(pos, from.size(), to);
}

// Edits the parsed document and writes it back with nlohmann (content hash unchanged).
template <class Edit>
std::string edited(const std::string& text, Edit edit) {
    Json doc = Json::parse(text);
    edit(doc);
    return doc.dump(1);
}

}  // namespace

TEST_SUITE("codebook_file") {
    TEST_CASE("round trip of a hand-made codebook: same fields, same bytes") {
        TempDir dir;
        const UniversalCodebook cb = hand_made();
        const std::string path = dir / "cb.json";
        fq::io::save_codebook(cb, path, false);
        const UniversalCodebook back = fq::io::load_codebook(path);
        check_same(cb, back);

        const std::string text = read_text(path);
        CHECK(fq::io::serialize_codebook(back) == text);
        const std::string path2 = dir / "cb2.json";
        fq::io::save_codebook(back, path2, false);
        CHECK(read_text(path2) == text);
        // No temporary left behind.
        int files = 0;
        for (const auto& e : fs::directory_iterator(dir.path)) files += e.is_regular_file();
        CHECK(files == 2);
    }

    TEST_CASE("file layout: keys in order, one codeword row per line, derived numbers") {
        const std::string sealed = fq::io::serialize_codebook(hand_made());
        const std::string text = fq::test::drop_file_seal(sealed);
        CHECK(sealed.rfind("{\n \"file_sha256\": \"sha256:" +
                               fq::core::sha256_hex(text.data(), text.size()) + "\",\n",
                           0) == 0);
        CHECK(text.rfind("{\n \"format\": \"fq-codebook\",\n \"format_version\": 1,\n", 0) == 0);
        CHECK(text.find("\n  [0.5, -0.25],\n  [0.125, 0.0],\n  [-0.75, 0.375]\n ],") !=
              std::string::npos);
        CHECK(text.back() == '\n');
        const Json doc = Json::parse(text);
        std::vector<std::string> keys;
        for (const auto& [key, v] : doc.items()) keys.push_back(key);
        CHECK(keys == std::vector<std::string>{"format", "format_version", "family", "d", "k", "N",
                                               "rate_bits_per_coord", "construction", "rotation",
                                               "distortion", "training", "tail", "codewords",
                                               "content_hash"});
        const double rate = (2 * std::log2(3.0) + 1) / 5;
        CHECK(doc["rate_bits_per_coord"].get<double>() == doctest::Approx(rate).epsilon(1e-15));
        CHECK(doc["distortion"]["val"]["mse_per_coord"].get<double>() == 0.125);
        CHECK(doc["distortion"]["train"]["db_above_bound"].get<double>() ==
              doctest::Approx(10 * std::log10(0.5 * std::pow(4.0, rate))));
        CHECK(doc["tail"]["N"] == 2);
        CHECK(doc["rotation"]["seed"] == 7);
    }

    TEST_CASE("content hash: pinned, and equal to SHA-256 of the documented bytes") {
        const UniversalCodebook cb = hand_made();
        // Computed independently with Python's struct.pack + hashlib over the layout of
        // docs/FORMAT.md.
        CHECK(cb.content_hash ==
              "sha256:f813509752ac2e7a8dd7ec8696621271564d60fb8f8ce47c4ecf0a32e02aae7c");

        std::vector<std::uint8_t> b;
        auto raw = [&](const void* p, std::size_t n) {
            const auto* c = static_cast<const std::uint8_t*>(p);
            b.insert(b.end(), c, c + n);
        };
        auto i64 = [&](std::uint64_t v) {  // the test machine is little-endian (x86/arm)
            raw(&v, 8);
        };
        auto str = [&](const std::string& s) {
            i64(s.size());
            raw(s.data(), s.size());
        };
        auto f64 = [&](double v) { raw(&v, 8); };
        raw("fq-codebook/1", 13);
        str("fib");
        i64(5);
        i64(2);
        i64(3);
        str("haar");
        i64(7);
        for (double c : {0.5, -0.25, 0.125, 0.0, -0.75, 0.375}) f64(c);
        i64(1);
        i64(2);
        f64(-0.5);
        f64(0.5);
        CHECK(b.size() == 148);
        CHECK(fq::io::canonical_bytes(cb) == b);
        CHECK(cb.content_hash == "sha256:" + fq::core::sha256_hex(b.data(), b.size()));

        // Training statistics do not enter the hash; codewords and the rotation do.
        UniversalCodebook other = cb;
        other.train_total_mse = 0.4;
        other.training["note"] = "different";
        CHECK(fq::io::compute_content_hash(other) == cb.content_hash);
        other.spec.rotation_seed = 8;
        CHECK(fq::io::compute_content_hash(other) != cb.content_hash);
        other = cb;
        other.spec.main.codewords[5] = std::nextafter(0.375, 1.0);
        CHECK(fq::io::compute_content_hash(other) != cb.content_hash);
    }

    TEST_CASE("tampered files are rejected with CorruptError") {
        TempDir dir;
        const UniversalCodebook cb = hand_made();
        const std::string sealed = fq::io::serialize_codebook(cb);
        // The edits below go to the unsealed text (a hand edit drops the seal line), so that
        // each reaches the check it is about.
        const std::string text = fq::test::drop_file_seal(sealed);

        SUBCASE("the seal: any changed byte, a damaged seal line") {
            // Not hashed by content_hash (the training record), yet refused: the seal.
            const auto pos = sealed.find("\"training\"");
            REQUIRE(pos != std::string::npos);
            std::string t = sealed;
            t[pos + 2] = 'T';
            expect_corrupt(dir, t, "file_sha256 mismatch");
            t = sealed;
            t[sealed.find("sha256:") + 10] ^= 1;  // a hex digit of the seal itself
            expect_corrupt(dir, t, "file_sha256 mismatch");
            expect_corrupt(dir, replace_once(sealed, "\",\n \"format\"", "\" ,\n \"format\""),
                           "damaged file_sha256 line");
            expect_corrupt(dir, replace_once(sealed, "{\n \"file", "{ \"file"),
                           "damaged file_sha256 line");
            // Whitespace is part of the sealed bytes too.
            expect_corrupt(dir, replace_once(sealed, "\n \"rotation\"", "\n  \"rotation\""),
                           "file_sha256 mismatch");
            // Sealed and unsealed texts load the same codebook.
            write_text(dir / "u.json", text);
            check_same(fq::io::load_codebook(dir / "u.json"), cb);
        }
        SUBCASE("nesting deeper than 64 levels is refused before parsing") {
            const std::string deep =
                replace_once(text, "\"training\": {",
                             "\"training\": {\"x\": " + std::string(100000, '[') +
                                 std::string(100000, ']') + ", ");
            expect_corrupt(dir, deep, "nested deeper than 64 levels");
            // brackets inside strings do not count
            CHECK_NOTHROW(fq::io::JsonReader("t", fq::ExitCode::corrupt)
                              .parse("{\"a\": \"" + std::string(200, '[') + "\"}"));
        }
        SUBCASE("one codeword digit changed") {
            expect_corrupt(dir, replace_once(text, "[-0.75, 0.375]", "[-0.75, 0.376]"),
                           "content hash mismatch");
        }
        SUBCASE("format_version 99") {
            expect_corrupt(dir,
                           replace_once(text, "\"format_version\": 1,", "\"format_version\": 99,"),
                           "unsupported format_version 99 (this build reads version 1)");
        }
        SUBCASE("not a codebook") {
            expect_corrupt(dir, replace_once(text, "\"fq-codebook\"", "\"fq-encoded\""),
                           "not an fq codebook");
        }
        SUBCASE("extra unknown key") {
            expect_corrupt(dir,
                           replace_once(text, "{\n \"format\":", "{\n \"extra\": 1,\n \"format\":"),
                           "unknown key 'extra' in the top level");
        }
        SUBCASE("missing key") {
            expect_corrupt(dir, edited(text, [](Json& d) { d.erase("training"); }),
                           "missing key 'training'");
        }
        SUBCASE("codeword row too short") {
            expect_corrupt(dir, edited(text, [](Json& d) { d["codewords"][1].erase(1); }),
                           "codewords row 1 does not hold k = 2 numbers");
        }
        SUBCASE("N does not match the rows") {
            expect_corrupt(dir, edited(text, [](Json& d) { d["N"] = 4; }),
                           "codewords has 3 rows, N = 4");
        }
        SUBCASE("k >= d") {
            expect_corrupt(dir, edited(text, [](Json& d) { d["k"] = 5; }),
                           "'k' = 5 is out of range");
        }
        SUBCASE("N < 2") {
            expect_corrupt(dir, edited(text, [](Json& d) { d["N"] = 1; }),
                           "'N' = 1 is out of range");
        }
        SUBCASE("tail missing although k does not divide d") {
            expect_corrupt(dir, edited(text, [](Json& d) { d["tail"] = nullptr; }),
                           "tail codebook missing");
        }
        SUBCASE("tail present although k divides d") {
            expect_corrupt(dir, edited(text, [](Json& d) { d["d"] = 6; }),
                           "tail must be null when k divides d");
        }
        SUBCASE("non-finite number") {
            // nlohmann refuses to parse an overflowing literal; either way the file is corrupt.
            expect_corrupt(dir, replace_once(text, "[-0.75, 0.375]", "[-0.75, 1e999]"), "1e999");
        }
        SUBCASE("rate does not match") {
            expect_corrupt(dir, edited(text, [](Json& d) { d["rate_bits_per_coord"] = 1.0; }),
                           "rate_bits_per_coord 1.0 does not match");
        }
        SUBCASE("derived distortion does not match") {
            expect_corrupt(
                dir, edited(text, [](Json& d) { d["distortion"]["val"]["mse_per_coord"] = 0.2; }),
                "distortion.val.mse_per_coord");
        }
        SUBCASE("unknown family") {
            expect_corrupt(dir, edited(text, [](Json& d) { d["family"] = "pq"; }),
                           "unknown family 'pq'");
        }
        SUBCASE("not JSON") {
            expect_corrupt(dir, text.substr(0, text.size() / 2), "not valid JSON");
        }
        SUBCASE("rotation seed changed without updating the checksum") {
            UniversalCodebook bad = cb;
            bad.spec.rotation_seed = 8;  // serialize_codebook recomputes the content hash
            expect_corrupt(dir, fq::io::serialize_codebook(bad),
                           "rotation regenerated on this platform differs from the file's "
                           "checksum");
        }
    }

    TEST_CASE("an existing file is not overwritten without force") {
        TempDir dir;
        const std::string path = dir / "cb.json";
        write_text(path, "precious");
        CHECK_THROWS_AS(fq::io::save_codebook(hand_made(), path, false), fq::UsageError);
        try {
            fq::io::save_codebook(hand_made(), path, false);
        } catch (const fq::UsageError& e) {
            CHECK(std::string(e.what()).find("--force") != std::string::npos);
        }
        CHECK(read_text(path) == "precious");
        fq::io::save_codebook(hand_made(), path, true);
        CHECK(fq::io::load_codebook(path).content_hash == hand_made().content_hash);
    }

    TEST_CASE("missing file and unwritable directory are I/O errors") {
        TempDir dir;
        CHECK_THROWS_AS(fq::io::load_codebook(dir / "absent.json"), fq::IoError);
        CHECK_THROWS_AS(fq::io::save_codebook(hand_made(), dir / "no/such/dir.json", false),
                        fq::IoError);
    }

    TEST_CASE("scalar codebook from the exact Lloyd-Max quantizer") {
        TempDir dir;
        const auto q = fq::codecs::lloyd_max_scalar(64, 2);
        const UniversalCodebook cb =
            fq::io::make_scalar_codebook(q, 1e-12, fq::core::RotationKind::haar, 1);
        CHECK(cb.family == "scalar");
        CHECK(cb.spec.main.k == 1);
        CHECK(cb.spec.main.N == 4);
        CHECK(cb.spec.tail.N == 0);
        CHECK(cb.rate == 2.0);
        CHECK(cb.spec.main.codewords == q.levels);
        CHECK(cb.train_total_mse == doctest::Approx(0.11453).epsilon(1e-4));
        CHECK(cb.val_total_mse == cb.train_total_mse);
        CHECK(cb.training["iterations"] == q.iterations);
        const std::string path = dir / "scalar.json";
        fq::io::save_codebook(cb, path, false);
        check_same(cb, fq::io::load_codebook(path));
        const Json doc = Json::parse(read_text(path));
        CHECK(doc["tail"].is_null());
        CHECK(doc["distortion"]["val"]["db_above_bound"].get<double>() ==
              doctest::Approx(10 * std::log10(cb.val_total_mse * 16)));
    }

    TEST_CASE("fib codebook from a (hand-made) training result keeps every statistic") {
        TempDir dir;
        fq::train::FibTrainResult r;
        r.params.d = 5;
        r.params.k = 2;
        r.params.N = 3;
        r.params.seed = 11;
        r.train_samples = 100;
        r.val_samples = 50;
        r.main.codebook = hand_made().spec.main;
        r.main.init_name = "sunflower";
        r.main.init_distortion = 0.3;
        r.main.random_init_distortion = 0.4;
        fq::train::RestartStats rs;
        rs.restart = 0;
        rs.seed = 0;
        rs.iterations = 2;
        rs.converged = true;
        rs.history = {{1, 0.3, 0}, {2, 0.25, 1}};
        r.main.restarts = {rs};
        r.main.train_distortion = 0.25;
        r.main.val_distortion = 0.26;
        fq::train::BlockTrainResult tail;
        tail.codebook = hand_made().spec.tail;
        tail.init_name = "marginal";
        r.tail = tail;
        r.train_total_mse = 0.6;
        r.val_total_mse = 0.62;
        const UniversalCodebook cb = fq::io::make_fib_codebook(r, fq::core::RotationKind::haar, 7);
        CHECK(cb.content_hash == hand_made().content_hash);  // same codewords and rotation
        CHECK(cb.construction["seed"] == 11);
        CHECK(cb.construction["train_samples"] == 100);
        CHECK(cb.construction["tail_N"] == 2);
        CHECK(cb.training["main"]["restarts"][0]["history"][1]["empty_repaired"] == 1);
        CHECK(cb.training["tail"]["init"] == "marginal");
        const std::string path = dir / "fib.json";
        fq::io::save_codebook(cb, path, false);
        check_same(cb, fq::io::load_codebook(path));
        // One line per Lloyd iteration.
        CHECK(read_text(path).find("{\"iter\": 2, \"distortion\": 0.25, \"empty_repaired\": 1}") !=
              std::string::npos);
    }
}

#include "fq/io/gsrq_file.hpp"

#include <cmath>

#include "fq/core/error.hpp"
#include "fq/core/sha256.hpp"
#include "fq/io/canonical_bytes.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/text_file.hpp"
#include "fq/train/gskm.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

using detail::put_f64;
using detail::put_u64;

namespace {

// Limits a reader enforces before allocating: far above any useful GSRQ (K = 2^16 centroids
// of D = 64 coordinates, 16 stages, d = 2^16), far below what would exhaust memory.
constexpr int k_max_d = 1 << 16;
constexpr int k_max_K = 1 << 16;
constexpr int k_max_S = 64;
constexpr std::size_t k_max_values = std::size_t{1} << 26;  // codeword doubles in a file

Json stats_json(const train::KmeansStats& s) {
    Json j = Json::object();
    j["distortion"] = s.distortion;
    j["mean_cosine"] = s.mean_cosine;
    j["shrinkage"] = s.shrinkage;
    j["shrinkage_global"] = s.shrinkage_global;
    j["empty"] = s.empty;
    return j;
}

}  // namespace

double GsrqCodebookFile::rate() const {
    const auto& c = codebooks;
    return c.D > 0 ? c.S * std::log2(static_cast<double>(c.K)) / c.D : 0.0;
}

std::vector<std::uint8_t> gsrq_canonical_bytes(const codecs::GsrqCodebooks& cb) {
    std::vector<std::uint8_t> out;
    for (const char c : std::string("fq-gsrq/1")) out.push_back(static_cast<std::uint8_t>(c));
    for (std::int64_t v : {std::int64_t{cb.d}, std::int64_t{cb.D}, std::int64_t{cb.K},
                           std::int64_t{cb.S}, std::int64_t{cb.shared ? 1 : 0}})
        put_u64(out, static_cast<std::uint64_t>(v));
    for (const auto& stage : cb.stages)
        for (const codecs::BlockCodebook& b : stage)
            for (double v : b.codewords) put_f64(out, v);
    return out;
}

std::string gsrq_content_hash(const codecs::GsrqCodebooks& cb) {
    const std::vector<std::uint8_t> b = gsrq_canonical_bytes(cb);
    return "sha256:" + core::sha256_hex(b.data(), b.size());
}

GsrqCodebookFile make_gsrq_file(const train::GsrqTrainResult& result, Json construction) {
    GsrqCodebookFile f;
    f.codebooks = result.codebooks;
    f.construction = construction.is_object() ? std::move(construction) : Json::object();
    Json stages = Json::array();
    for (const train::GsrqStageStats& s : result.stages) {
        Json j = Json::object();
        j["stage"] = s.stage;
        j["mse_per_coord"] = s.mse_per_coord;
        j["codebook"] = stats_json(s.stats);
        Json iters = Json::array();
        for (const train::KmeansResult& r : s.positions) iters.push_back(r.iterations);
        j["iterations"] = iters;
        stages.push_back(std::move(j));
    }
    f.training = Json::object();
    f.training["stats_note"] =
        "codebook: mean over positions of the final k-means stats on the stage's training "
        "residuals (nearest-centroid assignment); mse_per_coord: of the reconstruction after "
        "this stage on the calibration vectors";
    f.training["stages"] = std::move(stages);
    f.content_hash = gsrq_content_hash(f.codebooks);
    return f;
}

std::string serialize_gsrq(const GsrqCodebookFile& f) {
    const codecs::GsrqCodebooks& c = f.codebooks;
    codecs::validate(c);
    Json j = Json::object();
    j["format"] = k_gsrq_format;
    j["format_version"] = k_gsrq_format_version;
    j["family"] = "gsrq";
    j["d"] = c.d;
    j["D"] = c.D;
    j["K"] = c.K;
    j["S"] = c.S;
    j["shared"] = c.shared;
    j["method"] = c.method;
    j["rate_bits_per_coord"] = f.rate();
    j["construction"] = f.construction.is_object() ? f.construction : Json::object();
    j["training"] = f.training.is_object() ? f.training : Json::object();
    Json stages = Json::array();
    for (const auto& stage : c.stages) {
        Json positions = Json::array();
        for (const codecs::BlockCodebook& b : stage) {
            Json rows = Json::array();
            for (int n = 0; n < b.N; ++n)
                rows.push_back(std::vector<double>(b.codeword(n), b.codeword(n) + b.k));
            positions.push_back(std::move(rows));
        }
        stages.push_back(std::move(positions));
    }
    j["stages"] = std::move(stages);
    j["content_hash"] = gsrq_content_hash(c);
    return seal_json_file(dump_readable(j) + "\n");
}

GsrqCodebookFile parse_gsrq(const std::string& text, const std::string& name) {
    const JsonReader rd("gsrq codebook file '" + name + "'", ExitCode::corrupt);
    const Json doc = rd.parse(unseal_json_file(text, rd));
    if (!doc.is_object() || !doc.contains("format") || doc["format"] != k_gsrq_format)
        rd.fail("not a gsrq codebook file (format is not \"" + std::string(k_gsrq_format) + "\")");
    if (!doc.contains("format_version") || !doc["format_version"].is_number_integer() ||
        doc["format_version"].get<std::int64_t>() != k_gsrq_format_version)
        rd.fail("unsupported format_version (this build reads version 1)");
    rd.expect_keys(doc,
                   {"format", "format_version", "family", "d", "D", "K", "S", "shared", "method",
                    "rate_bits_per_coord", "construction", "training", "stages", "content_hash"},
                   "the file");
    rd.check_finite(doc, "the file");
    if (rd.get_string(doc, "family") != "gsrq") rd.fail("family must be \"gsrq\"");
    GsrqCodebookFile f;
    codecs::GsrqCodebooks& c = f.codebooks;
    c.d = rd.get_int(doc, "d", 1, k_max_d);
    c.D = rd.get_int(doc, "D", 1, k_max_d);
    c.K = rd.get_int(doc, "K", 2, k_max_K);
    c.S = rd.get_int(doc, "S", 1, k_max_S);
    if (!doc["shared"].is_boolean()) rd.fail("'shared' must be true or false");
    c.shared = doc["shared"].get<bool>();
    c.method = rd.get_string(doc, "method");
    if (c.d % c.D != 0) rd.fail("D does not divide d");
    const int P = c.shared ? 1 : c.d / c.D;
    if (static_cast<double>(c.S) * P * c.K * c.D > static_cast<double>(k_max_values))
        rd.fail("codebooks too large");
    const Json& st = doc["stages"];
    if (!st.is_array() || st.size() != static_cast<std::size_t>(c.S))
        rd.fail("'stages' must be an array of S stages");
    c.stages.resize(static_cast<std::size_t>(c.S));
    for (int s = 0; s < c.S; ++s) {
        const Json& pos = st[static_cast<std::size_t>(s)];
        if (!pos.is_array() || pos.size() != static_cast<std::size_t>(P))
            rd.fail("stage " + std::to_string(s) + " must hold " + std::to_string(P) +
                    " position codebooks");
        for (int p = 0; p < P; ++p) {
            const Json& rows = pos[static_cast<std::size_t>(p)];
            if (!rows.is_array() || rows.size() != static_cast<std::size_t>(c.K))
                rd.fail("stage " + std::to_string(s) + " position " + std::to_string(p) +
                        ": expected K rows");
            codecs::BlockCodebook b;
            b.k = c.D;
            b.N = c.K;
            b.codewords.reserve(static_cast<std::size_t>(c.K) * c.D);
            for (const Json& row : rows) {
                if (!row.is_array() || row.size() != static_cast<std::size_t>(c.D))
                    rd.fail("stage " + std::to_string(s) + " position " + std::to_string(p) +
                            ": every row must hold D numbers");
                for (const Json& v : row) {
                    if (!v.is_number()) rd.fail("codewords must be numbers");
                    b.codewords.push_back(v.get<double>());
                }
            }
            c.stages[static_cast<std::size_t>(s)].push_back(std::move(b));
        }
    }
    const double rate = rd.get_double(doc, "rate_bits_per_coord");
    f.construction = doc["construction"];
    f.training = doc["training"];
    if (!f.construction.is_object() || !f.training.is_object())
        rd.fail("'construction' and 'training' must be objects");
    if (std::abs(rate - f.rate()) > 1e-12 * std::max(1.0, rate))
        rd.fail("rate_bits_per_coord does not match S log2(K) / D");
    try {
        codecs::validate(c);
    } catch (const UsageError& e) {
        rd.fail(e.what());
    }
    f.content_hash = gsrq_content_hash(c);
    if (rd.get_string(doc, "content_hash") != f.content_hash)
        rd.fail("content_hash differs from the hash of the content (" + f.content_hash + ")");
    return f;
}

void save_gsrq(const GsrqCodebookFile& f, const std::string& path, bool force) {
    write_text_file(path, serialize_gsrq(f), force);
}

GsrqCodebookFile load_gsrq(const std::string& path) {
    return parse_gsrq(read_text_file(path, "gsrq codebook file"), path);
}

}  // namespace fq::io

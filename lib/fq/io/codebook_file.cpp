#include "fq/io/codebook_file.hpp"

#include <algorithm>
#include <cmath>

#include "fq/codecs/scalar.hpp"
#include "fq/core/error.hpp"
#include "fq/core/sha256.hpp"
#include "fq/io/canonical_bytes.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/text_file.hpp"
#include "fq/train/fib_train.hpp"

namespace fq::io {

using Json = nlohmann::ordered_json;
using detail::put_f64;
using detail::put_i64;
using detail::put_string;
using detail::put_u64;

namespace {

// Limits a reader enforces before trusting sizes (a codebook larger than this is not a
// plausible universal codebook, and the limits keep N * k and d within int).
constexpr int k_max_d = 1 << 20;
constexpr int k_max_N = 1 << 24;

// ---------------------------------------------------------------- writing

Json codewords_json(const codecs::BlockCodebook& cb) {
    Json rows = Json::array();
    for (int n = 0; n < cb.N; ++n) {
        Json row = Json::array();
        for (int t = 0; t < cb.k; ++t) row.push_back(cb.codeword(n)[t]);
        rows.push_back(std::move(row));
    }
    return rows;
}

Json distortion_json(double total, int d, double rate) {
    Json j = Json::object();
    j["mse_per_coord"] = total / d;
    j["mse_per_vector"] = total;
    j["db_above_bound"] = db_above_bound(total, rate);
    return j;
}

void check_writable(const UniversalCodebook& cb) {
    const auto& s = cb.spec;
    require(cb.family == "fib" || cb.family == "scalar",
            "codebook: unknown family '" + cb.family + "' (expected fib or scalar)");
    require(s.d >= 2 && s.main.k >= 1 && s.main.k < s.d && s.main.N >= 2,
            "codebook: need d >= 2, 1 <= k < d and N >= 2");
    require(s.main.codewords.size() == static_cast<std::size_t>(s.main.N) * s.main.k,
            "codebook: main codewords size is not N * k");
    const int r = s.d % s.main.k;
    if (r == 0) {
        require(s.tail.N == 0, "codebook: a tail codebook is present although k divides d");
    } else {
        require(s.tail.k == r && s.tail.N >= 2 &&
                    s.tail.codewords.size() == static_cast<std::size_t>(s.tail.N) * r,
                "codebook: the tail codebook must have k = d mod k, N >= 2, N * k values");
    }
    for (double c : s.main.codewords) require(std::isfinite(c), "codebook: non-finite codeword");
    for (double c : s.tail.codewords) require(std::isfinite(c), "codebook: non-finite codeword");
    require(std::isfinite(cb.train_total_mse) && cb.train_total_mse > 0 &&
                std::isfinite(cb.val_total_mse) && cb.val_total_mse > 0,
            "codebook: distortions must be finite and positive");
    require(cb.construction.is_object() && cb.training.is_object(),
            "codebook: construction and training must be JSON objects");
}

Json to_document(const UniversalCodebook& cb) {
    const auto& s = cb.spec;
    const double rate = codebook_rate(s);
    Json doc = Json::object();
    doc["format"] = k_codebook_format;
    doc["format_version"] = k_codebook_format_version;
    doc["family"] = cb.family;
    doc["d"] = s.d;
    doc["k"] = s.main.k;
    doc["N"] = s.main.N;
    doc["rate_bits_per_coord"] = rate;
    doc["construction"] = cb.construction;
    Json rot = Json::object();
    rot["kind"] = core::to_string(s.rotation);
    rot["seed"] = s.rotation_seed;
    rot["checksum"] = cb.rotation_checksum;
    doc["rotation"] = std::move(rot);
    Json dist = Json::object();
    dist["train"] = distortion_json(cb.train_total_mse, s.d, rate);
    dist["val"] = distortion_json(cb.val_total_mse, s.d, rate);
    doc["distortion"] = std::move(dist);
    doc["training"] = cb.training;
    if (s.tail.N > 0) {
        Json tail = Json::object();
        tail["k"] = s.tail.k;
        tail["N"] = s.tail.N;
        tail["codewords"] = codewords_json(s.tail);
        doc["tail"] = std::move(tail);
    } else {
        doc["tail"] = nullptr;
    }
    doc["codewords"] = codewords_json(s.main);
    doc["content_hash"] = compute_content_hash(cb);
    return doc;
}

// ---------------------------------------------------------------- reading

codecs::BlockCodebook get_codewords(const JsonReader& rd, const Json& rows, int k, int N,
                                    const std::string& where) {
    if (!rows.is_array()) rd.fail(where + " is not an array");
    if (rows.size() != static_cast<std::size_t>(N))
        rd.fail(where + " has " + std::to_string(rows.size()) + " rows, N = " + std::to_string(N));
    codecs::BlockCodebook cb;
    cb.k = k;
    cb.N = N;
    cb.codewords.reserve(static_cast<std::size_t>(N) * k);
    for (std::size_t n = 0; n < rows.size(); ++n) {
        const Json& row = rows[n];
        if (!row.is_array() || row.size() != static_cast<std::size_t>(k))
            rd.fail(where + " row " + std::to_string(n) +
                    " does not hold k = " + std::to_string(k) + " numbers");
        for (const auto& x : row) {
            if (!x.is_number())
                rd.fail(where + " row " + std::to_string(n) + " holds a non-number");
            const double c = x.get<double>();
            if (!std::isfinite(c)) rd.fail(where + " row " + std::to_string(n) + " is not finite");
            cb.codewords.push_back(c);
        }
    }
    return cb;
}

}  // namespace

// ---------------------------------------------------------------- public API

double codebook_rate(const codecs::BlockVqSpec& spec) {
    const int blocks = spec.d / spec.main.k;
    double bits = blocks * std::log2(static_cast<double>(spec.main.N));
    if (spec.tail.N > 0) bits += std::log2(static_cast<double>(spec.tail.N));
    return bits / spec.d;
}

bool close_relative(double a, double b, double rel) {
    return std::fabs(a - b) <= rel * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
}

double db_above_bound(double total_mse, double rate) {
    return 10.0 * std::log10(total_mse / std::pow(4.0, -rate));
}

std::vector<std::uint8_t> canonical_bytes(const UniversalCodebook& cb) {
    const auto& s = cb.spec;
    std::vector<std::uint8_t> out;
    out.reserve(128 + 8 * (s.main.codewords.size() + s.tail.codewords.size()));
    const std::string magic = "fq-codebook/1";
    out.insert(out.end(), magic.begin(), magic.end());
    put_string(out, cb.family);
    put_i64(out, s.d);
    put_i64(out, s.main.k);
    put_i64(out, s.main.N);
    put_string(out, core::to_string(s.rotation));
    put_u64(out, s.rotation_seed);
    for (double c : s.main.codewords) put_f64(out, c);
    put_i64(out, s.tail.N > 0 ? s.tail.k : 0);
    put_i64(out, s.tail.N);
    for (double c : s.tail.codewords) put_f64(out, c);
    return out;
}

std::string compute_content_hash(const UniversalCodebook& cb) {
    const auto bytes = canonical_bytes(cb);
    return "sha256:" + core::sha256_hex(bytes.data(), bytes.size());
}

UniversalCodebook make_fib_codebook(const train::FibTrainResult& result,
                                    core::RotationKind rotation, std::uint64_t rotation_seed) {
    const auto& p = result.params;
    UniversalCodebook cb;
    cb.family = "fib";
    cb.spec.d = p.d;
    cb.spec.main = result.main.codebook;
    if (result.tail) cb.spec.tail = result.tail->codebook;
    cb.spec.rotation = rotation;
    cb.spec.rotation_seed = rotation_seed;
    cb.rotation_checksum = core::Rotation(rotation, p.d, rotation_seed).checksum();
    cb.rate = codebook_rate(cb.spec);
    cb.train_total_mse = result.train_total_mse;
    cb.val_total_mse = result.val_total_mse;

    Json c = Json::object();
    c["method"] = "fibquant";  // structured init + multi-restart Lloyd-Max (SPEC 4.2)
    c["radial"] = codecs::to_string(p.radial);
    c["seed"] = p.seed;
    c["train_samples"] = result.train_samples;  // resolved M
    c["val_samples"] = result.val_samples;      // resolved validation size
    c["restarts"] = p.restarts;
    c["max_iter"] = p.max_iter;
    c["tol"] = p.tol;
    c["jitter"] = p.jitter;
    c["k3_shells"] = p.k3_shells;
    c["init"] = result.main.init_name;
    c["tail_N"] = result.tail ? result.tail->codebook.N : 0;
    c["tail_init"] = result.tail ? Json(result.tail->init_name) : Json(nullptr);
    cb.construction = std::move(c);

    auto block = [](const train::BlockTrainResult& b) {
        Json j = Json::object();
        j["k"] = b.codebook.k;
        j["N"] = b.codebook.N;
        j["init"] = b.init_name;
        j["init_scale"] = b.init_scale;
        j["init_distortion"] = b.init_distortion;
        j["random_init_distortion"] = b.random_init_distortion;
        Json shells = Json::array();
        for (const auto& [L, dist] : b.shell_choices) {
            Json s = Json::object();
            s["L"] = L;
            s["init_distortion"] = dist;
            shells.push_back(std::move(s));
        }
        j["shell_choices"] = std::move(shells);
        j["best_restart"] = b.best_restart;
        j["train_distortion"] = b.train_distortion;
        j["val_distortion"] = b.val_distortion;
        Json restarts = Json::array();
        for (const auto& r : b.restarts) {
            Json rj = Json::object();
            rj["restart"] = r.restart;
            rj["seed"] = r.seed;
            rj["init_distortion"] = r.init_distortion;
            rj["train_distortion"] = r.train_distortion;
            rj["val_distortion"] = r.val_distortion;
            rj["iterations"] = r.iterations;
            rj["converged"] = r.converged;
            Json history = Json::array();
            for (const auto& it : r.history) {
                Json h = Json::object();
                h["iter"] = it.iter;
                h["distortion"] = it.distortion;
                h["empty_repaired"] = it.empty_repaired;
                history.push_back(std::move(h));
            }
            rj["history"] = std::move(history);
            restarts.push_back(std::move(rj));
        }
        j["restarts"] = std::move(restarts);
        return j;
    };
    Json t = Json::object();
    t["distortion_unit"] = "mean squared error per block";
    Json samples = Json::object();
    samples["train"] = result.train_samples;
    samples["val"] = result.val_samples;
    t["samples"] = std::move(samples);
    t["main"] = block(result.main);
    t["tail"] = result.tail ? block(*result.tail) : Json(nullptr);
    cb.training = std::move(t);
    cb.content_hash = compute_content_hash(cb);
    return cb;
}

UniversalCodebook make_scalar_codebook(const codecs::ScalarQuantizer& q, double tol,
                                       core::RotationKind rotation, std::uint64_t rotation_seed) {
    UniversalCodebook cb;
    cb.family = "scalar";
    cb.spec.d = q.d;
    cb.spec.main = codecs::scalar_codebook(q);
    cb.spec.rotation = rotation;
    cb.spec.rotation_seed = rotation_seed;
    cb.rotation_checksum = core::Rotation(rotation, q.d, rotation_seed).checksum();
    cb.rate = codebook_rate(cb.spec);
    // The Lloyd-Max fixed point is computed from the density itself, so its distortion is
    // exact: there is no training sample and "validation" is the same number.
    cb.train_total_mse = q.total_mse;
    cb.val_total_mse = q.total_mse;

    Json c = Json::object();
    c["method"] = "lloyd-max-exact";  // fixed point on the k = 1 marginal (SPEC 4.1)
    c["bits"] = q.bits;
    c["tol"] = tol;
    cb.construction = std::move(c);

    Json t = Json::object();
    t["distortion"] = "closed form (exact), not sampled";
    t["iterations"] = q.iterations;
    t["last_change"] = q.last_change;
    t["mse_per_coord"] = q.mse_per_coord;
    t["total_mse"] = q.total_mse;
    Json thresholds = Json::array();
    for (double x : q.thresholds) thresholds.push_back(x);
    t["thresholds"] = std::move(thresholds);
    cb.training = std::move(t);
    cb.content_hash = compute_content_hash(cb);
    return cb;
}

std::string serialize_codebook(const UniversalCodebook& cb) {
    check_writable(cb);
    return seal_json_file(dump_readable(to_document(cb)) + "\n");
}

UniversalCodebook parse_codebook(const std::string& text, const std::string& name) {
    const JsonReader rd("codebook file '" + name + "'", ExitCode::corrupt);
    Json doc = rd.parse(unseal_json_file(text, rd));
    if (!doc.is_object()) rd.fail("not a JSON object");

    // Format and version first, so that a newer file is reported as such rather than by
    // the keys it adds.
    if (!doc.contains("format") || doc["format"] != k_codebook_format)
        rd.fail("not an fq codebook (\"format\" must be \"fq-codebook\")");
    if (!doc.contains("format_version") || !doc["format_version"].is_number_integer())
        rd.fail("missing or non-integer format_version");
    if (doc["format_version"] != k_codebook_format_version)
        rd.fail("unsupported format_version " + doc["format_version"].dump() +
                " (this build reads version " + std::to_string(k_codebook_format_version) + ")");

    rd.expect_keys(
        doc,
        {"format", "format_version", "family", "d", "k", "N", "rate_bits_per_coord", "construction",
         "rotation", "distortion", "training", "tail", "codewords", "content_hash"},
        "the top level");
    rd.check_finite(doc, "the file");

    UniversalCodebook cb;
    cb.family = rd.get_string(doc, "family", "");
    if (cb.family != "fib" && cb.family != "scalar")
        rd.fail("unknown family '" + cb.family + "' (expected fib or scalar)");
    auto& s = cb.spec;
    s.d = rd.get_int(doc, "d", 2, k_max_d, "");
    const int k = rd.get_int(doc, "k", 1, s.d - 1, "");
    const int N = rd.get_int(doc, "N", 2, k_max_N, "");
    if (cb.family == "scalar" && k != 1) rd.fail("a scalar codebook must have k = 1");
    s.main = get_codewords(rd, doc["codewords"], k, N, "codewords");

    const int r = s.d % k;
    const Json& tail = doc["tail"];
    if (r == 0) {
        if (!tail.is_null()) rd.fail("tail must be null when k divides d");
    } else {
        if (tail.is_null())
            rd.fail("tail codebook missing although d mod k = " + std::to_string(r));
        rd.expect_keys(tail, {"k", "N", "codewords"}, "tail");
        const int tk = rd.get_int(tail, "k", r, r, "tail ");
        const int tn = rd.get_int(tail, "N", 2, k_max_N, "tail ");
        s.tail = get_codewords(rd, tail["codewords"], tk, tn, "tail codewords");
    }

    if (!doc["construction"].is_object()) rd.fail("construction is not a JSON object");
    if (!doc["training"].is_object()) rd.fail("training is not a JSON object");
    cb.construction = doc["construction"];
    cb.training = doc["training"];

    const Json& rot = doc["rotation"];
    rd.expect_keys(rot, {"kind", "seed", "checksum"}, "rotation");
    const std::string kind = rd.get_string(rot, "kind", "rotation ");
    try {
        s.rotation = core::rotation_kind_from_string(kind);
    } catch (const Error&) {
        rd.fail("unknown rotation kind '" + kind + "'");
    }
    s.rotation_seed = rd.get_uint64(rot, "seed", "rotation ");
    cb.rotation_checksum = rd.get_string(rot, "checksum", "rotation ");

    cb.rate = rd.get_double(doc, "rate_bits_per_coord", "");
    const double rate = codebook_rate(s);
    if (!close_relative(cb.rate, rate, 1e-12))
        rd.fail("rate_bits_per_coord " + doc["rate_bits_per_coord"].dump() +
                " does not match the sizes (" + Json(rate).dump() + ")");
    cb.rate = rate;

    const Json& dist = doc["distortion"];
    rd.expect_keys(dist, {"train", "val"}, "distortion");
    for (const char* which : {"train", "val"}) {
        const std::string where = std::string("distortion.") + which;
        const Json& dj = dist[which];
        rd.expect_keys(dj, {"mse_per_coord", "mse_per_vector", "db_above_bound"}, where);
        const double total = rd.get_double(dj, "mse_per_vector", where + " ");
        if (!(total > 0)) rd.fail(where + ".mse_per_vector must be positive");
        if (!close_relative(rd.get_double(dj, "mse_per_coord", where + " "), total / s.d, 1e-12))
            rd.fail(where + ".mse_per_coord is not mse_per_vector / d");
        if (!close_relative(rd.get_double(dj, "db_above_bound", where + " "),
                            db_above_bound(total, rate), 1e-9))
            rd.fail(where + ".db_above_bound does not match mse_per_vector and the rate");
        (std::string(which) == "train" ? cb.train_total_mse : cb.val_total_mse) = total;
    }

    cb.content_hash = rd.get_string(doc, "content_hash", "");
    const std::string hash = compute_content_hash(cb);
    if (cb.content_hash != hash)
        rd.fail("content hash mismatch: the file says " + cb.content_hash +
                ", its contents hash to " + hash + " (modified or damaged)");

    // Last, because it is the expensive check: the decoder regenerates the rotation from
    // (kind, d, seed), so a platform whose regeneration differs must refuse the file.
    check_rotation_checksum(rd, s.rotation, s.d, s.rotation_seed, cb.rotation_checksum);
    return cb;
}

void check_rotation_checksum(const JsonReader& rd, core::RotationKind kind, int d,
                             std::uint64_t seed, const std::string& checksum) {
    std::string regenerated;
    try {
        regenerated = core::Rotation(kind, d, seed).checksum();
    } catch (const Error& e) {
        rd.fail(std::string("rotation: ") + e.what());
    }
    if (regenerated != checksum)
        rd.fail("rotation regenerated on this platform differs from the file's checksum (" +
                std::string(core::to_string(kind)) + ", seed " + std::to_string(seed) + ": file " +
                checksum + ", regenerated " + regenerated + ")");
}

void save_codebook(const UniversalCodebook& cb, const std::string& path, bool force) {
    write_text_file(path, serialize_codebook(cb), force);
}

UniversalCodebook load_codebook(const std::string& path) {
    return parse_codebook(read_text_file(path, "codebook file"), path);
}

}  // namespace fq::io

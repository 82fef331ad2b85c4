#include "fq/io/tcq_file.hpp"

#include <cmath>
#include <cstring>

#include "fq/core/error.hpp"
#include "fq/core/sha256.hpp"
#include "fq/io/canonical_bytes.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/text_file.hpp"
#include "fq/train/tcq_train.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

namespace {

std::uint64_t rotation_code(core::RotationKind k) {
    switch (k) {
        case core::RotationKind::none:
            return 0;
        case core::RotationKind::haar:
            return 1;
        default:
            return 2;
    }
}

Json distortion_entry(double total, double rate) {
    Json j = Json::object();
    j["mse_per_vector"] = total;
    j["db_above_bound"] = db_above_bound(total, rate);
    return j;
}

}  // namespace

std::string tcq_file_name(int L, int K, int V) {
    return "tcq-L" + std::to_string(L) + "-K" + std::to_string(K) + "-V" + std::to_string(V) +
           ".json";
}

std::string tcq_content_hash(const TcqCodebookFile& f) {
    std::vector<std::uint8_t> bytes;
    bytes.reserve(64 + 8 * f.trellis.lut.size());
    const std::string magic = "fq-tcq/1";
    bytes.insert(bytes.end(), magic.begin(), magic.end());
    for (int v : {f.d, f.trellis.L, f.trellis.K, f.trellis.V}) detail::put_i64(bytes, v);
    detail::put_u64(bytes, rotation_code(f.rotation));
    detail::put_u64(bytes, f.rotation_seed);
    for (float x : f.trellis.lut) detail::put_f64(bytes, x);
    return "sha256:" + core::sha256_hex(bytes.data(), bytes.size());
}

TcqCodebookFile make_tcq_file(const train::TcqTrainResult& r, core::RotationKind rotation,
                              std::uint64_t rotation_seed) {
    TcqCodebookFile f;
    f.d = r.params.d;
    f.trellis = r.trellis;
    f.rotation = rotation;
    f.rotation_seed = rotation_seed;
    f.rotation_checksum = core::Rotation(rotation, f.d, rotation_seed).checksum();
    Json c = Json::object();
    c["method"] = "tcq-lloyd";
    c["init"] = "seeded standard-normal table";
    c["search"] =
        "two-pass tail-biting Viterbi: free pass on the tape rotated by T/2, then "
        "the exact pass with the overlap found at the seam";
    c["seed"] = r.params.seed;
    c["train_vectors"] = r.params.train_vectors;
    c["val_vectors"] = r.params.val_vectors;
    c["max_iter"] = r.params.max_iter;
    c["tol"] = r.params.tol;
    f.construction = std::move(c);
    Json its = Json::array();
    for (const auto& it : r.iterations) {
        Json j = Json::object();
        j["iter"] = it.iter;
        j["distortion"] = it.train_distortion;
        j["empty_states"] = it.empty_states;
        its.push_back(std::move(j));
    }
    f.training = Json::object();
    f.training["iterations"] = std::move(its);
    f.init_mse = r.init_distortion;
    f.train_mse = r.train_distortion;
    f.val_mse = r.val_distortion;
    f.content_hash = tcq_content_hash(f);
    return f;
}

std::string serialize_tcq(const TcqCodebookFile& f) {
    codecs::validate(f.trellis);
    Json j = Json::object();
    j["format"] = k_tcq_format;
    j["format_version"] = k_tcq_format_version;
    j["family"] = "tcq";
    j["d"] = f.d;
    j["L"] = f.trellis.L;
    j["K"] = f.trellis.K;
    j["V"] = f.trellis.V;
    j["rate_bits_per_coord"] = f.rate();
    j["construction"] = f.construction.is_object() ? f.construction : Json::object();
    Json rot = Json::object();
    rot["kind"] = core::to_string(f.rotation);
    rot["seed"] = f.rotation_seed;
    rot["checksum"] = f.rotation_checksum;
    j["rotation"] = std::move(rot);
    Json dist = Json::object();
    dist["init"] = distortion_entry(f.init_mse, f.rate());
    dist["train"] = distortion_entry(f.train_mse, f.rate());
    dist["val"] = distortion_entry(f.val_mse, f.rate());
    j["distortion"] = std::move(dist);
    j["training"] = f.training.is_object() ? f.training : Json::object();
    Json lut = Json::array();
    const auto V = static_cast<std::size_t>(f.trellis.V);
    for (std::size_t s = 0; s < f.trellis.lut.size() / V; ++s) {
        Json row = Json::array();
        for (std::size_t v = 0; v < V; ++v)
            row.push_back(static_cast<double>(f.trellis.lut[s * V + v]));
        lut.push_back(std::move(row));
    }
    j["lut"] = std::move(lut);
    j["content_hash"] = tcq_content_hash(f);
    return seal_json_file(dump_readable(j) + "\n");
}

TcqCodebookFile parse_tcq(const std::string& text, const std::string& name) {
    const JsonReader rd("tcq codebook file '" + name + "'", ExitCode::corrupt);
    const Json doc = rd.parse(unseal_json_file(text, rd));
    if (!doc.is_object() || !doc.contains("format") || doc["format"] != k_tcq_format)
        rd.fail("not a tcq codebook file (format is not \"" + std::string(k_tcq_format) + "\")");
    if (!doc.contains("format_version") || !doc["format_version"].is_number_integer() ||
        doc["format_version"].get<std::int64_t>() != k_tcq_format_version)
        rd.fail("unsupported format_version (this build reads version 1)");
    rd.expect_keys(doc,
                   {"format", "format_version", "family", "d", "L", "K", "V", "rate_bits_per_coord",
                    "construction", "rotation", "distortion", "training", "lut", "content_hash"},
                   "the top level");
    rd.check_finite(doc, "");
    if (doc["family"] != "tcq") rd.fail("family is not \"tcq\"");
    TcqCodebookFile f;
    f.d = rd.get_int(doc, "d", 2, 1 << 16);
    f.trellis.L = rd.get_int(doc, "L", 1, 20);
    f.trellis.K = rd.get_int(doc, "K", 1, 8);
    f.trellis.V = rd.get_int(doc, "V", 1, 8);
    if (f.trellis.K > f.trellis.L) rd.fail("K exceeds L");
    if (f.d % f.trellis.V != 0) rd.fail("d is not a multiple of V");
    if (static_cast<long>(f.d / f.trellis.V) * f.trellis.K < f.trellis.L)
        rd.fail("d K / V bits cannot fill a state of L bits");
    if (static_cast<double>(f.d / f.trellis.V) *
            static_cast<double>(std::size_t{1} << (f.trellis.L - f.trellis.K)) >
        codecs::k_max_search_bytes)
        rd.fail("the trellis search (d / V steps over 2^L states) is too large");
    if (!close_relative(rd.get_double(doc, "rate_bits_per_coord"), f.rate(), 1e-12))
        rd.fail("rate_bits_per_coord does not match K / V");
    for (const char* key : {"construction", "training"})
        if (!doc[key].is_object()) rd.fail(std::string(key) + " is not an object");
    f.construction = doc["construction"];
    f.training = doc["training"];
    const Json& rot = doc["rotation"];
    rd.expect_keys(rot, {"kind", "seed", "checksum"}, "rotation");
    try {
        f.rotation = core::rotation_kind_from_string(rd.get_string(rot, "kind", "rotation "));
    } catch (const UsageError& e) {
        rd.fail(std::string("rotation: ") + e.what());
    }
    f.rotation_seed = rd.get_uint64(rot, "seed", "rotation ");
    f.rotation_checksum = rd.get_string(rot, "checksum", "rotation ");
    const Json& dist = doc["distortion"];
    rd.expect_keys(dist, {"init", "train", "val"}, "distortion");
    double* targets[3] = {&f.init_mse, &f.train_mse, &f.val_mse};
    int i = 0;
    for (const char* key : {"init", "train", "val"}) {
        const Json& e = dist[key];
        const std::string where = std::string("distortion.") + key + " ";
        rd.expect_keys(e, {"mse_per_vector", "db_above_bound"}, where);
        *targets[i] = rd.get_double(e, "mse_per_vector", where);
        if (!(*targets[i] > 0)) rd.fail(where + "mse_per_vector is not positive");
        if (!close_relative(rd.get_double(e, "db_above_bound", where),
                            db_above_bound(*targets[i], f.rate()), 1e-9))
            rd.fail(where + "db_above_bound is inconsistent with mse_per_vector");
        ++i;
    }
    const Json& lut = doc["lut"];
    const std::size_t rows = std::size_t{1} << f.trellis.L;
    if (!lut.is_array() || lut.size() != rows)
        rd.fail("lut does not have 2^L = " + std::to_string(rows) + " rows");
    f.trellis.lut.reserve(rows * static_cast<std::size_t>(f.trellis.V));
    for (std::size_t s = 0; s < rows; ++s) {
        const Json& row = lut[s];
        if (!row.is_array() || row.size() != static_cast<std::size_t>(f.trellis.V))
            rd.fail("lut row " + std::to_string(s) + " does not hold V numbers");
        for (const Json& v : row) {
            if (!v.is_number()) rd.fail("lut row " + std::to_string(s) + " holds a non-number");
            const double x = v.get<double>();
            if (static_cast<double>(static_cast<float>(x)) != x)
                rd.fail("lut row " + std::to_string(s) + " holds a number that is not a float");
            f.trellis.lut.push_back(static_cast<float>(x));
        }
    }
    f.content_hash = rd.get_string(doc, "content_hash");
    const std::string hash = tcq_content_hash(f);
    if (f.content_hash != hash)
        rd.fail("content hash mismatch: the file says " + f.content_hash + ", the content is " +
                hash);
    check_rotation_checksum(rd, f.rotation, f.d, f.rotation_seed, f.rotation_checksum);
    return f;
}

void save_tcq(const TcqCodebookFile& f, const std::string& path, bool force) {
    write_text_file(path, serialize_tcq(f), force);
}

TcqCodebookFile load_tcq(const std::string& path) {
    return parse_tcq(read_text_file(path, "tcq codebook file"), path);
}

}  // namespace fq::io

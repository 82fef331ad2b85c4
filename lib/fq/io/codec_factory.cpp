#include "fq/io/codec_factory.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fq/codecs/block_format.hpp"
#include "fq/codecs/block_vq.hpp"
#include "fq/codecs/gsrq.hpp"
#include "fq/codecs/int_quant.hpp"
#include "fq/codecs/qjl.hpp"
#include "fq/codecs/scalar.hpp"
#include "fq/core/sha256.hpp"
#if FQ_HAVE_FAISS
#include "fq/io/faiss_file.hpp"
#endif
#include "fq/io/json_util.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace fq::io {

namespace {

// Every codec family this build knows. The registry is one switch in make_codec; a new
// family adds its name to known_families() and its keys in normalize_description.
bool known_family(const std::string& f) {
    const auto& all = known_families();
    return std::find(all.begin(), all.end(), f) != all.end();
}

std::string family_list() {
    std::string out;
    for (const std::string& f : known_families()) out += (out.empty() ? "" : ", ") + f;
    return out;
}

// Checksum of the matrices a codec regenerates from seeds at decode time (SPEC 3: they must be
// bit-reproducible; a mismatch must be detected, not decoded): the first 16 hex digits of
// SHA-256 over the rotation's checksum (16 ASCII hex digits, core::Rotation::checksum) when
// there is a rotation, then the QJL matrix S as little-endian float64, row-major, when there
// is one. "" for codecs without generated matrices.
std::string generated_checksum(const codecs::Codec& c) {
    core::Sha256 h;
    bool any = false;
    auto add_rotation = [&](const core::Rotation& r) {
        if (r.kind() == core::RotationKind::none) return;
        h.update(r.checksum());
        any = true;
    };
    auto add_matrix = [&](const std::vector<double>& m) {
        for (double v : m) {
            std::uint64_t bits = 0;
            std::memcpy(&bits, &v, sizeof bits);
            std::uint8_t b[8];
            for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(bits >> (8 * i));
            h.update(b, 8);
        }
        any = true;
    };
    if (const auto* q = dynamic_cast<const codecs::QjlCodec*>(&c)) {
        add_matrix(q->matrix());
    } else if (const auto* sq = dynamic_cast<const codecs::ScalarQjlCodec*>(&c)) {
        add_rotation(sq->scalar().rotation());
        add_matrix(sq->qjl().matrix());
    } else if (const auto* bf = dynamic_cast<const codecs::BlockFormatCodec*>(&c)) {
        add_rotation(bf->rotation());
    }
    return any ? h.finish_hex().substr(0, 16) : std::string();
}

// Exact Lloyd-Max fixed-point tolerance, as fq-train scalar.
constexpr double k_scalar_tol = 1e-12;

// The codebook of a scalar description given by bits (+ rotation) for dimension d.
UniversalCodebook scalar_codebook_for(int d, int bits, core::RotationKind rot, std::uint64_t seed) {
    return make_scalar_codebook(codecs::lloyd_max_scalar(d, bits, k_scalar_tol), k_scalar_tol, rot,
                                seed);
}

}  // namespace

const std::vector<std::string>& known_families() {
    static const std::vector<std::string> all = {
        "fib",
        "scalar",
        "qjl",
        "scalar+qjl",
        "int",
        "block",
        "gsrq",
#if FQ_HAVE_FAISS
        "faiss-pq",
        "faiss-rq"
#endif
    };
    return all;
}

std::string BuiltCodec::codebook_hash() const {
    if (gsrq) return gsrq->content_hash;
    return codebook.content_hash;
}

std::string codec_label(const BuiltCodec& b) {
    const Json& j = b.description;
    const std::string f = j.value("codec", std::string());
    std::ostringstream o;
    o << f;
    if (f == "fib" || f == "scalar") {
        const auto& s = b.codebook.spec;
        if (f == "scalar") {
            int bits = 0;
            while ((1 << bits) < s.main.N) ++bits;
            o << " b=" << bits;
        } else {
            o << " k=" << s.main.k << " N=" << s.main.N;
        }
        if (s.rotation != core::RotationKind::haar) o << " " << core::to_string(s.rotation);
        o << " " << j["header"].get<std::string>() << "/" << j["header_type"].get<std::string>();
    } else if (f == "qjl") {
        o << " m=" << (j["m"].get<int>() == 0 ? b.codec->dim() : j["m"].get<int>());
    } else if (f == "scalar+qjl") {
        o << " b=" << j["bits"].get<int>() << " " << j["rotation"].get<std::string>()
          << " m=" << (j["m"].get<int>() == 0 ? b.codec->dim() : j["m"].get<int>());
    } else if (f == "int") {
        o << " b=" << j["bits"].get<int>() << " G=" << j["group"].get<int>() << " "
          << j["grouping"].get<std::string>();
    } else if (f == "block") {
        o << " " << j["format"].get<std::string>();
        if (j["rotation"] != "none") o << " " << j["rotation"].get<std::string>();
    } else if (f == "gsrq" && b.gsrq) {
        const auto& c = b.gsrq->codebooks;
        o << " D=" << c.D << " K=" << c.K << " S=" << c.S << " beam=" << j["beam"].get<int>();
    }
#if FQ_HAVE_FAISS
    else if (const auto* fc = dynamic_cast<const codecs::FaissCodec*>(b.codec.get())) {
        o << " M=" << fc->M() << " nbits=" << fc->nbits();
    }
#endif
    return o.str();
}

Json with_tensor_defaults(Json desc, KvKind kind) {
    if (desc.is_object() && desc.value("codec", std::string()) == "int" &&
        !desc.contains("grouping") && (kind == KvKind::k || kind == KvKind::v))
        desc["grouping"] = kind == KvKind::k ? "per_channel" : "per_token";
    return desc;
}

Json normalize_description(const Json& desc, const std::string& context, ExitCode code) {
    const JsonReader rd(context, code);
    if (!desc.is_object()) rd.fail("a codec description must be a JSON object");
    if (!desc.contains("codec")) rd.fail("missing key 'codec'");
    const std::string family = rd.get_string(desc, "codec");
    if (!known_family(family))
        rd.fail("unknown codec '" + family + "' (this build knows " + family_list() + ")");
    auto allow = [&](std::initializer_list<const char*> keys) {
        for (auto it = desc.begin(); it != desc.end(); ++it) {
            bool ok = it.key() == "codec";
            for (const char* k : keys) ok = ok || it.key() == k;
            if (!ok) rd.fail("unknown key '" + it.key() + "' for codec " + family);
        }
    };
    auto str = [&](const char* key, const std::string& dflt,
                   std::initializer_list<const char*> values) {
        const std::string v = desc.contains(key) ? rd.get_string(desc, key) : dflt;
        std::string list;
        for (const char* x : values) {
            if (v == x) return v;
            list += (list.empty() ? "\"" : ", \"") + std::string(x) + "\"";
        }
        rd.fail(std::string(key) + " must be one of " + list + ", got \"" + v + "\"");
    };
    auto integer = [&](const char* key, int dflt, int lo, int hi) {
        return desc.contains(key) ? rd.get_int(desc, key, lo, hi) : dflt;
    };
    auto u64 = [&](const char* key, std::uint64_t dflt) {
        return desc.contains(key) ? rd.get_uint64(desc, key) : dflt;
    };
    Json out = Json::object();
    out["codec"] = family;
    // Written by make_codec for qjl, scalar+qjl and rotated block codecs; checked there.
    auto keep_checksum = [&] {
        if (desc.contains("checksum")) out["checksum"] = rd.get_string(desc, "checksum");
    };
    if (family == "fib" || family == "scalar") {
        if (family == "fib")
            allow({"codebook", "header", "header_type"});
        else
            allow({"codebook", "bits", "rotation", "rotation_seed", "header", "header_type"});
        if (family == "scalar" && desc.contains("bits")) {
            if (desc.contains("codebook"))
                rd.fail(
                    "unknown key 'bits' beside 'codebook' (a scalar description gives "
                    "either a codebook or bits, not both)");
            out["bits"] = integer("bits", 2, 1, 8);
            out["rotation"] = str("rotation", "haar", {"none", "haar", "hadamard"});
            out["rotation_seed"] = u64("rotation_seed", 1);
        } else {
            if (desc.contains("rotation") || desc.contains("rotation_seed"))
                rd.fail("'rotation' goes with 'bits' (a codebook file carries its own rotation)");
            if (!desc.contains("codebook")) rd.fail("missing key 'codebook'");
            out["codebook"] = rd.get_string(desc, "codebook");
        }
        out["header"] = str("header", "norm", {"norm", "gain"});
        out["header_type"] = str("header_type", "float16", {"float16", "float32"});
    } else if (family == "qjl") {
        allow({"m", "seed", "checksum"});
        out["m"] = integer("m", 0, 0, 1 << 20);
        out["seed"] = u64("seed", codecs::QjlParams{}.seed);
        keep_checksum();
    } else if (family == "scalar+qjl") {
        allow({"bits", "rotation", "rotation_seed", "qjl_seed", "m", "checksum"});
        const codecs::ScalarQjlParams p;
        out["bits"] = integer("bits", 3, 2, 9);
        out["rotation"] = str("rotation", "hadamard", {"hadamard", "haar"});
        out["rotation_seed"] = u64("rotation_seed", p.rotation_seed);
        out["qjl_seed"] = u64("qjl_seed", p.qjl_seed);
        out["m"] = integer("m", 0, 0, 1 << 20);
        keep_checksum();
    } else if (family == "int") {
        allow({"bits", "group", "grouping"});
        const codecs::IntQuantParams p;
        out["bits"] = integer("bits", p.bits, 1, 8);
        out["group"] = integer("group", p.group, 1, 1 << 16);
        out["grouping"] = str("grouping", "per_token", {"per_token", "per_channel"});
    } else if (family == "block") {
        allow({"format", "rotation", "rotation_seed", "checksum"});
        out["format"] = str("format", "q8_0", {"q8_0", "q4_0"});
        out["rotation"] = str("rotation", "none", {"none", "hadamard", "haar"});
        out["rotation_seed"] = u64("rotation_seed", 1);
        keep_checksum();
    } else if (family == "faiss-pq" || family == "faiss-rq") {
        // Configs: `codebook` (a FAISS codebook file path). Stored form: `file` (that path) and
        // `file_hash` (its content hash, checked when decoding); the file is not embedded.
        allow({"codebook", "file", "file_hash"});
        if (desc.contains("codebook") == desc.contains("file"))
            rd.fail("give exactly one of 'codebook' (a FAISS codebook file) and 'file'");
        out["file"] = rd.get_string(desc, desc.contains("codebook") ? "codebook" : "file");
        if (desc.contains("file_hash")) out["file_hash"] = rd.get_string(desc, "file_hash");
    } else {  // gsrq
        allow({"codebook", "beam"});
        if (!desc.contains("codebook")) rd.fail("missing key 'codebook'");
        out["codebook"] = rd.get_string(desc, "codebook");
        out["beam"] = integer("beam", 1, 1, 4096);
    }
    return out;
}

BuiltCodec make_codec(const Json& desc, const CodebookStore& store, const std::string& context,
                      ExitCode code, int d) {
    Json norm = normalize_description(desc, context, code);
    const JsonReader rd(context, code);
    const std::string family = norm["codec"].get<std::string>();
    BuiltCodec out;
    auto need_d = [&](int d_min) {
        if (d < d_min)
            rd.fail("codec " + family + " needs the data's dimension" +
                    (d > 0 ? " >= " + std::to_string(d_min) + ", got " + std::to_string(d) : ""));
    };
    auto rotation = [&](const char* key) {
        return core::rotation_kind_from_string(norm[key].get<std::string>());
    };
    try {
        if (family == "fib" || family == "scalar") {
            if (norm.contains("bits")) {
                need_d(3);
                out.codebook = scalar_codebook_for(d, norm["bits"].get<int>(), rotation("rotation"),
                                                   norm["rotation_seed"].get<std::uint64_t>());
                Json stored = Json::object();
                stored["codec"] = family;
                stored["codebook"] = out.codebook.content_hash;
                stored["header"] = norm["header"];
                stored["header_type"] = norm["header_type"];
                norm = std::move(stored);
            } else {
                out.codebook = store.resolve(norm["codebook"].get<std::string>());
            }
            if (out.codebook.family != family)
                rd.fail("codec '" + family + "' needs a " + family + " codebook, " +
                        norm["codebook"].get<std::string>() + " is a " + out.codebook.family +
                        " codebook");
            codecs::HeaderOptions h;
            h.value =
                norm["header"] == "gain" ? codecs::NormHeader::gain : codecs::NormHeader::norm;
            h.type = norm["header_type"] == "float32" ? codecs::HeaderType::float32
                                                      : codecs::HeaderType::float16;
            out.codec = std::make_shared<codecs::BlockVqCodec>(family, out.codebook.spec, h);
            norm["codebook"] = out.codebook.content_hash;
        } else if (family == "qjl") {
            need_d(1);
            codecs::QjlParams p;
            p.d = d;
            p.m = norm["m"].get<int>();
            p.seed = norm["seed"].get<std::uint64_t>();
            out.codec = std::make_shared<codecs::QjlCodec>(p);
        } else if (family == "scalar+qjl") {
            need_d(3);
            codecs::ScalarQjlParams p;
            p.d = d;
            p.bits = norm["bits"].get<int>();
            p.rotation = rotation("rotation");
            p.rotation_seed = norm["rotation_seed"].get<std::uint64_t>();
            p.qjl_seed = norm["qjl_seed"].get<std::uint64_t>();
            p.m = norm["m"].get<int>();
            out.codec = std::make_shared<codecs::ScalarQjlCodec>(p);
        } else if (family == "int") {
            need_d(1);
            codecs::IntQuantParams p;
            p.d = d;
            p.bits = norm["bits"].get<int>();
            p.group = norm["group"].get<int>();
            p.grouping = codecs::int_grouping_from_string(norm["grouping"].get<std::string>());
            out.codec = std::make_shared<codecs::IntQuantCodec>(p);
        } else if (family == "block") {
            need_d(1);
            codecs::BlockFormatParams p;
            p.d = d;
            p.format = codecs::block_format_from_string(norm["format"].get<std::string>());
            p.rotation = rotation("rotation");
            p.rotation_seed = norm["rotation_seed"].get<std::uint64_t>();
            out.codec = std::make_shared<codecs::BlockFormatCodec>(p);
        }
#if FQ_HAVE_FAISS
        else if (family == "faiss-pq" || family == "faiss-rq") {
            const FaissCodebookFile f = load_faiss(norm["file"].get<std::string>());
            if (f.codec.family() != family)
                rd.fail("codec '" + family + "' needs a " + family + " file, " +
                        norm["file"].get<std::string>() + " holds a " + f.codec.family());
            if (norm.contains("file_hash") && norm["file_hash"] != f.content_hash)
                rd.fail("FAISS codebook file " + norm["file"].get<std::string>() + " has hash " +
                        f.content_hash + ", the description expects " +
                        norm["file_hash"].get<std::string>());
            norm["file_hash"] = f.content_hash;
            out.codec = std::make_shared<codecs::FaissCodec>(f.codec);
        }
#endif
        else {  // gsrq
            auto f = std::make_shared<GsrqCodebookFile>(
                store.resolve_gsrq(norm["codebook"].get<std::string>()));
            out.codec = std::make_shared<codecs::GsrqCodec>(f->codebooks, norm["beam"].get<int>());
            norm["codebook"] = f->content_hash;
            out.gsrq = std::move(f);
        }
    } catch (const UsageError& e) {  // parameters the codec refuses (d not a power of two, ...)
        const std::string what = e.what();
        if (what.rfind(context, 0) == 0) throw;
        rd.fail(what);
    }
    if (const std::string sum = generated_checksum(*out.codec); !sum.empty()) {
        if (norm.contains("checksum") && norm["checksum"] != sum)
            rd.fail("the rotation / projection regenerated on this platform (checksum " + sum +
                    ") differs from the description's checksum " +
                    norm["checksum"].get<std::string>());
        norm["checksum"] = sum;
    } else if (norm.contains("checksum")) {
        rd.fail("'checksum' given for a codec without a generated matrix");
    }
    if (d > 0 && out.codec->dim() != d)
        rd.fail("the data has d = " + std::to_string(d) + " but the codec " +
                (norm.contains("codebook")
                     ? "(codebook " + norm["codebook"].get<std::string>() + ") "
                     : std::string()) +
                "has d = " + std::to_string(out.codec->dim()));
    out.description = std::move(norm);
    return out;
}

Json default_description(int d, double rate, const CodebookStore& store, const std::string& header,
                         const std::string& header_type) {
    const ShippedCodebook s = store.default_codebook_for(d, rate, "fib");
    Json j = Json::object();
    j["codec"] = "fib";
    j["codebook"] = s.path;
    j["header"] = header;
    j["header_type"] = header_type;
    return j;
}

Json parse_codec_spec(const std::string& spec, int d, CodebookStore& store,
                      const std::string& header, const std::string& header_type) {
    const std::string ctx = "codec '" + spec + "'";
    const auto colon = spec.find(':');
    const std::string family = spec.substr(0, colon);
    std::map<std::string, std::string> kv;
    if (known_family(family) && colon != std::string::npos) {
        std::stringstream ss(spec.substr(colon + 1));
        std::string item;
        while (std::getline(ss, item, ',')) {
            const auto eq = item.find('=');
            if (eq == std::string::npos || eq == 0)
                throw UsageError(ctx + ": expected key=value, got '" + item + "'");
            if (!kv.emplace(item.substr(0, eq), item.substr(eq + 1)).second)
                throw UsageError(ctx + ": key '" + item.substr(0, eq) + "' given twice");
        }
    }
    // Families described by their parameters alone (and gsrq): key=value as JSON, integers
    // as numbers; normalize_description checks names and values later (make_codec).
    const bool scalar_rotated =
        family == "scalar" && (kv.count("rotation") || kv.count("rotation_seed"));
    if (known_family(family) && ((family != "fib" && family != "scalar") || scalar_rotated) &&
        (colon != std::string::npos || spec == family)) {
        Json j = Json::object();
        j["codec"] = family;
        for (const auto& [key, value] : kv) {
            std::size_t pos = 0;
            long long x = 0;
            bool is_int = !value.empty() &&
                          (std::isdigit(static_cast<unsigned char>(value[0])) || value[0] == '-');
            if (is_int) {
                try {
                    x = std::stoll(value, &pos);
                } catch (...) {
                    pos = 0;
                }
                is_int = pos == value.size();
            }
            const bool is_u64 =
                key.size() >= 4 && key.substr(key.size() - 4) == "seed" && !value.empty() &&
                std::all_of(value.begin(), value.end(),
                            [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); });
            if (is_u64) {
                try {
                    j[key] = static_cast<std::uint64_t>(std::stoull(value));
                } catch (...) {
                    throw UsageError(ctx + ": " + key + " must be an unsigned integer");
                }
            } else if (is_int) {
                j[key] = x;
            } else {
                j[key] = value;
            }
        }
        if (family == "scalar") {
            if (kv.count("rate") && !kv.count("bits")) {
                j["bits"] = j["rate"];
                j.erase("rate");
            }
            if (!j.contains("bits")) j["bits"] = 2;
            if (!j.contains("header")) j["header"] = header;
            if (!j.contains("header_type")) j["header_type"] = header_type;
        }
        normalize_description(with_tensor_defaults(j, KvKind::v), ctx, ExitCode::usage);
        return j;
    }
    if (colon != std::string::npos && known_family(family)) {
        auto number = [&](const std::string& key) {
            const std::string& v = kv.at(key);
            std::size_t pos = 0;
            double x = 0;
            try {
                x = std::stod(v, &pos);
            } catch (...) {
                pos = 0;
            }
            if (pos != v.size() || !std::isfinite(x) || x <= 0)
                throw UsageError(ctx + ": " + key + " must be a positive number, got '" + v + "'");
            return x;
        };
        auto integer = [&](const std::string& key) {
            const double x = number(key);
            if (x != std::floor(x) || x > (1 << 24))
                throw UsageError(ctx + ": " + key + " must be an integer, got '" + kv.at(key) +
                                 "'");
            return static_cast<int>(x);
        };
        Json j = Json::object();
        j["codec"] = family;
        j["header"] = kv.count("header") ? kv.at("header") : header;
        j["header_type"] = kv.count("header_type") ? kv.at("header_type") : header_type;
        for (const auto& [key, value] : kv)
            if (key != "header" && key != "header_type" && key != "rate" && key != "bits" &&
                key != "k" && key != "N")
                throw UsageError(ctx + ": unknown key '" + key + "'");
        const std::string sub = store.dir() + "/d" + std::to_string(d) + "/";
        if (family == "fib") {
            if (kv.count("bits")) throw UsageError(ctx + ": fib takes rate=R or k=K,N=N, not bits");
            if (kv.count("k") || kv.count("N")) {
                if (!kv.count("k") || !kv.count("N") || kv.count("rate"))
                    throw UsageError(ctx + ": give both k and N (and no rate)");
                const int k = integer("k"), N = integer("N");
                const std::string path =
                    sub + "fib-k" + std::to_string(k) + "-N" + std::to_string(N) + ".json";
                std::error_code ec;
                if (!fs::exists(path, ec))
                    throw UsageError("no shipped codebook " + path +
                                     "; make one with: fq-train fib --d " + std::to_string(d) +
                                     " --k " + std::to_string(k) + " --N " + std::to_string(N) +
                                     " -o " + path);
                j["codebook"] = path;
            } else {
                const double rate = kv.count("rate") ? number("rate") : 2.0;
                j["codebook"] = store.default_codebook_for(d, rate, "fib").path;
            }
        } else {  // scalar
            if (kv.count("k") || kv.count("N"))
                throw UsageError(ctx + ": scalar takes bits=B (or rate=B), not k or N");
            if (kv.count("bits") && kv.count("rate"))
                throw UsageError(ctx + ": give bits or rate, not both");
            const int bits = kv.count("bits")   ? integer("bits")
                             : kv.count("rate") ? integer("rate")
                                                : 2;
            if (bits < 1 || bits > 8) throw UsageError(ctx + ": bits must be in 1..8");
            const std::string path = sub + "scalar-b" + std::to_string(bits) + ".json";
            std::error_code ec;
            if (fs::exists(path, ec)) {
                j["codebook"] = path;
            } else {
                if (d < 3) throw UsageError(ctx + ": scalar needs d >= 3");
                constexpr double k_tol = 1e-12;  // as fq-train scalar
                UniversalCodebook cb = make_scalar_codebook(
                    codecs::lloyd_max_scalar(d, bits, k_tol), k_tol, core::RotationKind::haar, 1);
                j["codebook"] = cb.content_hash;
                store.add(std::move(cb));
            }
        }
        return normalize_description(j, ctx, ExitCode::usage);
    }

    // A file: a codebook or a JSON codec description.
    std::error_code ec;
    if (!fs::exists(spec, ec))
        throw UsageError(ctx +
                         ": neither a short form (fib:rate=2, fib:k=4,N=256, scalar:bits=2, qjl, "
                         "scalar+qjl:bits=3, int:bits=4,group=32, block:format=q4_0, "
                         "gsrq:codebook=FILE) nor an existing file");
    std::string text;
    {
        std::ifstream in(spec, std::ios::binary);
        std::ostringstream s;
        s << in.rdbuf();
        if (!in) throw IoError("cannot read '" + spec + "'");
        text = s.str();
    }
    const JsonReader rd("codec file '" + spec + "'", ExitCode::usage);
    Json doc = rd.parse(text);
    if (doc.is_object() && doc.contains("format") && doc["format"] == k_gsrq_format) {
        parse_gsrq(text, spec);  // validates
        Json j = Json::object();
        j["codec"] = "gsrq";
        j["codebook"] = spec;
        return j;
    }
#if FQ_HAVE_FAISS
    if (doc.is_object() && doc.contains("format") && doc["format"] == k_faiss_format) {
        const FaissCodebookFile f = parse_faiss(text, spec);  // validates
        Json j = Json::object();
        j["codec"] = f.codec.family();
        j["codebook"] = spec;
        return j;
    }
#endif
    if (doc.is_object() && doc.contains("format") && doc["format"] == k_codebook_format) {
        UniversalCodebook cb = parse_codebook(text, spec);
        Json j = Json::object();
        j["codec"] = cb.family;
        j["codebook"] = spec;
        j["header"] = header;
        j["header_type"] = header_type;
        return j;
    }
    const Json norm = normalize_description(with_tensor_defaults(doc, KvKind::v),
                                            "codec file '" + spec + "'", ExitCode::usage);
    const std::string f = norm["codec"].get<std::string>();
    return f == "fib" || f == "scalar" ? norm : doc;  // others: tensor defaults still open
}

}  // namespace fq::io

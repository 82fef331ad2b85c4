#include "fq/io/codec_factory.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fq/codecs/block_vq.hpp"
#include "fq/codecs/scalar.hpp"
#include "fq/io/json_util.hpp"

#ifndef FQ_CODEBOOK_DIR
#define FQ_CODEBOOK_DIR "codebooks"
#endif

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace fq::io {

namespace {

bool is_hash(const std::string& ref) {
    return ref.rfind("sha256:", 0) == 0;
}

std::string format_rate(double r) {
    std::ostringstream s;
    s << r;
    return s.str();
}

// Every codec family this build knows. The registry is one switch in make_codec; a new
// family adds its name here and its keys in normalize_description.
bool known_family(const std::string& f) {
    return f == "fib" || f == "scalar";
}

}  // namespace

std::string codebook_dir(const std::string& option) {
    if (!option.empty()) return option;
    if (const char* env = std::getenv("FQ_CODEBOOKS"); env != nullptr && *env != '\0') return env;
    return FQ_CODEBOOK_DIR;
}

CodebookStore::CodebookStore(const std::string& dir) : m_dir(codebook_dir(dir)) {}

void CodebookStore::add(UniversalCodebook cb) {
    std::string hash = cb.content_hash;
    m_added[hash] = std::move(cb);
}

UniversalCodebook CodebookStore::resolve(const std::string& ref) const {
    if (is_hash(ref)) {
        if (auto it = m_added.find(ref); it != m_added.end()) return it->second;
        std::error_code ec;
        if (fs::is_directory(m_dir, ec)) {
            for (const auto& sub : fs::directory_iterator(m_dir, ec)) {
                if (!sub.is_directory()) continue;
                const std::string name = sub.path().filename().string();
                if (name.size() < 2 || name[0] != 'd') continue;
                int d = 0;
                try {
                    d = std::stoi(name.substr(1));
                } catch (...) {
                    continue;
                }
                for (const ShippedCodebook& s : shipped(d))
                    if (s.content_hash == ref) return load_codebook(s.path);
            }
        }
        throw IoError("codebook " + ref + " not found (not embedded, not given with -c, not in " +
                      m_dir + ")");
    }
    std::error_code ec;
    if (fs::exists(ref, ec)) return load_codebook(ref);
    const fs::path in_dir = fs::path(m_dir) / ref;
    if (fs::path(ref).is_relative() && fs::exists(in_dir, ec))
        return load_codebook(in_dir.string());
    throw IoError("codebook file '" + ref + "' not found (nor in " + m_dir + ")");
}

std::vector<ShippedCodebook> CodebookStore::shipped(int d) const {
    std::vector<ShippedCodebook> out;
    const fs::path sub = fs::path(m_dir) / ("d" + std::to_string(d));
    std::error_code ec;
    if (!fs::is_directory(sub, ec)) return out;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(sub, ec))
        if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& p : files) {
        UniversalCodebook cb;
        try {
            cb = load_codebook(p.string());
        } catch (const Error&) {
            continue;  // not a codebook (or damaged): never chosen
        }
        if (cb.spec.d != d) continue;
        ShippedCodebook s;
        s.path = p.string();
        s.family = cb.family;
        s.d = cb.spec.d;
        s.k = cb.spec.main.k;
        s.N = cb.spec.main.N;
        s.rate = cb.rate;
        s.val_total_mse = cb.val_total_mse;
        s.content_hash = cb.content_hash;
        out.push_back(std::move(s));
    }
    return out;
}

std::string train_command_for(int d, double rate, const std::string& family,
                              const std::string& dir) {
    const std::string where = dir + "/d" + std::to_string(d) + "/";
    if (family == "scalar") {
        const int bits = std::clamp(static_cast<int>(std::lround(rate)), 1, 8);
        return "fq-train scalar --d " + std::to_string(d) + " --bits " + std::to_string(bits) +
               " -o " + where + "scalar-b" + std::to_string(bits) + ".json";
    }
    // Largest block dimension with N = 2^(rate k) <= 256 (and k < d): the paper's sweet spot.
    int k = 1;
    for (int kk = 1; kk < d && kk <= 32; ++kk)
        if (std::pow(2.0, rate * kk) <= 256.0 + 1e-9) k = kk;
    const int N = std::max(2, static_cast<int>(std::lround(std::pow(2.0, rate * k))));
    return "fq-train fib --d " + std::to_string(d) + " --k " + std::to_string(k) + " --N " +
           std::to_string(N) + " -o " + where + "fib-k" + std::to_string(k) + "-N" +
           std::to_string(N) + ".json";
}

ShippedCodebook CodebookStore::default_codebook_for(int d, double rate,
                                                    const std::string& family) const {
    const std::vector<ShippedCodebook> all = shipped(d);
    const ShippedCodebook* best = nullptr;
    for (const ShippedCodebook& s : all) {
        if (s.family != family || s.rate > rate + 1e-9) continue;
        if (best == nullptr || s.rate > best->rate + 1e-12 ||
            (std::abs(s.rate - best->rate) <= 1e-12 && s.val_total_mse < best->val_total_mse))
            best = &s;
    }
    if (best == nullptr)
        throw UsageError("no shipped " + family + " codebook for d = " + std::to_string(d) +
                         " at rate <= " + format_rate(rate) + " bits per coordinate in " + m_dir +
                         "/d" + std::to_string(d) +
                         "; make one with: " + train_command_for(d, rate, family, m_dir));
    return *best;
}

Json normalize_description(const Json& desc, const std::string& context, ExitCode code) {
    const JsonReader rd(context, code);
    if (!desc.is_object()) rd.fail("a codec description must be a JSON object");
    if (!desc.contains("codec")) rd.fail("missing key 'codec'");
    const std::string family = rd.get_string(desc, "codec");
    if (!known_family(family))
        rd.fail("unknown codec '" + family + "' (this build knows fib, scalar)");
    for (auto it = desc.begin(); it != desc.end(); ++it)
        if (it.key() != "codec" && it.key() != "codebook" && it.key() != "header" &&
            it.key() != "header_type")
            rd.fail("unknown key '" + it.key() + "' for codec " + family);
    if (!desc.contains("codebook")) rd.fail("missing key 'codebook'");
    Json out = Json::object();
    out["codec"] = family;
    out["codebook"] = rd.get_string(desc, "codebook");
    out["header"] = desc.contains("header") ? rd.get_string(desc, "header") : "norm";
    out["header_type"] =
        desc.contains("header_type") ? rd.get_string(desc, "header_type") : "float16";
    if (out["header"] != "norm" && out["header"] != "gain")
        rd.fail("header must be \"norm\" or \"gain\", got " + out["header"].dump());
    if (out["header_type"] != "float16" && out["header_type"] != "float32")
        rd.fail("header_type must be \"float16\" or \"float32\", got " + out["header_type"].dump());
    return out;
}

BuiltCodec make_codec(const Json& desc, const CodebookStore& store, const std::string& context,
                      ExitCode code) {
    Json norm = normalize_description(desc, context, code);
    const JsonReader rd(context, code);
    BuiltCodec out;
    out.codebook = store.resolve(norm["codebook"].get<std::string>());
    const std::string family = norm["codec"].get<std::string>();
    if (out.codebook.family != family)
        rd.fail("codec '" + family + "' needs a " + family + " codebook, " +
                norm["codebook"].get<std::string>() + " is a " + out.codebook.family + " codebook");
    codecs::HeaderOptions h;
    h.value = norm["header"] == "gain" ? codecs::NormHeader::gain : codecs::NormHeader::norm;
    h.type = norm["header_type"] == "float32" ? codecs::HeaderType::float32
                                              : codecs::HeaderType::float16;
    out.codec = std::make_shared<codecs::BlockVqCodec>(family, out.codebook.spec, h);
    norm["codebook"] = out.codebook.content_hash;
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
    if (colon != std::string::npos && known_family(family)) {
        std::map<std::string, std::string> kv;
        std::stringstream ss(spec.substr(colon + 1));
        std::string item;
        while (std::getline(ss, item, ',')) {
            const auto eq = item.find('=');
            if (eq == std::string::npos || eq == 0)
                throw UsageError(ctx + ": expected key=value, got '" + item + "'");
            kv[item.substr(0, eq)] = item.substr(eq + 1);
        }
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
                         ": neither a short form (fib:rate=2, fib:k=4,N=256, scalar:bits=2) "
                         "nor an existing file");
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
    if (doc.is_object() && doc.contains("format") && doc["format"] == k_codebook_format) {
        UniversalCodebook cb = parse_codebook(text, spec);
        Json j = Json::object();
        j["codec"] = cb.family;
        j["codebook"] = spec;
        j["header"] = header;
        j["header_type"] = header_type;
        return j;
    }
    return normalize_description(doc, "codec file '" + spec + "'", ExitCode::usage);
}

}  // namespace fq::io

#include "fq/io/families/block_vq_family.hpp"

#include <cmath>
#include <memory>
#include <sstream>

#include "fq/codecs/block_vq.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io::families {

void normalize_header(const ParamReader& p, Json& out) {
    out["header"] = p.choice("header", "norm", {"norm", "gain"});
    out["header_type"] = p.choice("header_type", "float16", {"float16", "float32"});
}

codecs::HeaderOptions header_options(const Json& norm) {
    codecs::HeaderOptions h;
    h.value = norm["header"] == "gain" ? codecs::NormHeader::gain : codecs::NormHeader::norm;
    h.type = norm["header_type"] == "float32" ? codecs::HeaderType::float32
                                              : codecs::HeaderType::float16;
    return h;
}

BuiltCodec build_block_vq(const std::string& family, Json& norm, UniversalCodebook cb,
                          const BuildContext& ctx, codecs::BlockSearch search) {
    if (cb.family != family)
        ctx.rd.fail("codec '" + family + "' needs a " + family + " codebook, " +
                    norm["codebook"].get<std::string>() + " is a " + cb.family + " codebook");
    BuiltCodec out;
    if (search == codecs::BlockSearch::tree && cb.spec.main.k < 2)
        ctx.rd.fail("codec '" + family + "': search 'tree' needs blocks of k >= 2");
    out.codec =
        std::make_shared<codecs::BlockVqCodec>(family, cb.spec, header_options(norm), search);
    norm["codebook"] = cb.content_hash;
    std::ostringstream o;
    o << family;
    const auto& s = cb.spec;
    if (family == "scalar") {
        int bits = 0;
        while ((1 << bits) < s.main.N) ++bits;
        o << " b=" << bits;
    } else {
        o << " k=" << s.main.k << " N=" << s.main.N;
    }
    if (s.rotation != core::RotationKind::haar) o << " " << core::to_string(s.rotation);
    o << " " << norm["header"].get<std::string>() << "/" << norm["header_type"].get<std::string>();
    if (search == codecs::BlockSearch::tree) o << " tree";
    out.label = o.str();
    out.stored = {k_codebook_format, family, cb.content_hash, serialize_codebook(cb)};
    out.codebook = std::move(cb);
    return out;
}

Json block_vq_short_form(const std::string& family, const ShortFormValues& kv,
                         const ShortFormContext& ctx, std::initializer_list<const char*> allowed) {
    Json j = Json::object();
    j["codec"] = family;
    j["header"] = kv.count("header") ? kv.at("header") : ctx.header;
    j["header_type"] = kv.count("header_type") ? kv.at("header_type") : ctx.header_type;
    for (const auto& [key, value] : kv) {
        bool ok = key == "header" || key == "header_type";
        for (const char* a : allowed) ok = ok || key == a;
        if (!ok) throw UsageError(ctx.context + ": unknown key '" + key + "'");
    }
    return j;
}

StoredCodebook parse_universal_codebook_file(const std::string& text, const std::string& name) {
    const UniversalCodebook cb = parse_codebook(text, name);
    return {k_codebook_format, cb.family, cb.content_hash, text};
}

double short_form_number(const ShortFormValues& kv, const std::string& key,
                         const ShortFormContext& ctx) {
    const std::string& v = kv.at(key);
    std::size_t pos = 0;
    double x = 0;
    try {
        x = std::stod(v, &pos);
    } catch (...) {
        pos = 0;
    }
    if (pos != v.size() || !std::isfinite(x) || x <= 0)
        throw UsageError(ctx.context + ": " + key + " must be a positive number, got '" + v + "'");
    return x;
}

int short_form_integer(const ShortFormValues& kv, const std::string& key,
                       const ShortFormContext& ctx) {
    const double x = short_form_number(kv, key, ctx);
    if (x != std::floor(x) || x > (1 << 24))
        throw UsageError(ctx.context + ": " + key + " must be an integer, got '" + kv.at(key) +
                         "'");
    return static_cast<int>(x);
}

}  // namespace fq::io::families

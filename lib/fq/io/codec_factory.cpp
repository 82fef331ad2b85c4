#include "fq/io/codec_factory.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fq/io/json_util.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace fq::io {

namespace {

std::string family_list() {
    std::string out;
    for (const CodecFamily& f : codec_families()) out += (out.empty() ? "" : ", ") + f.name;
    return out;
}

// The family a description names, or null (not an object, no string "codec", unknown).
const CodecFamily* family_of(const Json& desc) {
    if (!desc.is_object() || !desc.contains("codec") || !desc["codec"].is_string()) return nullptr;
    return find_codec_family(desc["codec"].get<std::string>());
}

// key=value pairs of a short form after the colon; UsageError on malformed or repeated keys.
ShortFormValues split_short_form(const std::string& items, const std::string& context) {
    ShortFormValues kv;
    std::stringstream ss(items);
    std::string item;
    while (std::getline(ss, item, ',')) {
        const auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0)
            throw UsageError(context + ": expected key=value, got '" + item + "'");
        if (!kv.emplace(item.substr(0, eq), item.substr(eq + 1)).second)
            throw UsageError(context + ": key '" + item.substr(0, eq) + "' given twice");
    }
    return kv;
}

}  // namespace

std::vector<std::string> known_families() {
    std::vector<std::string> out;
    for (const CodecFamily& f : codec_families()) out.push_back(f.name);
    return out;
}

std::string codec_label(const BuiltCodec& b) {
    return b.label;
}

Json with_tensor_defaults(Json desc, KvKind kind) {
    if (const CodecFamily* f = family_of(desc); f && f->tensor_defaults)
        f->tensor_defaults(desc, kind);
    return desc;
}

Json with_header_defaults(Json desc, const std::string& header, const std::string& header_type) {
    if (const CodecFamily* f = family_of(desc); f && f->norm_header) {
        if (!desc.contains("header")) desc["header"] = header;
        if (!desc.contains("header_type")) desc["header_type"] = header_type;
    }
    return desc;
}

Json normalize_description(const Json& desc, const std::string& context, ExitCode code) {
    const JsonReader rd(context, code);
    if (!desc.is_object()) rd.fail("a codec description must be a JSON object");
    if (!desc.contains("codec")) rd.fail("missing key 'codec'");
    const std::string name = rd.get_string(desc, "codec");
    const CodecFamily* f = find_codec_family(name);
    if (!f) rd.fail("unknown codec '" + name + "' (this build knows " + family_list() + ")");
    // "center" applies to every family, outside the family's own keys; "none" is the
    // default and not written (descriptions without centring keep their old form).
    if (!desc.contains("center")) return f->normalize(desc, rd);
    const std::string center = rd.get_string(desc, "center");
    if (center != "head" && center != "none")
        rd.fail("'center' must be \"head\" or \"none\", got '" + center + "'");
    Json rest = desc;
    rest.erase("center");
    Json out = f->normalize(rest, rd);
    if (center == "head") out["center"] = "head";
    return out;
}

bool centers_heads(const Json& desc) {
    return desc.is_object() && desc.contains("center") && desc["center"] == "head";
}

BuiltCodec make_codec(const Json& desc, const CodebookStore& store, const std::string& context,
                      ExitCode code, int d) {
    Json norm = normalize_description(desc, context, code);
    const JsonReader rd(context, code);
    const CodecFamily& family = *find_codec_family(norm["codec"].get<std::string>());
    const bool center = centers_heads(norm);
    norm.erase("center");  // the family builds from its own keys; put back below
    BuiltCodec out;
    std::string sum;
    try {
        out = family.build(norm, BuildContext{store, d, rd}, sum);
    } catch (const UsageError& e) {  // parameters the codec refuses (d not a power of two, ...)
        const std::string what = e.what();
        if (what.rfind(context, 0) == 0) throw;
        rd.fail(what);
    }
    if (!sum.empty()) {
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
    if (out.label.empty()) out.label = family.name;
    if (center) {
        norm["center"] = "head";
        out.label += " center=head";
    }
    out.center = center;
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
    if (const CodecFamily* f = find_codec_family(spec.substr(0, colon));
        f && (colon != std::string::npos || f->accepts_bare)) {
        ShortFormValues kv = colon == std::string::npos
                                 ? ShortFormValues{}
                                 : split_short_form(spec.substr(colon + 1), ctx);
        // center=head|none: for every family (normalize_description checks the value).
        const auto center = kv.find("center");
        std::string center_value;
        if (center != kv.end()) {
            center_value = center->second;
            kv.erase(center);
        }
        ShortFormContext sctx{d, store, header, header_type, ctx};
        Json out = f->short_form(kv, sctx);
        if (!center_value.empty()) out["center"] = center_value;
        return out;
    }

    // A file: a codebook file of any kind, or a JSON codec description.
    std::error_code ec;
    if (!fs::exists(spec, ec))
        throw UsageError(ctx +
                         ": neither a short form (fib:rate=2, fib:k=4,N=256, scalar:bits=2, qjl, "
                         "scalar+qjl:bits=3, int:bits=4,group=32, block:format=q4_0, "
                         "tcq:bits=2, gsrq:codebook=FILE; any with ,center=head) nor an "
                         "existing file");
    std::string text;
    {
        std::ifstream in(spec, std::ios::binary);
        std::ostringstream s;
        s << in.rdbuf();
        if (!in) throw IoError("cannot read '" + spec + "'");
        text = s.str();
    }
    const JsonReader rd("codec file '" + spec + "'", ExitCode::corrupt);
    Json doc = rd.parse(text);
    const CodecFamily* format_family =
        doc.is_object() && doc.contains("format") && doc["format"].is_string()
            ? find_codebook_format(doc["format"].get<std::string>())
            : nullptr;
    if (format_family) {
        Json j = Json::object();
        j["codec"] = format_family->parse_codebook_file(text, spec).family;
        j["codebook"] = spec;
        return with_header_defaults(std::move(j), header, header_type);
    }
    // A codec description (checked by make_codec; per-tensor defaults still open).
    if (!family_of(doc))  // not an object, no "codec", unknown family: say which
        normalize_description(doc, "codec file '" + spec + "'", ExitCode::corrupt);
    return with_header_defaults(std::move(doc), header, header_type);
}

}  // namespace fq::io

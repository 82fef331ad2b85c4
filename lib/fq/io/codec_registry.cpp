#include "fq/io/codec_registry.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "fq/core/sha256.hpp"
#include "fq/io/text_file.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

// The family files' register functions, declared and called in the order the build lists
// them (generated codec_families.inc: one FQ_CODEC_FAMILY_FILE(name) per file).
#define FQ_CODEC_FAMILY_FILE(file) void register_##file##_family(std::vector<CodecFamily>& out);
#include "codec_families.inc"
#undef FQ_CODEC_FAMILY_FILE

const std::vector<CodecFamily>& codec_families() {
    static const std::vector<CodecFamily> all = [] {
        std::vector<CodecFamily> v;
#define FQ_CODEC_FAMILY_FILE(file) register_##file##_family(v);
#include "codec_families.inc"
#undef FQ_CODEC_FAMILY_FILE
        return v;
    }();
    return all;
}

const CodecFamily* find_codec_family(const std::string& name) {
    for (const CodecFamily& f : codec_families())
        if (f.name == name) return &f;
    return nullptr;
}

const CodecFamily* find_codebook_format(const std::string& format) {
    for (const CodecFamily& f : codec_families())
        if (!f.codebook_format.empty() && f.codebook_format == format) return &f;
    return nullptr;
}

std::string needed_codebook(const Json& desc) {
    if (!desc.is_object() || !desc.contains("codec") || !desc["codec"].is_string()) return "";
    const CodecFamily* f = find_codec_family(desc["codec"].get<std::string>());
    if (!f || f->codebook_key.empty() || !desc.contains(f->codebook_key) ||
        !desc[f->codebook_key].is_string())
        return "";
    return desc[f->codebook_key].get<std::string>();
}

StoredCodebook parse_stored_codebook(const std::string& text, const std::string& name) {
    const JsonReader rd("codebook file '" + name + "'", ExitCode::corrupt);
    const Json doc = rd.parse(text);
    if (!doc.is_object() || !doc.contains("format") || !doc["format"].is_string())
        rd.fail("not a codebook file (no \"format\")");
    const std::string format = doc["format"].get<std::string>();
    const CodecFamily* f = find_codebook_format(format);
    if (!f) rd.fail("unknown codebook file format \"" + format + "\" in this build");
    return f->parse_codebook_file(text, name);
}

StoredCodebook load_stored_codebook(const std::string& path) {
    return parse_stored_codebook(read_text_file(path, "codebook file"), path);
}

// ---- ParamReader

void ParamReader::only(std::initializer_list<const char*> keys) const {
    for (auto it = m_desc.begin(); it != m_desc.end(); ++it) {
        bool ok = it.key() == "codec";
        for (const char* k : keys) ok = ok || it.key() == k;
        if (!ok) m_rd.fail("unknown key '" + it.key() + "' for codec " + m_family);
    }
}

std::string ParamReader::choice(const char* key, const std::string& dflt,
                                std::initializer_list<const char*> values) const {
    const std::string v = m_desc.contains(key) ? m_rd.get_string(m_desc, key) : dflt;
    std::string list;
    for (const char* x : values) {
        if (v == x) return v;
        list += (list.empty() ? "\"" : ", \"") + std::string(x) + "\"";
    }
    m_rd.fail(std::string(key) + " must be one of " + list + ", got \"" + v + "\"");
}

int ParamReader::integer(const char* key, int dflt, int lo, int hi) const {
    return m_desc.contains(key) ? m_rd.get_int(m_desc, key, lo, hi) : dflt;
}

std::uint64_t ParamReader::u64(const char* key, std::uint64_t dflt) const {
    return m_desc.contains(key) ? m_rd.get_uint64(m_desc, key) : dflt;
}

std::string ParamReader::string(const char* key) const {
    if (!m_desc.contains(key)) m_rd.fail(std::string("missing key '") + key + "'");
    return m_rd.get_string(m_desc, key);
}

void BuildContext::need_d(const std::string& family, int d_min) const {
    if (d < d_min)
        rd.fail("codec " + family + " needs the data's dimension" +
                (d > 0 ? " >= " + std::to_string(d_min) + ", got " + std::to_string(d) : ""));
}

// ---- shared helpers

std::string generated_checksum(const core::Rotation* rotation, const std::vector<double>* matrix) {
    core::Sha256 h;
    bool any = false;
    if (rotation && rotation->kind() != core::RotationKind::none) {
        h.update(rotation->checksum());
        any = true;
    }
    if (matrix) {
        for (double v : *matrix) {
            std::uint64_t bits = 0;
            std::memcpy(&bits, &v, sizeof bits);
            std::uint8_t b[8];
            for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(bits >> (8 * i));
            h.update(b, 8);
        }
        any = true;
    }
    return any ? h.finish_hex().substr(0, 16) : std::string();
}

Json generic_short_form(const std::string& family, const ShortFormValues& kv,
                        const std::string& context) {
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
        const bool is_u64 = key.size() >= 4 && key.substr(key.size() - 4) == "seed" &&
                            !value.empty() && std::all_of(value.begin(), value.end(), [](char ch) {
                                return std::isdigit(static_cast<unsigned char>(ch));
                            });
        if (is_u64) {
            try {
                j[key] = static_cast<std::uint64_t>(std::stoull(value));
            } catch (...) {
                throw UsageError(context + ": " + key + " must be an unsigned integer");
            }
        } else if (is_int) {
            j[key] = x;
        } else {
            j[key] = value;
        }
    }
    return j;
}

}  // namespace fq::io

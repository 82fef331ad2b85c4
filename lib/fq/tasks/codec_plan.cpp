#include "fq/tasks/codec_plan.hpp"

#include <filesystem>

#include "fq/core/error.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/text_file.hpp"
#include "fq/tasks/encode.hpp"

using Json = nlohmann::ordered_json;

namespace fq::tasks {

namespace {

int slot(io::KvKind kind) {
    return kind == io::KvKind::k ? 0 : 1;
}

}  // namespace

CodecPlan::Source CodecPlan::source_from_json(const Json& v, const std::string& where) {
    Source s;
    s.context = where;
    if (v.is_string()) {
        s.is_spec = true;
        s.spec = v.get<std::string>();
        s.context = "codec '" + s.spec + "'";
    } else if (v.is_object()) {
        s.desc = v;
    } else {
        throw UsageError(where + ": expected a codec description (object) or a SPEC string");
    }
    return s;
}

CodecPlan::CodecPlan(const EncodeOptions& o)
    : m_rate(o.rate), m_header(o.header), m_header_type(o.header_type) {
    if (!o.config.empty()) read_config(o.config);
    if (!o.codebook.empty()) {
        std::error_code ec;
        if (!std::filesystem::exists(o.codebook, ec))
            throw IoError("codebook file '" + o.codebook + "': no such file");
        Source s;
        s.is_spec = true;
        s.spec = o.codebook;
        s.context = "codec '" + o.codebook + "'";
        m_command[0] = m_command[1] = s;
    }
    for (const auto& [i, spec] : {std::pair{0, &o.k_codec}, std::pair{1, &o.v_codec}})
        if (!spec->empty()) {
            Source s;
            s.is_spec = true;
            s.spec = *spec;
            s.context = "codec '" + *spec + "'";
            m_command[i] = s;
        }
}

void CodecPlan::read_config(const std::string& path) {
    const std::string where = "config '" + path + "'";
    const io::JsonReader rd(where, ExitCode::usage);
    const Json doc = rd.parse(io::read_text_file(path, "config"));
    if (!doc.is_object() || doc.contains("codec")) {  // one description (or SPEC) for both
        m_default[0] = m_default[1] = source_from_json(doc, where);
        return;
    }
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        const std::string& key = it.key();
        if (key == "k" || key == "v") {
            m_default[key == "k" ? 0 : 1] = source_from_json(it.value(), where + ": " + key);
        } else if (key == "keep_first" || key == "keep_last") {
            (key == "keep_first" ? keep_first : keep_last) =
                rd.get_int(doc, key.c_str(), 0, 1 << 30);
        } else if (key == "layers") {
            if (!it.value().is_array()) rd.fail("'layers' must be an array of rules");
            for (std::size_t i = 0; i < it.value().size(); ++i) {
                const Json& r = it.value()[i];
                Rule rule;
                rule.where = where + ": layers[" + std::to_string(i) + "]";
                const io::JsonReader rr(rule.where, ExitCode::usage);
                if (!r.is_object()) rr.fail("a rule must be an object");
                for (auto f = r.begin(); f != r.end(); ++f) {
                    const std::string& k = f.key();
                    if (k == "layers") {
                        rule.layers = rr.get_string(r, "layers");
                        (void)layer_range(rule.layers, 1 << 20, rule.where);  // syntax
                    } else if (k == "datasets") {
                        rule.datasets = rr.get_string(r, "datasets");
                    } else if (k == "k" || k == "v") {
                        (k == "k" ? rule.k : rule.v) =
                            source_from_json(f.value(), rule.where + ": " + k);
                    } else if (k == "codec") {
                        rule.k = rule.v = source_from_json(f.value(), rule.where + ": codec");
                    } else if (k != "comment") {
                        rr.fail("unknown key '" + k + "' (expected layers, datasets, k, v, codec)");
                    }
                }
                if (!rule.k && !rule.v) rr.fail("a rule needs k, v or codec");
                if (r.contains("codec") && (r.contains("k") || r.contains("v")))
                    rr.fail("give codec (both tensors) or k / v, not both");
                m_rules.push_back(std::move(rule));
            }
        } else if (key != "comment") {
            rd.fail("unknown key '" + key +
                    "' (expected k, v, layers, keep_first, keep_last or a codec description)");
        }
    }
}

std::pair<int, int> CodecPlan::layer_range(const std::string& text, int n_layers,
                                           const std::string& where) {
    const auto number = [&](const std::string& s, int dflt) {
        if (s.empty()) return dflt;
        std::size_t pos = 0;
        int x = 0;
        try {
            x = std::stoi(s, &pos);
        } catch (...) {
            pos = 0;
        }
        if (pos != s.size() || s.empty())
            throw UsageError(where + ": layers '" + text + "': expected a, a:b or -1 (last)");
        return x < 0 ? x + n_layers : x;
    };
    const auto colon = text.find(':');
    if (colon == std::string::npos) {
        const int a = number(text, 0);
        return {a, a + 1};
    }
    return {number(text.substr(0, colon), 0), number(text.substr(colon + 1), n_layers)};
}

Json CodecPlan::description(const io::DatasetInfo& info, int n_layers, io::CodebookStore& store,
                            std::string* context) const {
    const int i = slot(info.kind);
    const Source* src = m_command[i] ? &*m_command[i] : nullptr;
    if (src == nullptr)
        for (const Rule& r : m_rules) {
            const auto& choice = i == 0 ? r.k : r.v;
            if (!choice) continue;
            bool match = true;
            if (!r.layers.empty()) {
                const auto [l0, l1] = layer_range(r.layers, n_layers, r.where);
                match = info.layer >= l0 && info.layer < l1;
            }
            if (!r.datasets.empty()) match = match && io::glob_match(r.datasets, info.path);
            if (match) src = &*choice;  // the last matching rule wins
        }
    if (src == nullptr && m_default[i]) src = &*m_default[i];
    Json desc;
    if (src == nullptr) {
        desc = io::default_description(info.d, m_rate, store, m_header, m_header_type);
        *context = "default codec";
    } else if (src->is_spec) {
        desc = io::parse_codec_spec(src->spec, info.d, store, m_header, m_header_type);
        *context = src->context;
    } else {
        desc = io::with_header_defaults(src->desc, m_header, m_header_type);
        *context = src->context;
    }
    return io::with_tensor_defaults(std::move(desc), info.kind);
}

}  // namespace fq::tasks

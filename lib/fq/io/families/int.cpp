// The int family: KIVI-style asymmetric min/max integer groups (codecs/int_quant.hpp).
//   description  {"codec": "int", "bits": 1..8 [4], "group": G [32],
//                 "grouping": "per_token"|"per_channel" ["per_token"]}
//   tensor defaults  "grouping" per_channel for keys, per_token for values (KIVI), when the
//                description leaves it open
//   short form   int:bits=4,group=32,grouping=per_token
#include <memory>

#include "fq/codecs/int_quant.hpp"
#include "fq/io/codec_registry.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

void register_int_family(std::vector<CodecFamily>& out) {
    CodecFamily f;
    f.name = "int";
    f.normalize = [](const Json& desc, const JsonReader& rd) {
        const ParamReader p(desc, rd, "int");
        p.only({"bits", "group", "grouping"});
        const codecs::IntQuantParams dflt;
        Json n = Json::object();
        n["codec"] = "int";
        n["bits"] = p.integer("bits", dflt.bits, 1, 8);
        n["group"] = p.integer("group", dflt.group, 1, 1 << 16);
        n["grouping"] = p.choice("grouping", "per_token", {"per_token", "per_channel"});
        return n;
    };
    f.tensor_defaults = [](Json& desc, KvKind kind) {
        if (!desc.contains("grouping") && (kind == KvKind::k || kind == KvKind::v))
            desc["grouping"] = kind == KvKind::k ? "per_channel" : "per_token";
    };
    f.short_form = [](const ShortFormValues& kv, ShortFormContext& ctx) {
        return generic_short_form("int", kv, ctx.context);
    };
    f.build = [](Json& norm, const BuildContext& ctx, std::string&) {
        ctx.need_d("int", 1);
        codecs::IntQuantParams p;
        p.d = ctx.d;
        p.bits = norm["bits"].get<int>();
        p.group = norm["group"].get<int>();
        p.grouping = codecs::int_grouping_from_string(norm["grouping"].get<std::string>());
        BuiltCodec b;
        b.codec = std::make_shared<codecs::IntQuantCodec>(p);
        b.label = "int b=" + std::to_string(p.bits) + " G=" + std::to_string(p.group) + " " +
                  norm["grouping"].get<std::string>();
        return b;
    };
    out.push_back(std::move(f));
}

}  // namespace fq::io

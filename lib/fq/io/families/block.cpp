// The block family: llama.cpp q8_0 / q4_0 blocks, optionally after a rotation
// (codecs/block_format.hpp).
//   description  {"codec": "block", "format": "q8_0"|"q4_0" ["q8_0"],
//                 "rotation": "none"|"hadamard"|"haar" ["none"], "rotation_seed" [1], "checksum"}
//   short form   block:format=q4_0,rotation=hadamard
#include <memory>

#include "fq/codecs/block_format.hpp"
#include "fq/io/codec_registry.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

void register_block_family(std::vector<CodecFamily>& out) {
    CodecFamily f;
    f.name = "block";
    f.normalize = [](const Json& desc, const JsonReader& rd) {
        const ParamReader p(desc, rd, "block");
        p.only({"format", "rotation", "rotation_seed", "checksum"});
        Json n = Json::object();
        n["codec"] = "block";
        n["format"] = p.choice("format", "q8_0", {"q8_0", "q4_0"});
        n["rotation"] = p.choice("rotation", "none", {"none", "hadamard", "haar"});
        n["rotation_seed"] = p.u64("rotation_seed", 1);
        if (p.has("checksum")) n["checksum"] = p.string("checksum");
        return n;
    };
    f.short_form = [](const ShortFormValues& kv, ShortFormContext& ctx) {
        return generic_short_form("block", kv, ctx.context);
    };
    f.build = [](Json& norm, const BuildContext& ctx, std::string& checksum) {
        ctx.need_d("block", 1);
        codecs::BlockFormatParams p;
        p.d = ctx.d;
        p.format = codecs::block_format_from_string(norm["format"].get<std::string>());
        p.rotation = core::rotation_kind_from_string(norm["rotation"].get<std::string>());
        p.rotation_seed = norm["rotation_seed"].get<std::uint64_t>();
        auto codec = std::make_shared<codecs::BlockFormatCodec>(p);
        checksum = generated_checksum(&codec->rotation(), nullptr);
        BuiltCodec b;
        b.label = "block " + norm["format"].get<std::string>();
        if (norm["rotation"] != "none") b.label += " " + norm["rotation"].get<std::string>();
        b.codec = std::move(codec);
        return b;
    };
    out.push_back(std::move(f));
}

}  // namespace fq::io

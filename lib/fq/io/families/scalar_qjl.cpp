// The scalar+qjl family (TurboQuant-prod, SPEC 4.4): a (b-1)-bit scalar stage and a QJL
// stage on its residual (codecs/qjl.hpp).
//   description  {"codec": "scalar+qjl", "bits": b >= 2 [3], "rotation": "hadamard"|"haar"
//                 ["hadamard"], "rotation_seed" [1], "qjl_seed" [2], "m" [0], "checksum"}
//   short form   scalar+qjl:bits=3[,...]
#include <memory>

#include "fq/codecs/qjl.hpp"
#include "fq/io/codec_registry.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

void register_scalar_qjl_family(std::vector<CodecFamily>& out) {
    CodecFamily f;
    f.name = "scalar+qjl";
    f.normalize = [](const Json& desc, const JsonReader& rd) {
        const ParamReader p(desc, rd, "scalar+qjl");
        p.only({"bits", "rotation", "rotation_seed", "qjl_seed", "m", "checksum"});
        const codecs::ScalarQjlParams dflt;
        Json n = Json::object();
        n["codec"] = "scalar+qjl";
        n["bits"] = p.integer("bits", 3, 2, 9);
        n["rotation"] = p.choice("rotation", "hadamard", {"hadamard", "haar"});
        n["rotation_seed"] = p.u64("rotation_seed", dflt.rotation_seed);
        n["qjl_seed"] = p.u64("qjl_seed", dflt.qjl_seed);
        n["m"] = p.integer("m", 0, 0, 1 << 20);
        if (p.has("checksum")) n["checksum"] = p.string("checksum");
        return n;
    };
    f.short_form = [](const ShortFormValues& kv, ShortFormContext& ctx) {
        return generic_short_form("scalar+qjl", kv, ctx.context);
    };
    f.build = [](Json& norm, const BuildContext& ctx, std::string& checksum) {
        ctx.need_d("scalar+qjl", 3);
        codecs::ScalarQjlParams p;
        p.d = ctx.d;
        p.bits = norm["bits"].get<int>();
        p.rotation = core::rotation_kind_from_string(norm["rotation"].get<std::string>());
        p.rotation_seed = norm["rotation_seed"].get<std::uint64_t>();
        p.qjl_seed = norm["qjl_seed"].get<std::uint64_t>();
        p.m = norm["m"].get<int>();
        auto codec = std::make_shared<codecs::ScalarQjlCodec>(p);
        checksum = generated_checksum(&codec->scalar().rotation(), &codec->qjl().matrix());
        BuiltCodec b;
        b.label = "scalar+qjl b=" + std::to_string(p.bits) + " " +
                  norm["rotation"].get<std::string>() +
                  " m=" + std::to_string(p.m == 0 ? ctx.d : p.m);
        b.codec = std::move(codec);
        return b;
    };
    out.push_back(std::move(f));
}

}  // namespace fq::io

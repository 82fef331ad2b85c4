// The qjl family: the sign of a Gaussian projection with an unbiased inner-product
// estimator (codecs/qjl.hpp, SPEC 4.4).
//   description  {"codec": "qjl", "m": 0 (= d) [0], "seed" [1], "checksum"}
//   short form   qjl[:m=M,seed=S]
// "checksum": of the projection S regenerated from the seed (io/codec_registry.hpp).
#include <memory>

#include "fq/codecs/qjl.hpp"
#include "fq/io/codec_registry.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

void register_qjl_family(std::vector<CodecFamily>& out) {
    CodecFamily f;
    f.name = "qjl";
    f.normalize = [](const Json& desc, const JsonReader& rd) {
        const ParamReader p(desc, rd, "qjl");
        p.only({"m", "seed", "checksum"});
        Json n = Json::object();
        n["codec"] = "qjl";
        n["m"] = p.integer("m", 0, 0, 1 << 20);
        n["seed"] = p.u64("seed", codecs::QjlParams{}.seed);
        if (p.has("checksum")) n["checksum"] = p.string("checksum");
        return n;
    };
    f.short_form = [](const ShortFormValues& kv, ShortFormContext& ctx) {
        return generic_short_form("qjl", kv, ctx.context);
    };
    f.build = [](Json& norm, const BuildContext& ctx, std::string& checksum) {
        ctx.need_d("qjl", 1);
        codecs::QjlParams p;
        p.d = ctx.d;
        p.m = norm["m"].get<int>();
        p.seed = norm["seed"].get<std::uint64_t>();
        auto codec = std::make_shared<codecs::QjlCodec>(p);
        checksum = generated_checksum(nullptr, &codec->matrix());
        BuiltCodec b;
        b.label = "qjl m=" + std::to_string(p.m == 0 ? ctx.d : p.m);
        b.codec = std::move(codec);
        return b;
    };
    out.push_back(std::move(f));
}

}  // namespace fq::io

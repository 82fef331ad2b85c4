// The float16 family: coordinates stored as IEEE binary16, uncompressed (codecs/float16.hpp).
//   description  {"codec": "float16"}
//   short form   float16
#include <memory>

#include "fq/codecs/float16.hpp"
#include "fq/io/codec_registry.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

void register_float16_family(std::vector<CodecFamily>& out) {
    CodecFamily f;
    f.name = "float16";
    f.codebook_key = "";
    f.normalize = [](const Json& desc, const JsonReader& rd) {
        ParamReader(desc, rd, "float16").only({});
        return Json{{"codec", "float16"}};
    };
    f.short_form = [](const ShortFormValues& kv, ShortFormContext& ctx) {
        return generic_short_form("float16", kv, ctx.context);
    };
    f.build = [](Json&, const BuildContext& ctx, std::string&) {
        ctx.need_d("float16", 1);
        BuiltCodec b;
        b.codec = std::make_shared<codecs::Float16Codec>(ctx.d);
        b.label = "float16";
        return b;
    };
    out.push_back(std::move(f));
}

}  // namespace fq::io

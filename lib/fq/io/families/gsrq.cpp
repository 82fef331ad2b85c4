// The gsrq family: data-trained residual VQ over sub-vectors (codecs/gsrq.hpp, SPEC 4.6)
// with its stage codebooks in a gsrq codebook file (io/gsrq_file.hpp).
//   description  {"codec": "gsrq", "codebook": REF (a gsrq codebook file), "beam" [1]}
//   short form   gsrq:codebook=FILE[,beam=4]
#include <memory>

#include "fq/codecs/gsrq.hpp"
#include "fq/io/codec_registry.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

void register_gsrq_family(std::vector<CodecFamily>& out) {
    CodecFamily f;
    f.name = "gsrq";
    f.normalize = [](const Json& desc, const JsonReader& rd) {
        const ParamReader p(desc, rd, "gsrq");
        p.only({"codebook", "beam"});
        Json n = Json::object();
        n["codec"] = "gsrq";
        n["codebook"] = p.string("codebook");
        n["beam"] = p.integer("beam", 1, 1, 4096);
        return n;
    };
    f.codebook_format = k_gsrq_format;
    f.parse_codebook_file = [](const std::string& text, const std::string& name) {
        return StoredCodebook{k_gsrq_format, "gsrq", parse_gsrq(text, name).content_hash, text};
    };
    f.short_form = [](const ShortFormValues& kv, ShortFormContext& ctx) {
        return generic_short_form("gsrq", kv, ctx.context);
    };
    f.build = [](Json& norm, const BuildContext& ctx, std::string&) {
        const auto file = std::make_shared<GsrqCodebookFile>(
            ctx.store.resolve_gsrq(norm["codebook"].get<std::string>()));
        BuiltCodec b;
        b.codec = std::make_shared<codecs::GsrqCodec>(file->codebooks, norm["beam"].get<int>());
        norm["codebook"] = file->content_hash;
        const auto& c = file->codebooks;
        b.label = "gsrq D=" + std::to_string(c.D) + " K=" + std::to_string(c.K) +
                  " S=" + std::to_string(c.S) + " beam=" + std::to_string(norm["beam"].get<int>());
        b.stored = {k_gsrq_format, "gsrq", file->content_hash, serialize_gsrq(*file)};
        return b;
    };
    out.push_back(std::move(f));
}

}  // namespace fq::io

// The faiss-pq and faiss-rq families (built only with FAISS): a FAISS product / residual
// quantizer trained by fq-train (codecs/faiss_codecs.hpp) in a FAISS codebook file
// (io/faiss_file.hpp).
//   description  configs: {"codec": "faiss-pq"|"faiss-rq", "codebook": FILE}; stored form:
//                {"codec", "file": that path, "file_hash": its content hash}; the file is
//                embedded in containers and found there by file_hash (containers written
//                before it was embedded decode with the file at its path, hash checked)
//   short form   faiss-pq:codebook=FILE
#include <memory>

#include "fq/codecs/faiss_codecs.hpp"
#include "fq/io/codec_registry.hpp"
#include "fq/io/faiss_file.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

namespace {

CodecFamily faiss_family(const std::string& name) {
    CodecFamily f;
    f.name = name;
    f.normalize = [name](const Json& desc, const JsonReader& rd) {
        const ParamReader p(desc, rd, name);
        p.only({"codebook", "file", "file_hash"});
        if (p.has("codebook") == p.has("file"))
            p.fail("give exactly one of 'codebook' (a FAISS codebook file) and 'file'");
        Json n = Json::object();
        n["codec"] = name;
        n["file"] = p.string(p.has("codebook") ? "codebook" : "file");
        if (p.has("file_hash")) n["file_hash"] = p.string("file_hash");
        return n;
    };
    f.codebook_format = k_faiss_format;
    f.codebook_key = "file_hash";
    f.parse_codebook_file = [](const std::string& text, const std::string& file) {
        const FaissCodebookFile fc = parse_faiss(text, file);
        return StoredCodebook{k_faiss_format, fc.codec.family(), fc.content_hash, text};
    };
    f.short_form = [name](const ShortFormValues& kv, ShortFormContext& ctx) {
        return generic_short_form(name, kv, ctx.context);
    };
    f.build = [name](Json& norm, const BuildContext& ctx, std::string&) {
        const std::string file = norm["file"].get<std::string>();
        const StoredCodebook* embedded = norm.contains("file_hash")
                                             ? ctx.store.find(norm["file_hash"].get<std::string>())
                                             : nullptr;
        const FaissCodebookFile fc =
            embedded ? parse_faiss(embedded->text, "embedded " + embedded->content_hash)
                     : load_faiss(file);
        if (fc.codec.family() != name)
            ctx.rd.fail("codec '" + name + "' needs a " + name + " file, " + file + " holds a " +
                        fc.codec.family());
        if (norm.contains("file_hash") && norm["file_hash"] != fc.content_hash)
            ctx.rd.fail("FAISS codebook file " + file + " has hash " + fc.content_hash +
                        ", the description expects " + norm["file_hash"].get<std::string>());
        norm["file_hash"] = fc.content_hash;
        BuiltCodec b;
        b.label = name + " M=" + std::to_string(fc.codec.M()) +
                  " nbits=" + std::to_string(fc.codec.nbits());
        b.codec = std::make_shared<codecs::FaissCodec>(fc.codec);
        b.stored = {k_faiss_format, name, fc.content_hash, serialize_faiss(fc)};
        return b;
    };
    return f;
}

}  // namespace

void register_faiss_family(std::vector<CodecFamily>& out) {
    out.push_back(faiss_family("faiss-pq"));
    out.push_back(faiss_family("faiss-rq"));
}

}  // namespace fq::io

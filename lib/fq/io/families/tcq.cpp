// The tcq family: the universal trellis-coded quantizer (codecs/tcq.hpp, issue 11) over a
// tcq codebook file (io/tcq_file.hpp).
//   description  {"codec": "tcq", "codebook": REF, "header": "norm"|"gain" ["norm"],
//                 "header_type": "float16"|"float32" ["float16"]}
//   short form   tcq:bits=B[,L=12][,V=1|2][,header=H][,header_type=T]
//                the shipped codebooks/d<d>/tcq-L<L>-K<K>-V<V>.json, K = B V; V defaults to
//                1 for whole B, 2 for half-integer B (0.5: K = 1, V = 2; 1.5: K = 3, V = 2)
#include <cmath>
#include <filesystem>
#include <memory>
#include <sstream>

#include "fq/codecs/tcq.hpp"
#include "fq/io/families/block_vq_family.hpp"
#include "fq/io/tcq_file.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

void register_tcq_family(std::vector<CodecFamily>& out) {
    CodecFamily f;
    f.name = "tcq";
    f.normalize = [](const Json& desc, const JsonReader& rd) {
        const ParamReader p(desc, rd, "tcq");
        p.only({"codebook", "header", "header_type"});
        Json n = Json::object();
        n["codec"] = "tcq";
        n["codebook"] = p.string("codebook");
        families::normalize_header(p, n);
        return n;
    };
    f.accepts_bare = false;
    f.norm_header = true;
    f.codebook_format = k_tcq_format;
    f.parse_codebook_file = [](const std::string& text, const std::string& name) {
        return StoredCodebook{k_tcq_format, "tcq", parse_tcq(text, name).content_hash, text};
    };
    f.short_form = [](const ShortFormValues& kv, ShortFormContext& ctx) {
        Json j = families::block_vq_short_form("tcq", kv, ctx, {"bits", "L", "V"});
        const double bits = kv.count("bits") ? families::short_form_number(kv, "bits", ctx) : 2.0;
        const int L = kv.count("L") ? families::short_form_integer(kv, "L", ctx) : 12;
        const bool half = std::fabs(bits * 2 - std::round(bits * 2)) < 1e-9 &&
                          std::fabs(bits - std::round(bits)) > 1e-9;
        const int V = kv.count("V") ? families::short_form_integer(kv, "V", ctx) : half ? 2 : 1;
        const double k = bits * V;
        if (std::fabs(k - std::round(k)) > 1e-9 || k < 1 || k > 8)
            throw UsageError(ctx.context + ": bits = " + kv.at("bits") + " with V = " +
                             std::to_string(V) + " needs a whole number of bits per step (1..8)");
        const int K = static_cast<int>(std::lround(k));
        if (ctx.d <= 0) throw UsageError(ctx.context + ": tcq needs the data's dimension");
        const std::string rel = "d" + std::to_string(ctx.d) + "/" + tcq_file_name(L, K, V);
        const std::string path = ctx.store.dir() + "/" + rel;
        std::error_code ec;
        if (!std::filesystem::exists(path, ec))
            throw UsageError(ctx.context + ": no shipped tcq codebook " + path +
                             "; make one with: fq-train tcq --d " + std::to_string(ctx.d) +
                             " --L " + std::to_string(L) + " --K " + std::to_string(K) + " --V " +
                             std::to_string(V) + " -o " + path);
        j["codebook"] = path;
        return j;
    };
    // (the rotation is checked against the file's checksum by parse_tcq, as fib's is)
    f.build = [](Json& norm, const BuildContext& ctx, std::string&) {
        const std::string ref = norm["codebook"].get<std::string>();
        const std::string text = ctx.store.resolve_text(ref, k_tcq_format);
        const TcqCodebookFile file = parse_tcq(text, ref);
        codecs::TcqSpec spec;
        spec.d = file.d;
        spec.trellis = file.trellis;
        spec.rotation = file.rotation;
        spec.rotation_seed = file.rotation_seed;
        auto codec = std::make_shared<codecs::TcqCodec>(spec, families::header_options(norm));
        BuiltCodec b;
        b.codec = codec;
        norm["codebook"] = file.content_hash;
        std::ostringstream o;
        o << "tcq L=" << file.trellis.L << " K=" << file.trellis.K << " V=" << file.trellis.V;
        if (file.rotation != core::RotationKind::haar) o << " " << core::to_string(file.rotation);
        o << " " << norm["header"].get<std::string>() << "/"
          << norm["header_type"].get<std::string>();
        b.label = o.str();
        b.stored = {k_tcq_format, "tcq", file.content_hash, text};
        return b;
    };
    out.push_back(std::move(f));
}

}  // namespace fq::io

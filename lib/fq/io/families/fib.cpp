// The fib family: FibQuant block codebooks (codecs/block_vq.hpp over a universal codebook
// file, SPEC 4.2).
//   description  {"codec": "fib", "codebook": REF, "header": "norm"|"gain" ["norm"],
//                 "header_type": "float16"|"float32" ["float16"],
//                 "search": "exhaustive"|"tree" ["exhaustive", not written]}
//   short form   fib:rate=R[,header=H][,header_type=T][,search=S]   the default fib codebook for
//   (d, R)
//                fib:k=K,N=N[,...]                       shipped codebooks/d<d>/fib-k<K>-N<N>.json
//   (either trained on the fly when not shipped and the store may: CodebookStore::trained_fib)
#include <filesystem>

#include "fq/io/families/block_vq_family.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

void register_fib_family(std::vector<CodecFamily>& out) {
    CodecFamily f;
    f.name = "fib";
    f.normalize = [](const Json& desc, const JsonReader& rd) {
        const ParamReader p(desc, rd, "fib");
        p.only({"codebook", "header", "header_type", "search"});
        Json n = Json::object();
        n["codec"] = "fib";
        n["codebook"] = p.string("codebook");
        families::normalize_header(p, n);
        // The encoder's search (codecs/block_vq.hpp BlockSearch); the default is not written,
        // so descriptions and containers from before the option are unchanged.
        if (p.choice("search", "exhaustive", {"exhaustive", "tree"}) == "tree")
            n["search"] = "tree";
        return n;
    };
    f.accepts_bare = false;
    f.norm_header = true;
    f.codebook_format = k_codebook_format;
    f.parse_codebook_file = families::parse_universal_codebook_file;
    f.short_form = [](const ShortFormValues& kv, ShortFormContext& ctx) {
        Json j =
            families::block_vq_short_form("fib", kv, ctx, {"rate", "bits", "k", "N", "search"});
        if (kv.count("search")) {
            const std::string& v = kv.at("search");
            if (v != "exhaustive" && v != "tree")
                throw UsageError(ctx.context + ": search must be exhaustive or tree, got '" + v +
                                 "'");
            if (v == "tree") j["search"] = "tree";
        }
        if (kv.count("bits"))
            throw UsageError(ctx.context + ": fib takes rate=R or k=K,N=N, not bits");
        if (kv.count("k") || kv.count("N")) {
            if (!kv.count("k") || !kv.count("N") || kv.count("rate"))
                throw UsageError(ctx.context + ": give both k and N (and no rate)");
            const int k = families::short_form_integer(kv, "k", ctx);
            const int N = families::short_form_integer(kv, "N", ctx);
            const std::string path = ctx.store.dir() + "/d" + std::to_string(ctx.d) + "/fib-k" +
                                     std::to_string(k) + "-N" + std::to_string(N) + ".json";
            std::error_code ec;
            if (std::filesystem::exists(path, ec))
                j["codebook"] = path;
            else  // trained on the fly (and cached) when the store may, else an error
                j["codebook"] = ctx.store.trained_fib(ctx.d, k, N).path;
        } else {
            const double rate =
                kv.count("rate") ? families::short_form_number(kv, "rate", ctx) : 2.0;
            j["codebook"] = ctx.store.default_codebook_for(ctx.d, rate, "fib").path;
        }
        return j;
    };
    f.build = [](Json& norm, const BuildContext& ctx, std::string&) {
        const auto search = norm.contains("search") && norm["search"] == "tree"
                                ? codecs::BlockSearch::tree
                                : codecs::BlockSearch::exhaustive;
        return families::build_block_vq(
            "fib", norm, ctx.store.resolve(norm["codebook"].get<std::string>()), ctx, search);
    };
    out.push_back(std::move(f));
}

}  // namespace fq::io

// The scalar family: the exact Lloyd-Max quantizer of the k = 1 marginal after a rotation
// (TurboQuant-mse, SPEC 4.1), as a BlockVqCodec over a scalar codebook.
//   description  {"codec": "scalar", "codebook": REF, "header", "header_type"}, or instead of
//                "codebook": "bits": 1..8, "rotation": "none"|"haar"|"hadamard" ["haar"],
//                "rotation_seed" [1]: the exact codebook computed for the data's d with that
//                rotation (stored form: its hash, the codebook embedded). "rotation": "none"
//                is seed 002's KV scheme.
//   short form   scalar:bits=B[,...] (or rate=B): shipped codebooks/d<d>/scalar-b<B>.json, or,
//                when not shipped or a rotation is given, the exact codebook computed on the
//                fly (haar rotation, seed 1 unless given)
#include <filesystem>

#include "fq/codecs/scalar.hpp"
#include "fq/io/families/block_vq_family.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

namespace {

// Exact Lloyd-Max fixed-point tolerance, as fq-train scalar.
constexpr double k_scalar_tol = 1e-12;

UniversalCodebook scalar_codebook_for(int d, int bits, core::RotationKind rot, std::uint64_t seed) {
    return make_scalar_codebook(codecs::lloyd_max_scalar(d, bits, k_scalar_tol), k_scalar_tol, rot,
                                seed);
}

}  // namespace

void register_scalar_family(std::vector<CodecFamily>& out) {
    CodecFamily f;
    f.name = "scalar";
    f.normalize = [](const Json& desc, const JsonReader& rd) {
        const ParamReader p(desc, rd, "scalar");
        p.only({"codebook", "bits", "rotation", "rotation_seed", "header", "header_type"});
        Json n = Json::object();
        n["codec"] = "scalar";
        if (p.has("bits")) {
            if (p.has("codebook"))
                p.fail(
                    "unknown key 'bits' beside 'codebook' (a scalar description gives "
                    "either a codebook or bits, not both)");
            n["bits"] = p.integer("bits", 2, 1, 8);
            n["rotation"] = p.choice("rotation", "haar", {"none", "haar", "hadamard"});
            n["rotation_seed"] = p.u64("rotation_seed", 1);
        } else {
            if (p.has("rotation") || p.has("rotation_seed"))
                p.fail("'rotation' goes with 'bits' (a codebook file carries its own rotation)");
            n["codebook"] = p.string("codebook");
        }
        families::normalize_header(p, n);
        return n;
    };
    f.accepts_bare = false;
    f.norm_header = true;
    f.codebook_format = k_codebook_format;
    f.parse_codebook_file = families::parse_universal_codebook_file;
    f.short_form = [](const ShortFormValues& kv, ShortFormContext& ctx) {
        if (kv.count("rotation") || kv.count("rotation_seed")) {
            // Computed on the fly with the given rotation: the generic form plus defaults.
            Json j = generic_short_form("scalar", kv, ctx.context);
            if (kv.count("rate") && !kv.count("bits")) {
                j["bits"] = j["rate"];
                j.erase("rate");
            }
            if (!j.contains("bits")) j["bits"] = 2;
            if (!j.contains("header")) j["header"] = ctx.header;
            if (!j.contains("header_type")) j["header_type"] = ctx.header_type;
            return j;
        }
        Json j = families::block_vq_short_form("scalar", kv, ctx, {"rate", "bits", "k", "N"});
        if (kv.count("k") || kv.count("N"))
            throw UsageError(ctx.context + ": scalar takes bits=B (or rate=B), not k or N");
        if (kv.count("bits") && kv.count("rate"))
            throw UsageError(ctx.context + ": give bits or rate, not both");
        const int bits = kv.count("bits")   ? families::short_form_integer(kv, "bits", ctx)
                         : kv.count("rate") ? families::short_form_integer(kv, "rate", ctx)
                                            : 2;
        if (bits < 1 || bits > 8) throw UsageError(ctx.context + ": bits must be in 1..8");
        const std::string path = ctx.store.dir() + "/d" + std::to_string(ctx.d) + "/scalar-b" +
                                 std::to_string(bits) + ".json";
        std::error_code ec;
        if (std::filesystem::exists(path, ec)) {
            j["codebook"] = path;
        } else {
            if (ctx.d < 3) throw UsageError(ctx.context + ": scalar needs d >= 3");
            UniversalCodebook cb = scalar_codebook_for(ctx.d, bits, core::RotationKind::haar, 1);
            j["codebook"] = cb.content_hash;
            ctx.store.add(std::move(cb));
        }
        return j;
    };
    f.build = [](Json& norm, const BuildContext& ctx, std::string&) {
        if (!norm.contains("bits"))
            return families::build_block_vq(
                "scalar", norm, ctx.store.resolve(norm["codebook"].get<std::string>()), ctx);
        ctx.need_d("scalar", 3);
        UniversalCodebook cb = scalar_codebook_for(
            ctx.d, norm["bits"].get<int>(),
            core::rotation_kind_from_string(norm["rotation"].get<std::string>()),
            norm["rotation_seed"].get<std::uint64_t>());
        Json stored = Json::object();  // the stored form names the computed codebook's hash
        stored["codec"] = "scalar";
        stored["codebook"] = cb.content_hash;
        stored["header"] = norm["header"];
        stored["header_type"] = norm["header_type"];
        norm = std::move(stored);
        return families::build_block_vq("scalar", norm, std::move(cb), ctx);
    };
    out.push_back(std::move(f));
}

}  // namespace fq::io

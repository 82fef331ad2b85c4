// run_eval: fq-eval of an original dump against a decoded dump or a compressed file.
#include "fq/tasks/eval.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/encoded_file.hpp"
#include "fq/io/hdf5_util.hpp"
#include "fq/io/json_util.hpp"
#include "fq/tasks/run_main.hpp"

namespace fq::tasks {

namespace {

// The compressed file's codecs, one per encoded path, and their rates.
struct CompressedSource {
    std::unique_ptr<io::EncodedFileReader> reader;
    std::map<std::string, std::shared_ptr<const codecs::Codec>> codecs;  // by dataset path
};

// Names a codec description for tables: "<family>-k<k>-N<N>" / "scalar-b<b>" from the
// codebook, or the family.
std::string codec_name(const io::BuiltCodec& built) {
    const auto& spec = built.codebook.spec;
    std::string name = built.codebook.family;
    if (name == "scalar") {
        int b = 0;
        while ((1 << b) < spec.main.N) ++b;
        name += "-b" + std::to_string(b);
    } else {
        name += "-k" + std::to_string(spec.main.k) + "-N" + std::to_string(spec.main.N);
    }
    if (built.description.contains("header") && built.description["header"] == "gain")
        name += "-gain";
    if (built.description.contains("header_type") && built.description["header_type"] == "float32")
        name += "-h32";
    return name;
}

// Decodes n codes of codec into floats, in parallel chunks.
std::vector<float> decode_all(const codecs::Codec& codec, const std::vector<std::uint8_t>& codes,
                              std::size_t n) {
    std::vector<float> x(n * static_cast<std::size_t>(codec.dim()));
    const std::size_t cb = codec.code_bytes();
    const std::size_t d = static_cast<std::size_t>(codec.dim());
    core::parallel_chunks(n, 1024, [&](std::size_t, std::size_t b, std::size_t e) {
        codec.decode(codes.data() + b * cb, e - b, x.data() + b * d);
    });
    return x;
}

// Rate of a tensor (all layers) in the compressed file.
void add_rate(RateInfo& r, const io::EncodedDataset& ds, const codecs::Codec& codec,
              double stored_bytes, double vectors) {
    const double nominal = codec.code_bits() / ds.d;
    const double achieved = stored_bytes * 8.0 / (vectors * ds.d);
    const double pad = (8.0 * static_cast<double>(codec.code_bytes()) - codec.code_bits()) / ds.d;
    // Several layers: vector-weighted means (all layers normally share one codec).
    if (std::isnan(r.bytes_coded)) {
        r.nominal_bits = nominal;
        r.achieved_bits = achieved;
        r.padding_bits = pad;
        r.bytes_coded = stored_bytes;
        return;
    }
    const double prev_vectors = r.bytes_coded * 8.0 / (r.achieved_bits * ds.d);
    const double w = prev_vectors + vectors;
    r.nominal_bits = (r.nominal_bits * prev_vectors + nominal * vectors) / w;
    r.achieved_bits = (r.achieved_bits * prev_vectors + achieved * vectors) / w;
    r.padding_bits = std::max(r.padding_bits, pad);
    r.bytes_coded += stored_bytes;
}

void write_reports(const EvalOptions& opts, const DumpEvaluation& ev, const CodecLabel& codec,
                   const std::vector<std::string>& warnings, double bytes_on_disk,
                   double original_bytes) {
    if (!opts.csv.empty()) io::write_output(opts.csv, io::to_csv(ev.table));
    if (opts.json.empty()) return;
    nlohmann::ordered_json j;
    j["tool"] = "fq-eval";
    j["version"] = FQ_VERSION;
    j["original"] = opts.input;
    if (!opts.decoded.empty()) j["decoded"] = opts.decoded;
    if (!opts.compressed.empty()) j["compressed"] = opts.compressed;
    j["codec"] = {
        {"name", codec.name}, {"family", codec.family}, {"description", codec.description}};
    const auto rate_json = [](const RateInfo& r) {
        return nlohmann::ordered_json{{"nominal_bits", io::json_value(r.nominal_bits)},
                                      {"achieved_bits", io::json_value(r.achieved_bits)},
                                      {"padding_bits", r.padding_bits},
                                      {"bytes_coded", io::json_value(r.bytes_coded)}};
    };
    j["rate"] = {{"k", rate_json(codec.k)},
                 {"v", rate_json(codec.v)},
                 {"bytes_on_disk", io::json_value(bytes_on_disk)},
                 {"bytes_original_file", io::json_value(original_bytes)},
                 {"bytes_raw_f16", ev.raw_f16_bytes_k + ev.raw_f16_bytes_v}};
    j["queries"] = {{"source", ev.queries_in_dump ? "dump" : "keys"},
                    {"fallback", ev.queries_in_dump
                                     ? nlohmann::ordered_json(nullptr)
                                     : nlohmann::ordered_json("no q datasets in the dump: "
                                                              "keys used as queries, q_t = k_t")},
                    {"n_heads", ev.n_heads},
                    {"n_kv_heads", ev.n_kv_heads},
                    {"gqa", "query head h reads KV head h / (n_heads / n_kv_heads)"}};
    j["positions"] = {{"stride", opts.settings.stride},
                      {"last", opts.settings.last},
                      {"count", ev.positions},
                      {"tokens", ev.tokens}};
    j["warnings"] = warnings;
    j["rows"] = io::to_json(ev.table);
    io::write_output(opts.json, io::dump_readable(j) + "\n");
}

}  // namespace

void run_eval(const EvalOptions& opts) {
    set_verbosity(static_cast<Verbosity>(std::clamp(opts.verbosity, -1, 1)));
    core::set_threads(opts.threads);
    require(!opts.input.empty(), "no original dump (-i)");
    require(opts.decoded.empty() != opts.compressed.empty(),
            "give exactly one of -d (decoded dump) or -c (compressed file)");
    if (opts.json == "-" && opts.csv == "-")
        throw UsageError("--json - and --csv - cannot both go to stdout");

    const io::KvDumpReader dump(opts.input);
    CodecLabel codec;
    DecodeFn decode;
    std::unique_ptr<io::KvDumpReader> decoded;
    CompressedSource comp;
    double bytes_on_disk = k_nan;
    const double original_bytes = static_cast<double>(std::filesystem::file_size(opts.input));

    if (!opts.decoded.empty()) {
        decoded = std::make_unique<io::KvDumpReader>(opts.decoded);
        decode = [&](const io::DatasetInfo& info, const std::vector<float>&) {
            const io::DatasetInfo di = decoded->info(info.path);
            if (di.heads != info.heads || di.tokens != info.tokens || di.d != info.d)
                throw CorruptError(opts.decoded + ": " + info.path +
                                   ": shape differs from the original");
            return decoded->read_all(di);
        };
    } else {
        comp.reader = std::make_unique<io::EncodedFileReader>(opts.compressed);
        bytes_on_disk = static_cast<double>(std::filesystem::file_size(opts.compressed));
        io::CodebookStore store(opts.codebooks);
        for (const auto& h : comp.reader->codebook_hashes()) store.add(comp.reader->codebook(h));
        std::string names;
        for (const auto& ds : comp.reader->datasets()) {
            if (ds.kind != io::KvKind::k && ds.kind != io::KvKind::v) continue;
            const io::BuiltCodec built = io::make_codec(
                ds.codec, store, opts.compressed + ": " + ds.path, ExitCode::corrupt);
            comp.codecs[ds.path] = built.codec;
            const std::string name = codec_name(built);
            if (names.find(name) == std::string::npos) names += (names.empty() ? "" : "+") + name;
            codec.family = built.codebook.family;
            codec.description = built.description;
            // Bytes stored: the codes array as it sits in the file.
            const auto codes_ds = io::h5::open_dataset(comp.reader->file_id(), ds.path + "/codes");
            double stored = 1;
            for (auto n : io::h5::dataset_dims(codes_ds.id())) stored *= static_cast<double>(n);
            const double vectors = static_cast<double>(ds.heads) * static_cast<double>(ds.tokens);
            add_rate(ds.kind == io::KvKind::k ? codec.k : codec.v, ds, *built.codec, stored,
                     vectors);
        }
        codec.name = names.empty() ? "compressed" : names;
        decode = [&](const io::DatasetInfo& info, const std::vector<float>&) {
            const auto it = comp.codecs.find(info.path);
            if (it == comp.codecs.end())
                throw CorruptError(opts.compressed + ": " + info.path +
                                   ": not encoded in this file");
            const io::EncodedDataset& ds = comp.reader->dataset(info.path);
            if (ds.heads != info.heads || ds.tokens != info.tokens || ds.d != info.d)
                throw CorruptError(opts.compressed + ": " + info.path +
                                   ": shape differs from the original");
            io::Slab slab{0, ds.heads, 0, ds.tokens};
            std::vector<std::uint8_t> codes(slab.vectors() * ds.code_bytes);
            comp.reader->read_codes(ds, slab, codes.data());
            return decode_all(*it->second, codes, slab.vectors());
        };
    }

    const DumpEvaluation ev = evaluate_dump(dump, decode, codec, opts.settings);
    std::vector<std::string> warnings;
    if (!ev.queries_in_dump) {
        warnings.push_back("no q datasets in the dump: keys used as queries (q_t = k_t)");
        log_warning(warnings.back());
    }
    const io::ResultClaim claim = claim_of(ev, codec);
    const std::string zero = io::zero_distortion_reason(claim);
    const std::string mismatch = io::rate_mismatch_reason(claim);
    if (!zero.empty()) {
        if (!opts.allow_lossless)
            throw CorruptError("refusing to report a lossy result: " + zero +
                               " (--allow-lossless presents it anyway)");
        warnings.push_back("presented with --allow-lossless: " + zero);
        log_warning(warnings.back());
    }
    if (!mismatch.empty()) {
        if (!opts.allow_rate_mismatch)
            throw CorruptError("refusing to report: " + mismatch +
                               " (--allow-rate-mismatch presents it anyway)");
        warnings.push_back("presented with --allow-rate-mismatch: " + mismatch);
        log_warning(warnings.back());
    }

    write_reports(opts, ev, codec, warnings, bytes_on_disk, original_bytes);
    if (opts.json != "-" && opts.csv != "-") {
        std::ostringstream s;
        s << summary_text(ev, codec);
        if (!std::isnan(bytes_on_disk))
            s << "\nbytes on disk: " << static_cast<long long>(bytes_on_disk) << " (original file "
              << static_cast<long long>(original_bytes) << ", raw float16 K+V "
              << static_cast<long long>(ev.raw_f16_bytes_k + ev.raw_f16_bytes_v) << ")\n";
        if (opts.per_head) {
            s << "\nper layer and head\n";
            std::vector<std::size_t> rows;
            for (std::size_t r = 3; r < ev.table.rows.size(); ++r) rows.push_back(r);
            io::write_text(ev.table,
                           {{"tensor", "", 4, ""},
                            {"layer", "", 4, ""},
                            {"head", "", 4, ""},
                            {"nmse", "", 4, ""},
                            {"cos_mean", "cos", 5, ""},
                            {"cos_p5", "cos p5", 5, ""},
                            {"ip_rmse", "ip rmse", 4, ""},
                            {"kl", "KL nats", 4, ""},
                            {"top1", "", 4, ""},
                            {"out_cos", "out cos", 5, ""}},
                           s, rows);
        }
        std::cout << s.str();
        std::cout.flush();
    }
}

}  // namespace fq::tasks

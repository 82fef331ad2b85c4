// run_eval: fq-eval of an original dump against a decoded dump or a compressed file.
#include "fq/tasks/eval.hpp"

#include <unistd.h>

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
#include "fq/tasks/decode.hpp"
#include "fq/tasks/run_main.hpp"

namespace fq::tasks {

namespace {

// A temporary file removed on scope exit.
struct TempFile {
    std::string path;
    ~TempFile() {
        std::error_code ec;
        if (!path.empty()) std::filesystem::remove(path, ec);
    }
};

// Rates of the compressed file's K and V datasets: nominal = code_bits / d (exact bits per
// vector as the codec states them, cross-checked against the codec built from the stored
// description when this build can), achieved = bytes of the stored codes arrays * 8 /
// coordinates, allowed padding = what a code row's bytes (and a last partial group of G
// vectors) add over the nominal bits.
// Key datasets whose codec estimates inner products from codes (qjl, scalar+qjl) are
// returned in *estimators (by dataset path).
void compressed_rates(const std::string& path, const std::string& codebook_dir, CodecLabel& codec,
                      std::map<std::string, std::shared_ptr<const codecs::Codec>>* estimators) {
    const io::EncodedFileReader reader(path);
    io::CodebookStore store(codebook_dir);
    for (const auto& h : reader.codebook_hashes()) {
        try {
            store.add(reader.codebook(h));
        } catch (const CorruptError&) {
            // not a fib/scalar codebook file (e.g. gsrq): make_codec resolves it itself
        }
    }
    struct Acc {
        double nominal = 0, achieved = 0, padding = 0, coords = 0;
    } acc[2];
    std::string names;
    for (const auto& ds : reader.datasets()) {
        if (ds.kind != io::KvKind::k && ds.kind != io::KvKind::v) continue;
        const auto codes = io::h5::open_dataset(reader.file_id(), ds.path + "/codes");
        double stored = 1;
        for (auto n : io::h5::dataset_dims(codes.id())) stored *= static_cast<double>(n);
        const double coords = static_cast<double>(ds.heads) * static_cast<double>(ds.tokens) * ds.d;
        std::string name = ds.codec.value("codec", std::string("?"));
        try {
            const io::BuiltCodec built =
                io::make_codec(ds.codec, store, path + ": " + ds.path, ExitCode::corrupt, ds.d);
            name = io::codec_label(built);
            if (ds.kind == io::KvKind::k && ds.block_vectors == 1 &&
                dynamic_cast<const codecs::InnerProductEstimator*>(built.codec.get()))
                (*estimators)[ds.path] = built.codec;
            codec.family = built.family();
            if (std::abs(built.codec->code_bits() - ds.code_bits) > 1e-9 ||
                built.codec->code_bytes() != ds.code_bytes)
                throw CorruptError(path + ": " + ds.path + ": stored code_bits/code_bytes (" +
                                   io::format_real(ds.code_bits, 10) + "/" +
                                   std::to_string(ds.code_bytes) + ") disagree with its codec (" +
                                   io::format_real(built.codec->code_bits(), 10) + "/" +
                                   std::to_string(built.codec->code_bytes()) + ")");
        } catch (const CorruptError&) {
            throw;
        } catch (const Error& e) {
            log_verbose(std::string("rate cross-check skipped: ") + e.what());
            codec.family = name;
        }
        if (names.find(name) == std::string::npos) names += (names.empty() ? "" : " + ") + name;
        codec.description = ds.codec;
        Acc& a = acc[ds.kind == io::KvKind::k ? 0 : 1];
        a.nominal += ds.code_bits * static_cast<double>(ds.heads) * static_cast<double>(ds.tokens);
        a.achieved += 8.0 * stored;
        a.padding = std::max(a.padding, std::max(0.0, ds.stored_rate() - ds.rate()));
        a.coords += coords;
    }
    for (int w = 0; w < 2; ++w) {
        RateInfo& r = w == 0 ? codec.k : codec.v;
        if (acc[w].coords == 0) continue;
        r.nominal_bits = acc[w].nominal / acc[w].coords;
        r.achieved_bits = acc[w].achieved / acc[w].coords;
        r.padding_bits = acc[w].padding;
        r.bytes_coded = acc[w].achieved / 8.0;
    }
    codec.name = names.empty() ? "compressed" : names;
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
    j["scores"] =
        ev.estimated_scores ? "inner-product estimator from the key codes" : "decoded keys";
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
    double bytes_on_disk = k_nan;
    const double original_bytes = static_cast<double>(std::filesystem::file_size(opts.input));
    TempFile temp;
    std::map<std::string, std::shared_ptr<const codecs::Codec>> estimators;
    std::string decoded_path = opts.decoded;
    if (!opts.compressed.empty()) {
        // Decoded here by fq-decode's task into a temporary float32 dump, so that every
        // family fq-decode knows is evaluated the same way; rates from the container.
        bytes_on_disk = static_cast<double>(std::filesystem::file_size(opts.compressed));
        compressed_rates(opts.compressed, opts.codebooks, codec, &estimators);
        namespace fs = std::filesystem;
        std::string tmpl = (fs::temp_directory_path() / "fq-eval-decoded.XXXXXX").string();
        const int fd = ::mkstemp(tmpl.data());
        if (fd < 0) throw IoError(tmpl + ": cannot create a temporary file");
        ::close(fd);
        temp.path = tmpl;
        DecodeOptions d;
        d.input = opts.compressed;
        d.output = temp.path;
        d.dtype = "float32";
        d.codebook_dir = opts.codebooks;
        d.threads = opts.threads;
        d.force = true;
        d.verbosity = -1;
        run_decode(d);
        set_verbosity(static_cast<Verbosity>(std::clamp(opts.verbosity, -1, 1)));
        decoded_path = temp.path;
    }
    const io::KvDumpReader decoded(decoded_path);
    const std::string shown = opts.compressed.empty() ? opts.decoded : opts.compressed;
    const DecodeFn decode = [&](const io::DatasetInfo& info, const std::vector<float>&) {
        const auto& list = decoded.datasets();
        if (std::none_of(list.begin(), list.end(),
                         [&](const io::DatasetInfo& x) { return x.path == info.path; }))
            throw CorruptError(shown + ": " + info.path + ": not in the decoded data");
        const io::DatasetInfo di = decoded.info(info.path);
        if (di.heads != info.heads || di.tokens != info.tokens || di.d != info.d)
            throw CorruptError(shown + ": " + info.path + ": shape differs from the original");
        return decoded.read_all(di);
    };

    // Codecs with an inner-product estimator are scored by it, from the stored key codes.
    std::unique_ptr<io::EncodedFileReader> codes_reader;
    ScoreFn scores;
    if (!estimators.empty()) {
        codes_reader = std::make_unique<io::EncodedFileReader>(opts.compressed);
        scores = [&](const io::DatasetInfo& info, int h, const float* q) {
            const auto it = estimators.find(info.path);
            if (it == estimators.end())
                throw UsageError(opts.compressed + ": " + info.path +
                                 ": keys of one layer coded without an inner-product estimator "
                                 "while others have one; evaluate them separately");
            const io::EncodedDataset& ds = codes_reader->dataset(info.path);
            const auto T = static_cast<std::size_t>(ds.tokens);
            std::vector<std::uint8_t> c(T * ds.code_bytes);
            codes_reader->read_codes(ds, io::Slab{h, h + 1, 0, ds.tokens}, c.data());
            std::vector<double> out(T * T);
            dynamic_cast<const codecs::InnerProductEstimator&>(*it->second)
                .estimate_inner_products(q, T, c.data(), T, out.data());
            return out;
        };
    }
    const DumpEvaluation ev = evaluate_dump(dump, decode, codec, opts.settings, scores);
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

// run_eval: fq-eval of an original dump against a decoded dump or a compressed file.
#include "fq/tasks/eval.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "fq/codecs/head_center.hpp"
#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/encoded_file.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/mpi_run.hpp"
#include "fq/tasks/run_main.hpp"

namespace fq::tasks {

namespace {

// A compressed file opened once: its embedded codebooks in a store and the codec of every
// K and V dataset built from its stored description (docs/FORMAT.md §2).
struct CompressedSource {
    io::EncodedFileReader reader;
    io::CodebookStore store;
    std::map<std::string, io::BuiltCodec> codecs;  // by dataset path

    CompressedSource(const std::string& path, const std::string& codebook_dir)
        : reader(path), store(codebook_dir) {}

    // The codec of ds (built on first use; CorruptError if the description does not build or
    // its sizes disagree with the stored ones).
    const io::BuiltCodec& codec(const io::EncodedDataset& ds) {
        if (auto it = codecs.find(ds.path); it != codecs.end()) return it->second;
        const std::string needed = io::needed_codebook(ds.codec);
        if (!needed.empty() && !store.has(needed) &&
            (!ds.codebook.empty() || reader.has_codebook(needed)))
            store.add(reader.stored_codebook(needed));
        io::BuiltCodec b = io::make_codec(ds.codec, store, reader.path() + ": " + ds.path,
                                          ExitCode::corrupt, ds.d);
        if (std::abs(b.codec->code_bits() - ds.code_bits) > 1e-9 ||
            b.codec->code_bytes() != ds.code_bytes ||
            static_cast<std::int64_t>(b.codec->block_vectors()) != ds.block_vectors)
            throw CorruptError(reader.path() + ": " + ds.path + ": stored code_bits/code_bytes (" +
                               io::format_real(ds.code_bits, 10) + "/" +
                               std::to_string(ds.code_bytes) + ") disagree with its codec (" +
                               io::format_real(b.codec->code_bits(), 10) + "/" +
                               std::to_string(b.codec->code_bytes()) + ")");
        return codecs.emplace(ds.path, std::move(b)).first->second;
    }
};

// Rates of the compressed file's K and V datasets: nominal = code_bits / d (exact bits per
// vector as the codec states them, cross-checked against the codec built from the stored
// description), achieved = bytes of the stored codes arrays * 8 / coordinates, allowed
// padding = what a code row's bytes (and a last partial group of G vectors) add over the
// nominal bits.
void compressed_rates(CompressedSource& src, CodecLabel& codec) {
    struct Acc {
        double nominal = 0, achieved = 0, padding = 0, coords = 0, window = 0;
    } acc[2];
    std::string names;
    for (const auto& ds : src.reader.datasets()) {
        if (ds.kind != io::KvKind::k && ds.kind != io::KvKind::v) continue;
        const double coords = static_cast<double>(ds.heads) * static_cast<double>(ds.tokens) * ds.d;
        const io::BuiltCodec& built = src.codec(ds);
        const std::string name = io::codec_label(built);
        codec.family = built.family();
        if (names.find(name) == std::string::npos) names += (names.empty() ? "" : " + ") + name;
        {  // this dataset's layer: its codec and rate (exact and stored)
            CodecLabel::Layer& l =
                (ds.kind == io::KvKind::k ? codec.layers_k : codec.layers_v)[ds.layer];
            l.name = name;
            l.rate.nominal_bits = ds.exact_rate();
            l.rate.achieved_bits = ds.stored_rate();
            l.rate.padding_bits = std::max(0.0, ds.stored_rate() - ds.exact_rate());
            l.rate.window_bits = ds.window_bits() / (static_cast<double>(ds.heads) *
                                                     static_cast<double>(ds.tokens) * ds.d);
            l.rate.bytes_coded =
                (8.0 * static_cast<double>(ds.heads) * static_cast<double>(ds.rows()) *
                     static_cast<double>(ds.code_bytes) +
                 ds.extra_bits()) /
                8.0;
        }
        codec.description = ds.codec;
        Acc& a = acc[ds.kind == io::KvKind::k ? 0 : 1];
        // Exact bits (codes at code_bits, the window, the centre) and stored bits (code bytes,
        // the window, the centre).
        a.nominal +=
            ds.code_bits * static_cast<double>(ds.heads) * static_cast<double>(ds.coded()) +
            ds.extra_bits();
        a.achieved += 8.0 * static_cast<double>(ds.heads) * static_cast<double>(ds.rows()) *
                          static_cast<double>(ds.code_bytes) +
                      ds.extra_bits();
        a.window += ds.window_bits();
        a.padding = std::max(a.padding, std::max(0.0, ds.stored_rate() - ds.exact_rate()));
        a.coords += coords;
    }
    for (int w = 0; w < 2; ++w) {
        RateInfo& r = w == 0 ? codec.k : codec.v;
        if (acc[w].coords == 0) continue;
        r.nominal_bits = acc[w].nominal / acc[w].coords;
        r.achieved_bits = acc[w].achieved / acc[w].coords;
        r.padding_bits = acc[w].padding;
        r.window_bits = acc[w].window / acc[w].coords;
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
                                      {"window_bits", r.window_bits},
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
    j["sequences"] = {{"count", ev.sequences}, {"source", ev.sequence_source}};
    j["positions"] = {{"stride", opts.settings.stride},
                      {"last", opts.settings.last},
                      {"count", ev.positions},
                      {"tokens", ev.tokens}};
    j["warnings"] = warnings;
    j["rows"] = io::to_json(ev.table);
    io::write_output(opts.json, io::dump_readable(j) + "\n");
}

// The refusals, reports and summary of one evaluation (the root's, under an MPI run).
void report_evaluation(const EvalOptions& opts, const DumpEvaluation& ev, const CodecLabel& codec,
                       double bytes_on_disk, double original_bytes) {
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
    HeadDecodeFn decode;
    ScoreFn scores;
    std::unique_ptr<CompressedSource> compressed;
    std::unique_ptr<io::KvDumpReader> decoded;
    if (!opts.compressed.empty()) {
        // Decoded here in memory, one head at a time, from the container opened once; rates
        // from its attributes.
        bytes_on_disk = static_cast<double>(std::filesystem::file_size(opts.compressed));
        compressed = std::make_unique<CompressedSource>(opts.compressed, opts.codebooks);
        compressed_rates(*compressed, codec);
        decode = [&](const io::DatasetInfo& info, int h, const float*, float* out) {
            const auto& list = compressed->reader.datasets();
            const auto it =
                std::find_if(list.begin(), list.end(),
                             [&](const io::EncodedDataset& e) { return e.path == info.path; });
            if (it == list.end())
                throw CorruptError(opts.compressed + ": " + info.path +
                                   ": not in the decoded data");
            if (it->heads != info.heads || it->tokens != info.tokens || it->d != info.d)
                throw CorruptError(opts.compressed + ": " + info.path +
                                   ": shape differs from the original");
            // Slabs of whole checksum blocks (each block read and verified once without a
            // window), about 2^20 values or more.
            const std::int64_t B = std::max<std::int64_t>(1, it->block_tokens);
            const std::int64_t want = std::max<std::int64_t>(1, (std::int64_t{1} << 20) / it->d);
            const std::int64_t step = (want + B - 1) / B * B;
            const codecs::Codec& c = *compressed->codec(*it).codec;
            for (std::int64_t t0 = 0; t0 < it->tokens; t0 += step)
                compressed->reader.decode(
                    *it, c, io::Slab{h, h + 1, t0, std::min(it->tokens, t0 + step)},
                    out + static_cast<std::size_t>(t0) * static_cast<std::size_t>(it->d));
        };
        // Codecs with an inner-product estimator are scored by it, from the stored key codes.
        bool any_estimator = false;
        for (const auto& ds : compressed->reader.datasets())
            any_estimator =
                any_estimator ||
                (ds.kind == io::KvKind::k && ds.block_vectors == 1 && ds.window.empty() &&
                 compressed->codec(ds).codec->inner_product_estimator());
        if (any_estimator)
            scores = [&](const io::DatasetInfo& info, int h, const float* q) {
                const io::EncodedDataset& ds = compressed->reader.dataset(info.path);
                // Codes of every token (no window): only then do code rows match tokens.
                const auto* est = ds.block_vectors == 1 && ds.window.empty()
                                      ? compressed->codec(ds).codec->inner_product_estimator()
                                      : nullptr;
                if (est == nullptr)
                    throw UsageError(opts.compressed + ": " + info.path +
                                     ": keys of one layer coded without an inner-product "
                                     "estimator while others have one; evaluate them separately");
                const auto T = static_cast<std::size_t>(ds.tokens);
                std::vector<std::uint8_t> c(T * ds.code_bytes);
                compressed->reader.read_codes(ds, io::Slab{h, h + 1, 0, ds.tokens}, c.data());
                std::vector<double> out(T * T);
                est->estimate_inner_products(q, T, c.data(), T, out.data());
                if (!ds.center.empty())  // scores of the centred keys, plus q . mean
                    codecs::add_center_scores(q, T,
                                              ds.center.data() + static_cast<std::size_t>(h) *
                                                                     static_cast<std::size_t>(ds.d),
                                              static_cast<std::size_t>(ds.d), T, out.data());
                return out;
            };
    } else {
        decoded = std::make_unique<io::KvDumpReader>(opts.decoded);
        decode = [&](const io::DatasetInfo& info, int h, const float*, float* out) {
            const auto& list = decoded->datasets();
            if (std::none_of(list.begin(), list.end(),
                             [&](const io::DatasetInfo& x) { return x.path == info.path; }))
                throw CorruptError(opts.decoded + ": " + info.path + ": not in the decoded data");
            const io::DatasetInfo di = decoded->info(info.path);
            if (di.heads != info.heads || di.tokens != info.tokens || di.d != info.d)
                throw CorruptError(opts.decoded + ": " + info.path +
                                   ": shape differs from the original");
            const std::int64_t step = std::max<std::int64_t>(1, (std::int64_t{1} << 20) / di.d);
            for (std::int64_t t0 = 0; t0 < di.tokens; t0 += step)
                decoded->read(di, io::Slab{h, h + 1, t0, std::min(di.tokens, t0 + step)},
                              out + static_cast<std::size_t>(t0) * static_cast<std::size_t>(di.d));
        };
    }
    const DumpEvaluation ev = evaluate_dump(dump, decode, codec, opts.settings, scores);
    // Under an MPI run the root holds every rank's statistics: it decides and reports.
    io::mpi::root_only([&] { report_evaluation(opts, ev, codec, bytes_on_disk, original_bytes); });
}

}  // namespace fq::tasks

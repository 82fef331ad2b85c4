// run_sweep: rate-distortion sweep of codec configurations on one dump, coded in memory.
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "fq/codecs/group_coding.hpp"
#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/model_file.hpp"
#include "fq/tasks/eval.hpp"
#include "fq/tasks/eval_model.hpp"
#include "fq/tasks/run_main.hpp"

namespace fq::tasks {

namespace {

using OJson = nlohmann::ordered_json;

struct SweepConfig {
    bool shipped = false;
    std::vector<OJson> codecs;  // short-form strings or description objects
    std::string header = "norm";
    std::string header_type = "float16";
    std::vector<double> targets = {0.99, 0.95};
    bool has_stride = false, has_last = false;
    std::size_t stride = 1, last = 0;
    int segment_len = 0;       // > 0: sequences are runs of this many tokens
    std::string model;         // "model": a Llama model run with each codec (fq-eval model)
    std::string model_tokens;  // "model_tokens": token file ("" = the dump's token_ids)
};

std::string substitute_d(std::string s, int d) {
    const std::string key = "{d}";
    for (auto pos = s.find(key); pos != std::string::npos; pos = s.find(key, pos))
        s.replace(pos, key.size(), std::to_string(d));
    return s;
}

SweepConfig read_config(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw IoError(path + ": cannot read");
    std::stringstream ss;
    ss << f.rdbuf();
    const io::JsonReader rd("sweep config '" + path + "'", ExitCode::usage);
    const OJson j = rd.parse(ss.str());
    if (!j.is_object()) rd.fail("must be a JSON object");
    SweepConfig c;
    for (const auto& [key, v] : j.items()) {
        if (key == "shipped") {
            if (!v.is_boolean()) rd.fail("'shipped' must be true or false");
            c.shipped = v.get<bool>();
        } else if (key == "codecs") {
            if (!v.is_array()) rd.fail("'codecs' must be an array");
            for (const auto& e : v) {
                if (!e.is_string() && !e.is_object())
                    rd.fail(
                        "'codecs' entries must be short-form strings, description objects "
                        "or {\"k\": ..., \"v\": ..., \"label\": ...} objects");
                c.codecs.push_back(e);
            }
        } else if (key == "header") {
            c.header = rd.get_string(j, "header");
        } else if (key == "header_type") {
            c.header_type = rd.get_string(j, "header_type");
        } else if (key == "stride") {
            c.stride = static_cast<std::size_t>(rd.get_int(j, "stride", 1, 1 << 30));
            c.has_stride = true;
        } else if (key == "last") {
            c.last = static_cast<std::size_t>(rd.get_int(j, "last", 0, 1 << 30));
            c.has_last = true;
        } else if (key == "model") {
            c.model = rd.get_string(j, "model");
        } else if (key == "model_tokens") {
            c.model_tokens = rd.get_string(j, "model_tokens");
        } else if (key == "segment_len") {
            c.segment_len = rd.get_int(j, "segment_len", 1, 1 << 30);
        } else if (key == "targets") {
            if (!v.is_array()) rd.fail("'targets' must be an array of numbers");
            c.targets.clear();
            for (const auto& t : v) {
                if (!t.is_number()) rd.fail("'targets' must be an array of numbers");
                c.targets.push_back(t.get<double>());
            }
        } else if (key != "comment") {
            rd.fail("unknown key '" + key + "'");
        }
    }
    if (!c.shipped && c.codecs.empty())
        rd.fail("no codecs: set \"shipped\": true or list \"codecs\"");
    return c;
}

}  // namespace

std::vector<bool> pareto_front(const std::vector<double>& x, const std::vector<double>& y) {
    std::vector<bool> front(x.size(), false);
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
        bool dominated = false;
        for (std::size_t j = 0; j < x.size() && !dominated; ++j) {
            if (j == i || !std::isfinite(x[j]) || !std::isfinite(y[j])) continue;
            dominated = x[j] >= x[i] && y[j] >= y[i] && (x[j] > x[i] || y[j] > y[i]);
        }
        front[i] = !dominated;
    }
    return front;
}

void run_sweep(const SweepOptions& opts) {
    namespace fs = std::filesystem;
    set_verbosity(static_cast<Verbosity>(std::clamp(opts.verbosity, -1, 1)));
    core::set_threads(opts.threads);
    require(opts.format == "png" || opts.format == "svg", "--format must be png or svg");
    const SweepConfig cfg = read_config(opts.config);
    EvalSettings settings = opts.settings;
    if (cfg.has_stride) settings.stride = cfg.stride;
    if (cfg.has_last) settings.last = cfg.last;
    if (cfg.segment_len > 0) settings.segment_len = cfg.segment_len;

    const io::KvDumpReader dump(opts.input);
    int d = 0;
    for (const auto& info : dump.datasets())
        if (info.kind == io::KvKind::k) d = info.d;
    if (d == 0) throw UsageError(opts.input + ": no key datasets");

    // The codec list, deduplicated by stored description (codebook hash + header). Every
    // entry is a (K, V) pair: a single codec gets fq-encode's per-tensor defaults
    // (io::with_tensor_defaults: int per_channel for keys, per_token for values); an entry
    // {"k": ..., "v": ..., "label": ...} gives each tensor its own codec (e.g. gsrq codebooks
    // trained on K and on V) and optionally the label shown in the report.
    io::CodebookStore store(opts.codebooks);
    store.set_training([](const std::string& note) { log_info(note); });
    struct Entry {
        io::BuiltCodec k, v;
        std::string name, family;
        double rate() const { return 0.5 * (k.codec->rate() + v.codec->rate()); }
    };
    std::vector<Entry> built;
    std::set<std::string> seen;
    const auto build = [&](const OJson& desc, const std::string& context) {
        io::BuiltCodec b = io::make_codec(desc, store, context, ExitCode::usage, d);
        if (b.codec->dim() != d)
            throw UsageError(context + ": codebook dimension " + std::to_string(b.codec->dim()) +
                             " does not match the dump's d = " + std::to_string(d));
        return b;
    };
    const auto to_desc = [&](const OJson& e) {
        if (e.is_string())
            return io::parse_codec_spec(substitute_d(e.get<std::string>(), d), d, store, cfg.header,
                                        cfg.header_type);
        if (!e.is_object())
            throw UsageError(opts.config + ": a codec must be a short-form string or an object");
        OJson desc = e;
        if (desc.contains("codebook") && desc["codebook"].is_string())
            desc["codebook"] = substitute_d(desc["codebook"].get<std::string>(), d);
        return desc;
    };
    const auto add_pair = [&](const OJson& kd, const OJson& vd, const std::string& context,
                              const std::string& label) {
        Entry en{build(kd, context + " (k)"), build(vd, context + " (v)"), "", ""};
        const std::string kl = io::codec_label(en.k), vl = io::codec_label(en.v);
        en.name = !label.empty() ? label : kl == vl ? kl : kl + " + " + vl;
        en.family =
            en.k.family() == en.v.family() ? en.k.family() : en.k.family() + " + " + en.v.family();
        if (seen.insert(en.k.description.dump() + "|" + en.v.description.dump()).second)
            built.push_back(std::move(en));
    };
    const auto add = [&](const OJson& desc, const std::string& context) {
        add_pair(io::with_tensor_defaults(desc, io::KvKind::k),
                 io::with_tensor_defaults(desc, io::KvKind::v), context, "");
    };
    if (cfg.shipped) {
        const auto list = store.shipped(d);
        if (list.empty())
            log_warning("no shipped codebooks in " + store.dir() + "/d" + std::to_string(d));
        for (const auto& s : list)
            add(OJson{{"codec", s.family},
                      {"codebook", s.path},
                      {"header", cfg.header},
                      {"header_type", cfg.header_type}},
                s.path);
    }
    for (const auto& e : cfg.codecs) {
        if (e.is_object() && !e.contains("codec") && (e.contains("k") || e.contains("v"))) {
            for (const auto& [key, v] : e.items())
                if (key != "k" && key != "v" && key != "label")
                    throw UsageError(opts.config + ": unknown key '" + key + "' in " + e.dump());
            if (!e.contains("k") || !e.contains("v") ||
                (e.contains("label") && !e["label"].is_string()))
                throw UsageError(opts.config +
                                 ": a per-tensor entry needs \"k\" and \"v\" (and "
                                 "an optional string \"label\"): " +
                                 e.dump());
            add_pair(io::with_tensor_defaults(to_desc(e["k"]), io::KvKind::k),
                     io::with_tensor_defaults(to_desc(e["v"]), io::KvKind::v),
                     "sweep config codec " + e.dump(), e.value("label", std::string()));
        } else {
            add(to_desc(e), e.is_string() ? substitute_d(e.get<std::string>(), d)
                                          : "sweep config codec " + e.dump());
        }
    }
    if (built.empty()) throw UsageError(opts.config + ": no codecs to evaluate");
    // Report order: by family, then rate, then label.
    std::stable_sort(built.begin(), built.end(), [](const Entry& a, const Entry& b) {
        if (a.family != b.family) return a.family < b.family;
        if (a.rate() != b.rate()) return a.rate() < b.rate();
        return a.name < b.name;
    });

    // The model (a "model" entry): loaded once, its tokens from the dump or a token file.
    std::unique_ptr<model::LlamaWeights> weights;
    ModelTokens tokens;
    if (!cfg.model.empty()) {
        weights = std::make_unique<model::LlamaWeights>(io::load_model(cfg.model));
        tokens = model_tokens(cfg.model_tokens.empty() ? opts.input : cfg.model_tokens, "", "",
                              settings.segment_len, *weights);
    }

    fs::create_directories(opts.output);
    io::Table rd;
    rd.columns = eval_columns();
    rd.columns.push_back("pareto");
    const std::vector<std::string> model_columns = {
        "ppl_base", "ppl", "ppl_ratio", "ppl_ratio_se", "logit_kl", "logit_kl_se", "logit_top1"};
    if (weights) rd.columns.insert(rd.columns.end(), model_columns.begin(), model_columns.end());
    OJson descriptions = OJson::array();
    bool queries_in_dump = true;
    std::size_t positions = 0, sequences = 1;
    std::string sequence_source = "none";
    {
        ProgressBar bar;
        for (std::size_t i = 0; i < built.size(); ++i) {
            const Entry& b = built[i];
            CodecLabel label;
            label.name = b.name;
            label.family = b.family;
            label.description = b.k.description.dump() == b.v.description.dump()
                                    ? b.k.description
                                    : OJson{{"k", b.k.description}, {"v", b.v.description}};
            bar.update("sweep " + label.name, static_cast<double>(i) / built.size());
            log_verbose("evaluating " + label.name);
            const codecs::HeadCodec codec_of[2] = {b.k.head_codec(), b.v.head_codec()};  // K, V
            // Rates: nominal from the codec (and a centre's side bits); achieved from the bytes
            // of codes a round trip stores (byte padding of a code, and of a last partial group
            // when G > 1) and the centre.
            double code_bytes[2] = {0, 0}, coords[2] = {0, 0}, center[2] = {0, 0};  // K, V
            for (const auto& info : dump.datasets()) {
                if (info.kind != io::KvKind::k && info.kind != io::KvKind::v) continue;
                const int which = info.kind == io::KvKind::k ? 0 : 1;
                const codecs::Codec& codec = *codec_of[which].codec;
                const double G =
                    static_cast<double>(std::max<std::size_t>(1, codec.block_vectors()));
                const double rows = std::ceil(static_cast<double>(info.tokens) / G);
                code_bytes[which] += info.heads * rows * static_cast<double>(codec.code_bytes());
                if (codec_of[which].center)
                    center[which] += codecs::center_bits(static_cast<std::size_t>(info.heads),
                                                         static_cast<std::size_t>(d));
                coords[which] +=
                    static_cast<double>(info.heads) * static_cast<double>(info.tokens) * d;
            }
            for (int which = 0; which < 2; ++which) {
                RateInfo& r = which == 0 ? label.k : label.v;
                r.nominal_bits = codec_of[which].codec->rate() + center[which] / coords[which];
                r.achieved_bits = (8.0 * code_bytes[which] + center[which]) / coords[which];
                r.padding_bits = std::max(0.0, r.achieved_bits - r.nominal_bits);
                r.bytes_coded = code_bytes[which] + center[which] / 8.0;
            }
            double produced = 0;
            // Key codecs estimating inner products from codes (qjl, scalar+qjl) are scored by
            // their estimator; the keys' codes are kept for it.
            const codecs::Codec& kcodec = *codec_of[0].codec;
            const auto* estimator =
                kcodec.block_vectors() <= 1 ? kcodec.inner_product_estimator() : nullptr;
            std::map<std::string, codecs::HeadCodes> key_codes;
            const DecodeFn decode = [&](const io::DatasetInfo& info, const std::vector<float>& x) {
                const bool is_k = info.kind == io::KvKind::k;
                std::vector<float> y(x.size());
                codecs::HeadCodes c = codecs::round_trip_heads(
                    codec_of[is_k ? 0 : 1], x.data(), static_cast<std::size_t>(info.heads),
                    static_cast<std::size_t>(info.tokens), y.data());
                produced += c.bits() / 8.0;
                if (estimator && is_k) key_codes[info.path] = std::move(c);
                return y;
            };
            ScoreFn scores;
            if (estimator)
                scores = [&](const io::DatasetInfo& info, int h, const float* q) {
                    const auto T = static_cast<std::size_t>(info.tokens);
                    const codecs::HeadCodes& c = key_codes.at(info.path);
                    std::vector<double> out(T * T);
                    estimator->estimate_inner_products(
                        q, T,
                        c.codes.data() + static_cast<std::size_t>(h) * T * kcodec.code_bytes(), T,
                        out.data());
                    if (!c.center.empty())  // scores of the centred keys, plus q . mean
                        codecs::add_center_scores(q, T,
                                                  c.center.data() + static_cast<std::size_t>(h) *
                                                                        static_cast<std::size_t>(d),
                                                  static_cast<std::size_t>(d), T, out.data());
                    return out;
                };
            DumpEvaluation ev = evaluate_dump(dump, decode, label, settings, scores);
            if (produced != label.k.bytes_coded + label.v.bytes_coded)
                throw NumericError(label.name + ": produced " + std::to_string(produced) +
                                   " bytes of codes, expected " +
                                   std::to_string(label.k.bytes_coded + label.v.bytes_coded));
            const std::string why = io::refusal_reason(claim_of(ev, label));
            if (!why.empty()) throw CorruptError(label.name + ": refusing to report: " + why);
            queries_in_dump = ev.queries_in_dump;
            positions = ev.positions;
            sequences = ev.sequences;
            sequence_source = ev.sequence_source;
            OJson m;
            if (weights) {  // the same K and V codecs in every layer of the model
                const std::vector<std::array<codecs::HeadCodec, 2>> per_layer(
                    static_cast<std::size_t>(weights->config.n_layers),
                    {b.k.head_codec(), b.v.head_codec()});
                m = compare_on_model(*weights, tokens, per_layer, 0, 0);
            }
            for (std::size_t r = 0; r < 3; ++r) {
                auto row = ev.table.rows[r];
                row.emplace_back(std::monostate{});
                if (weights)
                    for (const char* k :
                         {"ppl_base", "ppl", "ratio", "ratio_se", "kl", "kl_se", "top1"})
                        row.emplace_back(m[k].get<double>());
                rd.rows.push_back(std::move(row));
            }
            OJson dj = {
                {"codec", label.name},
                {"description", label.description},
                {"scores", estimator ? "inner-product estimator from the codes" : "decoded keys"}};
            descriptions.push_back(dj);
        }
        bar.finish();
    }
    if (!queries_in_dump)
        log_warning("no q datasets in the dump: keys used as queries (q_t = k_t)");

    // Pareto frontier of attention-output cosine vs compression ratio (attention rows).
    std::vector<std::size_t> attn;
    for (std::size_t r = 0; r < rd.rows.size(); ++r)
        if (rd.text(r, "tensor") == "attn") attn.push_back(r);
    {
        std::vector<double> x, y;
        for (auto r : attn)
            x.push_back(rd.real(r, "compression_ratio")), y.push_back(rd.real(r, "out_cos"));
        const auto front = pareto_front(x, y);
        for (std::size_t i = 0; i < attn.size(); ++i)
            rd.set(attn[i], "pareto", std::int64_t{front[i] ? 1 : 0});
    }
    // Highest compression meeting each target, overall and per family.
    OJson frontier = OJson::array();
    std::ostringstream fr;
    std::set<std::string> families;
    for (auto r : attn) families.insert(rd.text(r, "family"));
    for (double target : cfg.targets) {
        std::vector<std::string> scopes{""};  // "" = any codec, then each family
        scopes.insert(scopes.end(), families.begin(), families.end());
        for (const std::string& fam : scopes) {
            long best = -1;
            for (auto r : attn) {
                if (!fam.empty() && rd.text(r, "family") != fam) continue;
                if (!(rd.real(r, "out_cos") >= target)) continue;
                if (best < 0) {
                    best = static_cast<long>(r);
                    continue;
                }
                // Highest compression; among equal compression, the highest fidelity.
                const auto b = static_cast<std::size_t>(best);
                const double x = rd.real(r, "compression_ratio");
                const double xb = rd.real(b, "compression_ratio");
                if (x > xb || (x == xb && rd.real(r, "out_cos") > rd.real(b, "out_cos")))
                    best = static_cast<long>(r);
            }
            OJson e = {{"target_out_cos", target}, {"family", fam.empty() ? "any" : fam}};
            fr << "attention-output cosine >= " << target << " ("
               << (fam.empty() ? "any codec" : fam) << "): ";
            if (best < 0) {
                e["codec"] = nullptr;
                fr << "none\n";
            } else {
                const auto b = static_cast<std::size_t>(best);
                e["codec"] = rd.text(b, "codec");
                e["compression_ratio"] = rd.real(b, "compression_ratio");
                e["achieved_bits"] = rd.real(b, "achieved_bits");
                e["out_cos"] = rd.real(b, "out_cos");
                e["out_cos_se"] = rd.real(b, "out_cos_se");
                fr << io::format_real(rd.real(b, "compression_ratio"), 4) << "x vs float16 with "
                   << rd.text(b, "codec") << " (" << io::format_real(rd.real(b, "achieved_bits"), 4)
                   << " bits/coord, out_cos "
                   << io::format_with_se(rd.real(b, "out_cos"), rd.real(b, "out_cos_se"), 5)
                   << ")\n";
            }
            frontier.push_back(e);
        }
    }

    const fs::path dir(opts.output);
    io::write_output((dir / "rd.csv").string(), io::to_csv(rd));
    OJson j;
    j["tool"] = "fq-eval sweep";
    j["version"] = FQ_VERSION;
    j["input"] = opts.input;
    j["config"] = opts.config;
    j["d"] = d;
    j["queries"] = {
        {"source", queries_in_dump ? "dump" : "keys"},
        {"fallback", queries_in_dump ? OJson(nullptr) : OJson("keys used as queries, q_t = k_t")}};
    j["sequences"] = {{"count", sequences}, {"source", sequence_source}};
    j["positions"] = {{"stride", settings.stride}, {"last", settings.last}, {"count", positions}};
    if (weights)
        j["model"] = {{"path", cfg.model},
                      {"tokens", tokens.source},
                      {"sequences", tokens.sequences.size()},
                      {"columns",
                       "ppl_base, ppl, ppl_ratio (+ _se), logit_kl (+ _se), logit_top1: "
                       "fq-eval model with the row's K and V codecs in every layer"}};
    j["codecs"] = descriptions;
    j["frontier"] = frontier;
    j["rows"] = io::to_json(rd);
    io::write_output((dir / "rd.json").string(), io::dump_readable(j) + "\n");

    SweepReportInfo info;
    info.dir = opts.output;
    info.input = opts.input;
    info.format = opts.format;
    info.d = d;
    info.queries_in_dump = queries_in_dump;
    info.positions = positions;
    info.frontier_text = fr.str();
    write_sweep_report(rd, info);

    // stdout: the aggregated table and the frontier.
    std::cout << "sweep of " << opts.input << ": " << built.size() << " codecs, report in "
              << opts.output << "\n";
    io::write_text(rd,
                   {{"codec", "", 4, ""},
                    {"tensor", "", 4, ""},
                    {"achieved_bits", "bits", 4, ""},
                    {"compression_ratio", "ratio", 4, ""},
                    {"nmse", "nMSE", 4, "nmse_se"},
                    {"kl", "KL nats", 4, "kl_se"},
                    {"out_cos", "out cos", 5, "out_cos_se"},
                    {"pareto", "", 4, ""}},
                   std::cout);
    std::cout << "\n" << fr.str();
    std::cout.flush();
}

}  // namespace fq::tasks

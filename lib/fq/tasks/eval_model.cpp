#include "fq/tasks/eval_model.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>

#include "fq/codecs/group_coding.hpp"
#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/core/parallel.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/io/model_file.hpp"
#include "fq/io/sequences.hpp"
#include "fq/io/text_file.hpp"
#include "fq/metrics/prediction.hpp"
#include "fq/model/llama.hpp"
#include "fq/tasks/codec_plan.hpp"
#include "fq/tasks/encode.hpp"
#include "fq/tasks/run_main.hpp"

using Json = nlohmann::ordered_json;

namespace fq::tasks {

namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

// The model's cache with a codec per (layer, K/V), float16 windows and KIVI groups.
class CodecCache final : public model::CacheHook {
public:
    std::vector<std::array<codecs::HeadCodec, 2>> per_layer;  // per layer: K, V
    std::int64_t keep_first = 0, keep_last = 0;

    // Centred codecs subtract the means of the sequence's T tokens (all of them: the recent
    // window moves with the query, so no token is outside the coding for good).
    void transform(int layer, int kv, const float* x, std::size_t n_kv, std::size_t T,
                   std::size_t hd, float* x_hat) const override {
        const codecs::HeadCodec& hc =
            per_layer[static_cast<std::size_t>(layer)][static_cast<std::size_t>(kv)];
        if (hc.codec == nullptr) {  // exact: this tensor is not coded
            std::copy_n(x, n_kv * T * hd, x_hat);
            return;
        }
        if (static_cast<std::size_t>(hc.codec->dim()) != hd)
            throw UsageError("the codec has d = " + std::to_string(hc.codec->dim()) +
                             ", the model's head dimension is " + std::to_string(hd));
        codecs::round_trip_heads(hc, x, n_kv, T, x_hat);
    }
    bool exact(int layer, int kv, std::size_t t, std::size_t j) const override {
        const codecs::Codec* cp =
            per_layer[static_cast<std::size_t>(layer)][static_cast<std::size_t>(kv)].codec;
        if (cp == nullptr) return false;  // the copy made by transform is exact
        const auto G = cp->block_vectors();
        return static_cast<std::int64_t>(j) < keep_first ||
               static_cast<std::int64_t>(t - j) < keep_last || (j / G + 1) * G > t + 1;
    }
    void window(const float* x, std::size_t count, float* out) const override {
        for (std::size_t i = 0; i < count; ++i) {
            const std::uint16_t v = core::float_to_half(x[i]);
            if ((v & 0x7C00u) == 0x7C00u)
                throw NumericError("model: a key or value beyond the float16 range in the window");
            out[i] = core::half_to_float(v);
        }
    }
};

// Summaries of per-token values.
double mean(const std::vector<double>& x) {
    double s = 0;
    for (double v : x) s += v;
    return x.empty() ? k_nan : s / static_cast<double>(x.size());
}
double covariance(const std::vector<double>& a, const std::vector<double>& b) {
    const double ma = mean(a), mb = mean(b);
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - ma) * (b[i] - mb);
    return a.size() > 1 ? s / static_cast<double>(a.size() - 1) : 0.0;
}
double std_error(const std::vector<double>& x) {
    return x.size() > 1 ? std::sqrt(covariance(x, x) / static_cast<double>(x.size())) : 0.0;
}
// Linear interpolation between order statistics (numpy's default), q in [0, 100].
double percentile(std::vector<double> x, double q) {
    if (x.empty()) return k_nan;
    std::sort(x.begin(), x.end());
    const double pos = q / 100.0 * static_cast<double>(x.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, x.size() - 1);
    return x[lo] + (pos - static_cast<double>(lo)) * (x[hi] - x[lo]);
}

}  // namespace

ModelTokens model_tokens(const std::string& input, const std::string& tokenizer,
                         const std::string& text, std::int64_t segment_len,
                         const model::LlamaWeights& w) {
    ModelTokens out;
    std::string* source = &out.source;
    std::vector<std::vector<std::int32_t>> raw;
    if (!text.empty()) {
        require(!tokenizer.empty(), "--text needs --tokenizer");
        const model::Tokenizer tok = io::load_tokenizer(tokenizer, w.config.vocab_size);
        raw.push_back(tok.encode(io::read_text_file(text, "text file"), true));
        *source = "text " + text + " (tokenizer " + tokenizer + ")";
    } else {
        require(!input.empty(), "no tokens: give -i (a KV dump or a token file) or --text");
        const bool dump = input.ends_with(".h5") || input.ends_with(".hdf5");
        if (dump) {
            const io::KvDumpReader reader(input);
            const io::DatasetInfo* kv = nullptr;
            for (const io::DatasetInfo& i : reader.datasets())
                if (i.kind == io::KvKind::k) kv = &i;
            if (kv == nullptr) throw UsageError(input + ": no key dataset to find its sequences");
            const std::vector<std::int64_t> ids =
                reader.read_integers("token_ids", static_cast<std::uint64_t>(kv->tokens));
            const io::Sequences seqs = io::find_sequences(reader, *kv, segment_len);
            for (const auto& s : seqs.tokens) {
                std::vector<std::int32_t> t;
                for (std::int64_t i : s) {
                    const std::int64_t id = ids[static_cast<std::size_t>(i)];
                    if (id < 0 || id >= w.config.vocab_size)
                        throw UsageError(input + ": token id " + std::to_string(id) +
                                         " outside the model's vocabulary of " +
                                         std::to_string(w.config.vocab_size));
                    t.push_back(static_cast<std::int32_t>(id));
                }
                raw.push_back(std::move(t));
            }
            *source = input + ": token_ids, " + io::describe(seqs);
        } else {
            raw.push_back(io::read_token_file(input));
            *source = "token file " + input;
        }
    }
    const auto ctx = static_cast<std::size_t>(w.config.seq_len);
    for (const auto& r : raw)
        for (std::size_t a = 0; a < r.size(); a += ctx) {
            std::vector<std::int32_t> s(
                r.begin() + static_cast<std::ptrdiff_t>(a),
                r.begin() + static_cast<std::ptrdiff_t>(std::min(r.size(), a + ctx)));
            for (std::int32_t id : s)
                if (id < 0 || id >= w.config.vocab_size)
                    throw UsageError((text.empty() ? input : text) + ": token id " +
                                     std::to_string(id) + " outside the model's vocabulary of " +
                                     std::to_string(w.config.vocab_size));
            if (s.size() >= 2) out.sequences.push_back(std::move(s));
        }
    if (out.sequences.empty()) throw UsageError("no sequence of 2 or more tokens to predict");
    return out;
}

ModelEvalResult evaluate_model(const ModelEvalOptions& o) {
    require(!o.model.empty(), "no model (--model)");
    core::set_threads(o.threads);
    const model::LlamaWeights w = io::load_model(o.model);
    const model::LlamaConfig& cfg = w.config;
    const int hd = cfg.head_dim();
    const ModelTokens tokens = model_tokens(o.input, o.tokenizer, o.text, o.segment_len, w);

    // The codecs, as fq-encode would choose them for datasets layer_<l>/{k,v} of d = hd.
    EncodeOptions eo;
    eo.rate = o.rate;
    eo.k_codec = o.k_codec;
    eo.v_codec = o.v_codec;
    eo.codebook = o.codebook;
    eo.config = o.config;
    eo.header = o.header;
    eo.header_type = o.header_type;
    const CodecPlan plan(eo);
    io::CodebookStore store(o.codebooks);
    if (o.train_missing) store.set_training([](const std::string& note) { log_info(note); });
    std::map<std::pair<std::string, int>, io::BuiltCodec> built;
    std::vector<std::array<codecs::HeadCodec, 2>> per_layer;
    const std::int64_t keep_first = o.keep_first >= 0 ? o.keep_first : plan.keep_first;
    const std::int64_t keep_last = o.keep_last >= 0 ? o.keep_last : plan.keep_last;
    std::vector<std::array<std::string, 2>> labels(static_cast<std::size_t>(cfg.n_layers));
    for (int l = 0; l < cfg.n_layers; ++l) {
        std::array<codecs::HeadCodec, 2> pair{};
        for (int kv = 0; kv < 2; ++kv) {
            io::DatasetInfo info;
            info.path = "layer_" + std::to_string(l) + (kv == 0 ? "/k" : "/v");
            info.kind = kv == 0 ? io::KvKind::k : io::KvKind::v;
            info.layer = l;
            info.d = hd;
            info.heads = cfg.n_kv_heads;
            std::string context;
            const Json desc = plan.description(info, cfg.n_layers, store, &context);
            const auto key = std::make_pair(desc.dump(), hd);
            auto it = built.find(key);
            if (it == built.end())
                it = built
                         .emplace(key, io::make_codec(desc, store,
                                                      "model: " + info.path + ": " + context,
                                                      ExitCode::usage, hd))
                         .first;
            pair[static_cast<std::size_t>(kv)] = it->second.head_codec();
            labels[static_cast<std::size_t>(l)][static_cast<std::size_t>(kv)] =
                io::codec_label(it->second);
        }
        per_layer.push_back(pair);
    }
    Json r = compare_on_model(w, tokens, per_layer, keep_first, keep_last);
    r["tool"] = "fq-eval model";
    r["version"] = FQ_VERSION;
    r["model"]["path"] = o.model;
    Json codec = Json::array();
    for (int l = 0; l < cfg.n_layers; ++l)
        codec.push_back({{"layer", l},
                         {"k", labels[static_cast<std::size_t>(l)][0]},
                         {"v", labels[static_cast<std::size_t>(l)][1]}});
    r["codec"] = {{"layers", codec}, {"keep_first", keep_first}, {"keep_last", keep_last}};

    ModelEvalResult out;
    out.table.columns = {"bits",    "compression", "ppl_base",   "ppl_base_se", "ppl",
                         "ppl_se",  "ratio",       "ratio_se",   "diff",        "diff_se",
                         "kl",      "kl_se",       "kl_p99",     "top1",        "top1_se",
                         "dp_mean", "dp_rms",      "predictions"};
    out.table.add_row();
    out.table.set(0, "bits", r["rate"]["bits_per_coordinate"].get<double>());
    out.table.set(0, "compression", r["rate"]["compression_vs_float16"].get<double>());
    for (const char* k :
         {"ppl_base", "ppl_base_se", "ppl", "ppl_se", "ratio", "ratio_se", "diff", "diff_se", "kl",
          "kl_se", "kl_p99", "top1", "top1_se", "dp_mean", "dp_rms"})
        out.table.set(0, k, r[k].get<double>());
    out.table.set(0, "predictions", r["tokens"]["predictions"].get<std::int64_t>());
    out.report = std::move(r);
    return out;
}

Json compare_on_model(const model::LlamaWeights& w, const ModelTokens& tokens,
                      const std::vector<std::array<codecs::HeadCodec, 2>>& per_layer,
                      std::int64_t keep_first, std::int64_t keep_last) {
    const model::LlamaConfig& cfg = w.config;
    const int hd = cfg.head_dim();
    require(per_layer.size() == static_cast<std::size_t>(cfg.n_layers),
            "model: one codec pair per layer needed");
    CodecCache cache;
    cache.per_layer = per_layer;
    cache.keep_first = keep_first;
    cache.keep_last = keep_last;

    // Both runs, every sequence; per-token predictions and their positions.
    std::vector<metrics::TokenPrediction> preds;
    std::vector<std::size_t> position;  // of the predicted token in its sequence
    double bits = 0, coords = 0;        // exact rate of the cache at each sequence's end
    const auto t0 = std::chrono::steady_clock::now();
    ProgressBar bar;
    std::size_t done = 0, total = 0;
    for (const auto& s : tokens.sequences) total += s.size();
    std::size_t forwarded = 0;  // tokens run through the model with the exact cache here
    if (tokens.base_model != &w || tokens.base_logits.size() != tokens.sequences.size()) {
        tokens.base_logits.clear();
        for (const auto& s : tokens.sequences) {
            tokens.base_logits.push_back(model::forward(w, s));
            forwarded += s.size();
        }
        tokens.base_model = &w;
    }
    for (std::size_t si = 0; si < tokens.sequences.size(); ++si) {
        const auto& s = tokens.sequences[si];
        const std::vector<float>& base = tokens.base_logits[si];
        const std::vector<float> other = model::forward(w, s, &cache);
        const auto p =
            metrics::compare_predictions(base.data(), other.data(), s.size(),
                                         static_cast<std::size_t>(cfg.vocab_size), s.data());
        for (std::size_t i = 0; i < p.size(); ++i) {
            preds.push_back(p[i]);
            position.push_back(i + 1);
        }
        const auto T = static_cast<double>(s.size());
        const double W = std::min(T, static_cast<double>(cache.keep_first + cache.keep_last));
        for (const auto& pair : cache.per_layer)
            for (const codecs::HeadCodec& hc : pair) {
                const codecs::Codec* c = hc.codec;
                const double code_bits = c ? c->code_bits() : 32.0 * hd;  // null: float32, exact
                bits += cfg.n_kv_heads *
                        (code_bits * (T - W) + (W > 0 ? 16.0 * W * hd + 64.0 * W : 0.0));
                if (c && hc.center)
                    bits += codecs::center_bits(static_cast<std::size_t>(cfg.n_kv_heads),
                                                static_cast<std::size_t>(hd));
                coords += cfg.n_kv_heads * T * hd;
            }
        done += s.size();
        bar.update("model", static_cast<double>(done) / static_cast<double>(total));
    }
    bar.finish();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const auto column = [&](auto get) {
        std::vector<double> v;
        v.reserve(preds.size());
        for (const auto& p : preds) v.push_back(get(p));
        return v;
    };
    const auto nll_b = column([](const auto& p) { return p.nll_base; });
    const auto nll = column([](const auto& p) { return p.nll; });
    const auto kl = column([](const auto& p) { return p.kl; });
    const auto top1 = column([](const auto& p) { return p.top1 ? 1.0 : 0.0; });
    const auto dp = column([](const auto& p) { return p.dp; });
    std::vector<double> diff(nll.size());
    for (std::size_t i = 0; i < nll.size(); ++i) diff[i] = nll[i] - nll_b[i];
    const double n = static_cast<double>(preds.size());
    const double ppl_b = std::exp(mean(nll_b)), ppl = std::exp(mean(nll));
    const double ratio = std::exp(mean(diff));
    const double var_mb = covariance(nll_b, nll_b) / n, var_m = covariance(nll, nll) / n,
                 cov = covariance(nll, nll_b) / n;
    const double diff_se = std::sqrt(
        std::max(0.0, ppl * ppl * var_m + ppl_b * ppl_b * var_mb - 2 * ppl * ppl_b * cov));
    const double t1 = mean(top1);
    double dp_ms = 0;
    for (double x : dp) dp_ms += x * x;

    Json r = Json::object();
    r["model"] = {
        {"dim", cfg.dim},
        {"layers", cfg.n_layers},
        {"heads", cfg.n_heads},
        {"kv_heads", cfg.n_kv_heads},
        {"head_dim", hd},
        {"vocab", cfg.vocab_size},
        {"context", cfg.seq_len},
        {"rope", cfg.rope == model::RopeStyle::adjacent_pairs ? "adjacent pairs" : "rotate half"}};
    r["tokens"] = {{"source", tokens.source},
                   {"sequences", tokens.sequences.size()},
                   {"predictions", preds.size()}};
    r["rate"] = {{"bits_per_coordinate", bits / coords},
                 {"compression_vs_float16", 16.0 / (bits / coords)}};
    r["ppl_base"] = ppl_b;
    r["ppl_base_se"] = ppl_b * std_error(nll_b);
    r["ppl"] = ppl;
    r["ppl_se"] = ppl * std_error(nll);
    r["ratio"] = ratio;
    r["ratio_se"] = ratio * std_error(diff);
    r["diff"] = ppl - ppl_b;
    r["diff_se"] = diff_se;
    r["nll_base"] = mean(nll_b);
    r["nll"] = mean(nll);
    r["kl"] = mean(kl);
    r["kl_se"] = std_error(kl);
    r["kl_p99_9"] = percentile(kl, 99.9);
    r["kl_p99"] = percentile(kl, 99);
    r["kl_p95"] = percentile(kl, 95);
    r["kl_p50"] = percentile(kl, 50);
    r["kl_max"] = percentile(kl, 100);
    r["top1"] = t1;
    r["top1_se"] = std::sqrt(t1 * (1 - t1) / n);
    r["dp_mean"] = mean(dp);
    r["dp_rms"] = std::sqrt(dp_ms / n);
    for (double q : {1.0, 5.0, 50.0, 95.0, 99.0})
        r["dp_p" + std::to_string(static_cast<int>(q))] = percentile(dp, q);
    Json buckets = Json::array();
    const std::size_t edges[] = {1, 16, 64, 128, 256, 512, 1024, 4096, 1u << 30};
    for (std::size_t b = 0; b + 1 < std::size(edges); ++b) {
        std::vector<double> bn, bnb, bk, bt;
        for (std::size_t i = 0; i < preds.size(); ++i)
            if (position[i] >= edges[b] && position[i] < edges[b + 1]) {
                bn.push_back(nll[i]);
                bnb.push_back(nll_b[i]);
                bk.push_back(kl[i]);
                bt.push_back(top1[i]);
            }
        if (bn.empty()) continue;
        buckets.push_back(
            {{"positions", std::to_string(edges[b]) + ":" + std::to_string(edges[b + 1])},
             {"predictions", bn.size()},
             {"ppl_base", std::exp(mean(bnb))},
             {"ppl", std::exp(mean(bn))},
             {"kl", mean(bk)},
             {"kl_se", std_error(bk)},
             {"top1", mean(bt)}});
    }
    r["by_position"] = buckets;
    r["seconds"] = seconds;
    r["tokens_per_second"] = static_cast<double>(forwarded + total) / seconds;  // forward passes

    return r;
}

void run_eval_model(const ModelEvalOptions& o) {
    set_verbosity(static_cast<Verbosity>(std::clamp(o.verbosity, -1, 1)));
    if (o.json == "-" && o.csv == "-")
        throw UsageError("--json - and --csv - cannot both go to stdout");
    const ModelEvalResult res = evaluate_model(o);
    const Json& r = res.report;
    if (!o.json.empty()) io::write_output(o.json, io::dump_readable(r) + "\n");
    if (!o.csv.empty()) io::write_output(o.csv, io::to_csv(res.table));
    if (o.json == "-" || o.csv == "-") return;
    const auto f = [](double x, int digits) { return io::format_real(x, digits); };
    std::ostringstream s;
    s << "model: " << o.model << " (" << r["model"]["layers"].get<int>()
      << " layers, d = " << r["model"]["head_dim"].get<int>() << ", "
      << r["model"]["heads"].get<int>() << "/" << r["model"]["kv_heads"].get<int>() << " heads)\n";
    const auto n_seq = r["tokens"]["sequences"].get<std::size_t>();
    s << "tokens: " << r["tokens"]["source"].get<std::string>() << "; " << n_seq
      << (n_seq == 1 ? " sequence run, " : " sequences run, ")
      << r["tokens"]["predictions"].get<std::size_t>() << " predictions\n";
    std::string codecs;
    for (const Json& l : r["codec"]["layers"]) {
        const std::string kv =
            "K " + l["k"].get<std::string>() + ", V " + l["v"].get<std::string>();
        if (codecs.find(kv) == std::string::npos) codecs += (codecs.empty() ? "" : "; ") + kv;
    }
    s << "codec: " << codecs;
    if (r["codec"]["keep_first"].get<std::int64_t>() > 0 ||
        r["codec"]["keep_last"].get<std::int64_t>() > 0)
        s << "; float16 window: first " << r["codec"]["keep_first"].get<std::int64_t>() << ", last "
          << r["codec"]["keep_last"].get<std::int64_t>();
    s << "\nrate: " << f(r["rate"]["bits_per_coordinate"].get<double>(), 5)
      << " bits per coordinate (" << f(r["rate"]["compression_vs_float16"].get<double>(), 4)
      << "x vs float16)\n\n";
    const auto pm = [&](const char* k) {
        return f(r[k].get<double>(), 5) + " ± " + f(r[std::string(k) + "_se"].get<double>(), 2);
    };
    s << "perplexity, exact cache   " << pm("ppl_base") << "\n";
    s << "perplexity, codec         " << pm("ppl") << "\n";
    s << "ratio codec / exact       " << pm("ratio") << "\n";
    s << "difference codec - exact  " << pm("diff") << "\n";
    s << "logit KL(p || p_codec)    " << pm("kl") << " nats (p50 "
      << f(r["kl_p50"].get<double>(), 3) << ", p95 " << f(r["kl_p95"].get<double>(), 3) << ", p99 "
      << f(r["kl_p99"].get<double>(), 3) << ", p99.9 " << f(r["kl_p99_9"].get<double>(), 3)
      << ")\n";
    s << "top-1 agreement           " << pm("top1") << "\n";
    s << "p(correct) change         mean " << f(r["dp_mean"].get<double>(), 3) << ", RMS "
      << f(r["dp_rms"].get<double>(), 3) << "\n";
    std::cout << s.str() << std::flush;
}

}  // namespace fq::tasks

#include "fq/tasks/plan.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fq/codecs/group_coding.hpp"
#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/core/parallel.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/model_file.hpp"
#include "fq/io/sequences.hpp"
#include "fq/io/text_file.hpp"
#include "fq/tasks/eval_model.hpp"
#include "fq/tasks/paths.hpp"
#include "fq/tasks/run_main.hpp"

using Json = nlohmann::ordered_json;

namespace fq::tasks {

namespace {

struct Candidate {
    Json desc;            // as given (paths, not hashes): what the plan's config names
    std::string label;    // codec label
    io::BuiltCodec k, v;  // built for keys and for values
};

struct Item {  // one K or V dataset
    io::DatasetInfo info;
    double weight = 0;               // share of all K and V coordinates
    std::int64_t window = 0;         // window tokens (all sequences)
    std::vector<std::int64_t> kept;  // those tokens (kept exactly, in float16)
};

// Exact bits per coordinate of an item coded with hc (its window at 16 bits + a 64-bit index,
// a centre at 16 bits per coordinate of its (heads, d) means).
double item_rate(const Item& it, const codecs::HeadCodec& hc) {
    const double H = it.info.heads, T = static_cast<double>(it.info.tokens), d = it.info.d,
                 W = static_cast<double>(it.window);
    const double center = hc.center ? codecs::center_bits(static_cast<std::size_t>(it.info.heads),
                                                          static_cast<std::size_t>(it.info.d))
                                    : 0.0;
    return (hc.codec->code_bits() * H * (T - W) + (W > 0 ? 16.0 * H * W * d + 64.0 * W : 0.0) +
            center) /
           (H * T * d);
}

// Lower convex hull (in rate, distortion) of points, as indices sorted by rate.
std::vector<std::size_t> lower_hull(const std::vector<double>& R, const std::vector<double>& D) {
    std::vector<std::size_t> idx(R.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
        return R[a] != R[b] ? R[a] < R[b] : D[a] != D[b] ? D[a] < D[b] : a < b;
    });
    std::vector<std::size_t> hull;
    for (std::size_t i : idx) {
        if (!hull.empty() && R[i] == R[hull.back()]) continue;  // same rate, worse
        if (!hull.empty() && D[i] >= D[hull.back()]) continue;  // more bits, no better
        while (hull.size() >= 2) {
            const std::size_t a = hull[hull.size() - 2], b = hull.back();
            // b is above the segment a-i: drop it
            if ((D[b] - D[a]) * (R[i] - R[a]) >= (D[i] - D[a]) * (R[b] - R[a]))
                hull.pop_back();
            else
                break;
        }
        hull.push_back(i);
    }
    return hull;
}

}  // namespace

void run_plan(const PlanOptions& o) {
    set_verbosity(static_cast<Verbosity>(std::clamp(o.verbosity, -1, 1)));
    core::set_threads(o.threads);
    require(!o.input.empty(), "no calibration dump (-i)");
    require(!o.output.empty(), "no output plan (-o)");
    require(o.budget > 0, "--budget must be positive (bits per coordinate)");
    require(o.objective == "out" || o.objective == "kl" || o.objective == "model",
            "--objective must be out, kl or model");
    require(o.objective != "model" || !o.model.empty(), "--objective model needs --model");
    refuse_existing_output(o.output, o.input, o.force);

    const io::KvDumpReader dump(o.input);
    std::vector<Item> items;
    double coords = 0;
    for (const io::DatasetInfo& info : dump.datasets())
        if (info.kind == io::KvKind::k || info.kind == io::KvKind::v) {
            Item it;
            it.info = info;
            if (o.keep_first > 0 || o.keep_last > 0)
                for (const auto& s :
                     io::find_sequences(dump, info, o.settings.segment_len).tokens) {
                    const auto len = static_cast<std::int64_t>(s.size());
                    for (std::int64_t j = 0; j < len; ++j)
                        if (j < o.keep_first || j >= len - o.keep_last)
                            it.kept.push_back(s[static_cast<std::size_t>(j)]);
                }
            std::sort(it.kept.begin(), it.kept.end());
            it.window = static_cast<std::int64_t>(it.kept.size());
            coords += static_cast<double>(info.heads) * static_cast<double>(info.tokens) * info.d;
            items.push_back(it);
        }
    if (items.empty()) throw UsageError(o.input + ": no key or value datasets");
    const int d = items[0].info.d;
    for (Item& it : items) {
        if (it.info.d != d)
            throw UsageError(o.input + ": datasets of different d; plan one d at a time");
        it.weight =
            static_cast<double>(it.info.heads) * static_cast<double>(it.info.tokens) * d / coords;
    }

    // Candidates.
    io::CodebookStore store(o.codebooks);
    store.set_training([](const std::string& note) { log_info(note); });
    std::vector<Json> given;
    if (!o.candidates.empty()) {
        const io::JsonReader rd("candidates '" + o.candidates + "'", ExitCode::usage);
        const Json doc = rd.parse(io::read_text_file(o.candidates, "candidates"));
        if (!doc.is_array() || doc.empty())
            rd.fail("expected a non-empty array of SPECs or descriptions");
        for (const Json& c : doc) {
            if (!c.is_string() && !c.is_object())
                rd.fail("entries must be SPEC strings or objects");
            given.push_back(c);  // a SPEC stays a SPEC: the plan names it as written
        }
    } else {
        // Shipped codebooks by their path in the codebook directory ("d64/fib-k4-N256.json"),
        // which fq-encode resolves there: the plan stays valid where the tree moves.
        const std::string prefix = store.dir() + "/";
        for (const io::ShippedCodebook& s : store.shipped(d))
            given.push_back(
                Json{{"codec", s.family},
                     {"codebook",
                      s.path.rfind(prefix, 0) == 0 ? s.path.substr(prefix.size()) : s.path}});
        given.push_back(Json{{"codec", "float16"}});
    }
    std::vector<Candidate> cands;
    for (const Json& g : given) {
        Candidate c;
        c.desc = g;
        const Json desc = g.is_string() ? io::parse_codec_spec(g.get<std::string>(), d, store) : g;
        const io::BuiltCodec k = io::make_codec(io::with_tensor_defaults(desc, io::KvKind::k),
                                                store, "candidate " + g.dump(), ExitCode::usage, d);
        const io::BuiltCodec v = io::make_codec(io::with_tensor_defaults(desc, io::KvKind::v),
                                                store, "candidate " + g.dump(), ExitCode::usage, d);
        c.label = io::codec_label(k);
        c.k = k;
        c.v = v;
        cands.push_back(std::move(c));
    }
    const auto codec_of = [&](std::size_t c, const Item& it) {
        return it.info.kind == io::KvKind::k ? cands[c].k.head_codec() : cands[c].v.head_codec();
    };

    // The objective of an assignment (per item: a candidate index, or -1 = exact), measured on
    // `reader` (the whole dump, or one layer of it).
    std::unique_ptr<model::LlamaWeights> weights;
    ModelTokens tokens;
    if (o.objective == "model") {
        weights = std::make_unique<model::LlamaWeights>(io::load_model(o.model));
        tokens = model_tokens(o.input, "", "", o.settings.segment_len, *weights);
        if (weights->config.n_layers != static_cast<int>(items.size() / 2))
            throw UsageError(o.model + ": " + std::to_string(weights->config.n_layers) +
                             " layers, the dump has " + std::to_string(items.size() / 2));
    }
    const auto objective = [&](const io::KvDumpReader& reader, const std::vector<int>& assign) {
        if (weights) {
            std::vector<std::array<codecs::HeadCodec, 2>> per_layer(
                static_cast<std::size_t>(weights->config.n_layers));
            for (std::size_t i = 0; i < items.size(); ++i)
                if (assign[i] >= 0 && items[i].info.layer >= 0 &&
                    items[i].info.layer < weights->config.n_layers)
                    per_layer[static_cast<std::size_t>(items[i].info.layer)]
                             [items[i].info.kind == io::KvKind::k ? 0 : 1] =
                                 codec_of(static_cast<std::size_t>(assign[i]), items[i]);
            return compare_on_model(*weights, tokens, per_layer, o.keep_first, o.keep_last)["kl"]
                .get<double>();
        }
        const DecodeFn decode = [&](const io::DatasetInfo& info, const std::vector<float>& x) {
            for (std::size_t i = 0; i < items.size(); ++i)
                if (items[i].info.path == info.path && assign[i] >= 0) {
                    // Centred on the tokens outside the window; the window is stored exactly
                    // in float16, as fq-encode does.
                    const auto T = static_cast<std::size_t>(info.tokens),
                               dd = static_cast<std::size_t>(info.d);
                    std::vector<float> y(x.size());
                    codecs::round_trip_heads(
                        codec_of(static_cast<std::size_t>(assign[i]), items[i]), x.data(),
                        static_cast<std::size_t>(info.heads), T, y.data(), &items[i].kept);
                    for (std::size_t h = 0; h < static_cast<std::size_t>(info.heads); ++h)
                        for (std::int64_t t : items[i].kept)
                            for (std::size_t j = 0; j < dd; ++j) {
                                const std::size_t at =
                                    (h * T + static_cast<std::size_t>(t)) * dd + j;
                                y[at] = core::half_to_float(core::float_to_half(x[at]));
                            }
                    return y;
                }
            return x;
        };
        CodecLabel label;
        const DumpEvaluation ev = evaluate_dump(reader, decode, label, o.settings);
        return o.objective == "out" ? 1.0 - ev.table.real(2, "out_cos") : ev.table.real(2, "kl");
    };

    // 1. Measure each (item, candidate) alone, on the item's layer only (model: whole model).
    const std::size_t n = items.size(), m = cands.size();
    std::vector<std::vector<double>> R(n, std::vector<double>(m)), D(n, std::vector<double>(m));
    ProgressBar bar;
    for (std::size_t i = 0; i < n; ++i) {
        io::KvDumpLayout layout;
        for (const io::DatasetInfo& info : dump.datasets())
            if (info.layer == items[i].info.layer) layout.select.push_back(info.path);
        const io::KvDumpReader layer(o.input, layout);
        for (std::size_t c = 0; c < m; ++c) {
            std::vector<int> assign(n, -1);
            assign[i] = static_cast<int>(c);
            R[i][c] = item_rate(items[i], codec_of(c, items[i]));
            D[i][c] = std::max(0.0, objective(weights ? dump : layer, assign));
            bar.update("measuring",
                       static_cast<double>(i * m + c + 1) / static_cast<double>(n * m));
        }
    }
    bar.finish();

    // 2. Allocate: lowest hull points, then steepest descent per bit that fits.
    const auto total_rate = [&](const std::vector<int>& a) {
        double r = 0;
        for (std::size_t i = 0; i < n; ++i)
            r += items[i].weight * R[i][static_cast<std::size_t>(a[i])];
        return r;
    };
    const auto predicted = [&](const std::vector<int>& a) {
        double s = 0;
        for (std::size_t i = 0; i < n; ++i) s += D[i][static_cast<std::size_t>(a[i])];
        return s;
    };
    std::vector<std::vector<std::size_t>> hull(n);
    std::vector<std::size_t> pos(n, 0);
    std::vector<int> plan(n);
    for (std::size_t i = 0; i < n; ++i) {
        hull[i] = lower_hull(R[i], D[i]);
        plan[i] = static_cast<int>(hull[i][0]);
    }
    const double eps = 1e-12;
    if (total_rate(plan) > o.budget + eps) {
        std::ostringstream s;
        s << "--budget " << o.budget << " is below the lowest rate the candidates reach ("
          << total_rate(plan) << " bits per coordinate)";
        throw UsageError(s.str());
    }
    while (true) {
        std::size_t best = n;
        double best_gain = 0;
        const double used = total_rate(plan);
        for (std::size_t i = 0; i < n; ++i) {
            if (pos[i] + 1 >= hull[i].size()) continue;
            const std::size_t a = hull[i][pos[i]], b = hull[i][pos[i] + 1];
            const double dr = items[i].weight * (R[i][b] - R[i][a]);
            if (used + dr > o.budget + eps) continue;
            const double gain = (D[i][a] - D[i][b]) / dr;
            if (gain > best_gain) best_gain = gain, best = i;
        }
        if (best == n) break;
        plan[best] = static_cast<int>(hull[best][++pos[best]]);
    }
    for (bool improved = true; improved;) {  // single swaps to any candidate that fit
        improved = false;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t c = 0; c < m; ++c) {
                std::vector<int> t = plan;
                t[i] = static_cast<int>(c);
                if (total_rate(t) <= o.budget + eps && predicted(t) < predicted(plan) - 1e-15) {
                    plan = t;
                    improved = true;
                }
            }
    }

    // 3. Check jointly against every uniform codec within the budget.
    const double planned = objective(dump, plan);
    int best_uniform = -1;
    double uniform_value = 0;
    for (std::size_t c = 0; c < m; ++c) {
        const std::vector<int> u(n, static_cast<int>(c));
        if (total_rate(u) > o.budget + eps) continue;
        const double v = objective(dump, u);
        if (best_uniform < 0 || v < uniform_value)
            best_uniform = static_cast<int>(c), uniform_value = v;
    }
    bool fell_back = false;
    if (best_uniform >= 0 && uniform_value < planned) {
        plan.assign(n, best_uniform);
        fell_back = true;
    }
    const double measured = fell_back ? uniform_value : planned;

    // The plan (an fq-encode config) and the report.
    Json config = Json::object();
    config["comment"] = "fq-eval plan: budget " + io::format_real(o.budget, 6) +
                        " bits per coordinate, objective " + o.objective + ", calibrated on " +
                        o.input + ". Evaluate on other tokens.";
    Json rules = Json::array();
    Json choice = Json::array();
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<std::size_t>(plan[i]);
        const std::string t = items[i].info.kind == io::KvKind::k ? "k" : "v";
        rules.push_back({{"datasets", items[i].info.path}, {t, cands[c].desc}});
        choice.push_back({{"dataset", items[i].info.path},
                          {"layer", items[i].info.layer},
                          {"tensor", t},
                          {"codec", cands[c].label},
                          {"rate", R[i][c]},
                          {"predicted", D[i][c]}});
    }
    config["layers"] = rules;
    if (o.keep_first > 0) config["keep_first"] = o.keep_first;
    if (o.keep_last > 0) config["keep_last"] = o.keep_last;
    io::write_text_file(o.output, io::dump_readable(config) + "\n", o.force);

    Json r = Json::object();
    r["tool"] = "fq-eval plan";
    r["version"] = FQ_VERSION;
    r["input"] = o.input;
    r["budget"] = o.budget;
    r["objective"] = o.objective == "out"  ? "1 - attention-output cosine"
                     : o.objective == "kl" ? "attention KL"
                                           : "model logit KL";
    r["candidates"] = m;
    r["total_rate"] = total_rate(plan);
    r["predicted"] = predicted(plan);
    r["measured"] = measured;
    r["uniform"] = best_uniform >= 0
                       ? Json{{"codec", cands[static_cast<std::size_t>(best_uniform)].label},
                              {"rate", total_rate(std::vector<int>(n, best_uniform))},
                              {"measured", uniform_value}}
                       : Json(nullptr);
    r["fell_back_to_uniform"] = fell_back;
    r["choice"] = choice;
    r["note"] =
        "measured on the calibration tokens: evaluate the plan on other tokens (fq-encode "
        "--config, then fq-eval)";
    if (!o.json.empty()) io::write_output(o.json, io::dump_readable(r) + "\n");
    if (o.json == "-") return;
    std::ostringstream s;
    s << "fq-eval plan: " << o.input << " -> " << o.output << " (budget " << o.budget
      << " bits/coord, objective " << r["objective"].get<std::string>() << ", " << m
      << " candidates)\n";
    for (const Json& c : choice)
        s << "  " << c["dataset"].get<std::string>() << "  " << c["codec"].get<std::string>()
          << "  " << io::format_real(c["rate"].get<double>(), 5) << " bits  predicted "
          << io::format_real(c["predicted"].get<double>(), 4) << "\n";
    s << "total " << io::format_real(total_rate(plan), 6) << " bits/coord; measured "
      << io::format_real(measured, 5);
    if (best_uniform >= 0)
        s << " (best uniform within the budget: "
          << cands[static_cast<std::size_t>(best_uniform)].label << ", "
          << io::format_real(uniform_value, 5)
          << (fell_back ? "; the plan is that uniform codec" : "") << ")";
    s << "\nmeasured on the calibration tokens: evaluate on other tokens\n";
    std::cout << s.str() << std::flush;
}

}  // namespace fq::tasks

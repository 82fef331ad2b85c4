// run_sweep: rate-distortion sweep of codec configurations on one dump, coded in memory.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/plot.hpp"
#include "fq/metrics/fidelity.hpp"
#include "fq/tasks/eval.hpp"
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
                    rd.fail("'codecs' entries must be short-form strings or description objects");
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

std::string codec_label(const io::BuiltCodec& b) {
    const auto& spec = b.codebook.spec;
    std::string name;
    if (b.codebook.family == "scalar") {
        int bits = 0;
        while ((1 << bits) < spec.main.N) ++bits;
        name = "scalar-b" + std::to_string(bits);
    } else {
        name = b.codebook.family + "-k" + std::to_string(spec.main.k) + "-N" +
               std::to_string(spec.main.N);
    }
    if (b.description.value("header", "norm") == "gain") name += "-gain";
    if (b.description.value("header_type", "float16") == "float32") name += "-h32";
    return name;
}

// In-memory round trip through codec (parallel over vectors).
std::vector<float> round_trip(const codecs::Codec& codec, const std::vector<float>& x) {
    const std::size_t d = static_cast<std::size_t>(codec.dim());
    const std::size_t n = x.size() / d;
    const std::size_t cb = codec.code_bytes();
    std::vector<std::uint8_t> codes(n * cb);
    std::vector<float> y(x.size());
    core::parallel_chunks(n, 1024, [&](std::size_t, std::size_t b, std::size_t e) {
        codec.encode(x.data() + b * d, e - b, codes.data() + b * cb);
        codec.decode(codes.data() + b * cb, e - b, y.data() + b * d);
    });
    return y;
}

std::string html_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '<')
            o += "&lt;";
        else if (c == '>')
            o += "&gt;";
        else if (c == '&')
            o += "&amp;";
        else
            o += c;
    }
    return o;
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

    const io::KvDumpReader dump(opts.input);
    int d = 0;
    for (const auto& info : dump.datasets())
        if (info.kind == io::KvKind::k) d = info.d;
    if (d == 0) throw UsageError(opts.input + ": no key datasets");

    // The codec list, deduplicated by stored description (codebook hash + header).
    io::CodebookStore store(opts.codebooks);
    std::vector<io::BuiltCodec> built;
    std::set<std::string> seen;
    const auto add = [&](const OJson& desc, const std::string& context) {
        io::BuiltCodec b = io::make_codec(desc, store, context);
        if (b.codec->dim() != d)
            throw UsageError(context + ": codebook dimension " + std::to_string(b.codec->dim()) +
                             " does not match the dump's d = " + std::to_string(d));
        if (seen.insert(b.description.dump()).second) built.push_back(std::move(b));
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
        if (e.is_string()) {
            const std::string spec = substitute_d(e.get<std::string>(), d);
            add(io::parse_codec_spec(spec, d, store, cfg.header, cfg.header_type), spec);
        } else {
            OJson desc = e;
            if (desc.contains("codebook") && desc["codebook"].is_string())
                desc["codebook"] = substitute_d(desc["codebook"].get<std::string>(), d);
            add(desc, "sweep config codec " + e.dump());
        }
    }
    if (built.empty()) throw UsageError(opts.config + ": no codecs to evaluate");

    fs::create_directories(opts.output);
    io::Table rd;
    rd.columns = eval_columns();
    rd.columns.push_back("pareto");
    OJson descriptions = OJson::array();
    bool queries_in_dump = true;
    std::size_t positions = 0;
    {
        ProgressBar bar;
        for (std::size_t i = 0; i < built.size(); ++i) {
            const io::BuiltCodec& b = built[i];
            CodecLabel label;
            label.name = codec_label(b);
            label.family = b.codebook.family;
            label.description = b.description;
            bar.update("sweep " + label.name, static_cast<double>(i) / built.size());
            log_verbose("evaluating " + label.name);
            const codecs::Codec& codec = *b.codec;
            RateInfo rate;
            rate.nominal_bits = codec.rate();
            rate.achieved_bits = 8.0 * static_cast<double>(codec.code_bytes()) / d;
            rate.padding_bits = rate.achieved_bits - rate.nominal_bits;
            std::map<std::string, double> bytes;
            const DecodeFn decode = [&](const io::DatasetInfo& info, const std::vector<float>& x) {
                bytes[to_string(info.kind)] +=
                    static_cast<double>(x.size() / d) * static_cast<double>(codec.code_bytes());
                return round_trip(codec, x);
            };
            label.k = rate;
            label.v = rate;
            DumpEvaluation ev = evaluate_dump(dump, decode, label, settings);
            const std::string why = io::refusal_reason(claim_of(ev, label));
            if (!why.empty()) throw CorruptError(label.name + ": refusing to report: " + why);
            queries_in_dump = ev.queries_in_dump;
            positions = ev.positions;
            for (std::size_t r = 0; r < 3; ++r) {
                auto row = ev.table.rows[r];
                row.emplace_back(std::monostate{});
                rd.rows.push_back(std::move(row));
            }
            OJson dj = {{"codec", label.name}, {"description", b.description}};
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
                if (best < 0 || rd.real(r, "compression_ratio") >
                                    rd.real(static_cast<std::size_t>(best), "compression_ratio"))
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
    j["positions"] = {{"stride", settings.stride}, {"last", settings.last}, {"count", positions}};
    j["codecs"] = descriptions;
    j["frontier"] = frontier;
    j["rows"] = io::to_json(rd);
    io::write_output((dir / "rd.json").string(), io::dump_readable(j) + "\n");

    // Plots: one series per family (K and V separately where the metric is per tensor).
    const std::string ext = "." + opts.format;
    const auto series_by = [&](const std::string& tensor, const char* xcol, const char* ycol,
                               const std::string& suffix) {
        std::map<std::string, io::Series> m;
        for (std::size_t r = 0; r < rd.rows.size(); ++r) {
            if (rd.text(r, "tensor") != tensor) continue;
            const std::string fam = rd.text(r, "family");
            auto& s = m[fam];
            s.title = fam + suffix;
            s.x.push_back(rd.real(r, xcol));
            s.y.push_back(rd.real(r, ycol));
        }
        std::vector<io::Series> out;
        for (auto& [fam, s] : m) {
            std::vector<std::size_t> idx(s.x.size());
            for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
            std::sort(idx.begin(), idx.end(), [&](auto a, auto b) { return s.x[a] < s.x[b]; });
            io::Series t = s;
            for (std::size_t i = 0; i < idx.size(); ++i) t.x[i] = s.x[idx[i]], t.y[i] = s.y[idx[i]];
            out.push_back(t);
        }
        return out;
    };
    std::vector<std::pair<std::string, std::string>> images;  // file, caption
    const std::string where = fs::path(opts.input).filename().string();
    {
        io::Plot p;
        p.title = "Attention-output cosine vs compression (" + where + ")";
        p.xlabel = "compression ratio vs float16 (headers included)";
        p.ylabel = "attention-output cosine cos(o, o_hat), mean over queries";
        p.logx = true;
        p.key = "bottom left";
        p.series = series_by("attn", "compression_ratio", "out_cos", "");
        io::Series front;
        front.title = "Pareto frontier";
        front.style = io::SeriesStyle::line;
        front.color = "#000000";
        std::vector<std::pair<double, double>> pts;
        std::vector<std::string> labels;
        for (auto r : attn)
            if (rd.real(r, "pareto") == 1)
                pts.emplace_back(rd.real(r, "compression_ratio"), rd.real(r, "out_cos"));
        std::sort(pts.begin(), pts.end());
        for (auto [x, y] : pts) front.x.push_back(x), front.y.push_back(y);
        for (double x : front.x)
            for (auto r : attn)
                if (rd.real(r, "pareto") == 1 && rd.real(r, "compression_ratio") == x) {
                    front.labels.push_back(rd.text(r, "codec"));
                    break;
                }
        if (front.labels.size() != front.x.size()) front.labels.clear();
        p.series.push_back(front);
        const std::string f = "out_cos_vs_ratio" + ext;
        io::render_plot(p, (dir / f).string());
        images.emplace_back(f,
                            "Attention-output cosine against compression ratio; the dashed "
                            "black line joins the Pareto-optimal configurations.");
    }
    {
        io::Plot p;
        p.title = "Attention KL vs rate (" + where + ")";
        p.xlabel = "bits per coordinate (headers included)";
        p.ylabel = "KL(p || p_hat), nats, mean over queries";
        p.logy = true;
        p.series = series_by("attn", "achieved_bits", "kl", "");
        const std::string f = "kl_vs_bits" + ext;
        io::render_plot(p, (dir / f).string());
        images.emplace_back(f,
                            "Causal attention KL divergence against rate (K and V coded with "
                            "the same configuration).");
    }
    {
        io::Plot p;
        p.title = "MSE vs rate (" + where + ")";
        p.xlabel = "bits per coordinate (headers included)";
        p.ylabel = "MSE per coordinate";
        p.logy = true;
        p.series = series_by("k", "achieved_bits", "mse", " K");
        for (auto& s : series_by("v", "achieved_bits", "mse", " V")) p.series.push_back(s);
        const std::string f = "mse_vs_bits" + ext;
        io::render_plot(p, (dir / f).string());
        images.emplace_back(f, "Mean squared error per coordinate of keys and values.");
    }
    {
        io::Plot p;
        p.title = "Normalised MSE vs rate (" + where + ")";
        p.xlabel = "bits per coordinate (headers included)";
        p.ylabel = "normalised MSE ||x - x_hat||^2 / ||x||^2";
        p.logy = true;
        p.series = series_by("k", "achieved_bits", "nmse", " K");
        for (auto& s : series_by("v", "achieved_bits", "nmse", " V")) p.series.push_back(s);
        io::Series bound;
        bound.title = "Shannon bound 4^-b";
        bound.style = io::SeriesStyle::line;
        bound.color = "#000000";
        double lo = 1e9, hi = 0;
        for (const auto& s : p.series)
            for (double x : s.x) lo = std::min(lo, x), hi = std::max(hi, x);
        for (int i = 0; i <= 40 && hi > lo; ++i) {
            const double b = lo + (hi - lo) * i / 40.0;
            bound.x.push_back(b);
            bound.y.push_back(metrics::shannon_bound(b));
        }
        if (!bound.x.empty()) p.series.push_back(bound);
        const std::string f = "nmse_vs_bits" + ext;
        io::render_plot(p, (dir / f).string());
        images.emplace_back(f,
                            "Normalised MSE against rate with the Shannon bound 4^-b of the "
                            "unit sphere.");
    }

    // index.html: plots, frontier, table.
    std::ostringstream h;
    h << "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>fq-eval sweep: "
      << html_escape(where) << "</title>\n<style>body{font-family:sans-serif;max-width:1000px;"
      << "margin:auto}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;"
      << "padding:2px 6px;text-align:right}img{max-width:100%}</style></head><body>\n";
    h << "<h1>Rate-distortion sweep of " << html_escape(opts.input) << "</h1>\n";
    h << "<p>d = " << d << "; queries: "
      << (queries_in_dump ? "from the dump (GQA mapped)" : "NOT in the dump: keys used as queries")
      << "; " << positions << " query positions per head. K and V are coded with the same "
      << "configuration. Column definitions: docs/EVAL.md.</p>\n";
    h << "<h2>Frontier</h2>\n<pre>" << html_escape(fr.str()) << "</pre>\n";
    for (const auto& [f, caption] : images)
        h << "<figure><img src=\"" << f << "\" alt=\"" << html_escape(caption) << "\"><figcaption>"
          << html_escape(caption) << "</figcaption></figure>\n";
    h << "<h2>Table</h2>\n<table><tr>";
    const std::vector<std::string> shown = {
        "codec",   "tensor", "achieved_bits", "compression_ratio",
        "mse",     "nmse",   "cos_mean",      "ip_rmse",
        "kl",      "top1",   "score_cos",     "prob_cos",
        "out_cos", "pareto"};
    for (const auto& c : shown) h << "<th>" << c << "</th>";
    h << "</tr>\n";
    for (std::size_t r = 0; r < rd.rows.size(); ++r) {
        h << "<tr>";
        for (const auto& c : shown) {
            const double x = rd.real(r, c);
            const std::string text = std::isnan(x) ? rd.text(r, c) : io::format_real(x, 4);
            h << "<td>" << html_escape(text) << "</td>";
        }
        h << "</tr>\n";
    }
    h << "</table>\n<p>Full data: <a href=\"rd.csv\">rd.csv</a>, <a href=\"rd.json\">rd.json</a>."
      << "</p>\n</body></html>\n";
    io::write_output((dir / "index.html").string(), h.str());

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

// The sweep's plots and index.html (docs/EVAL.md, "fq-eval sweep").
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <map>
#include <sstream>

#include "fq/io/plot.hpp"
#include "fq/metrics/fidelity.hpp"
#include "fq/tasks/eval.hpp"

namespace fq::tasks {

namespace {

// The smallest and largest x of a plot's series (lo > hi when there is none).
std::pair<double, double> x_range(const io::Plot& p) {
    double lo = 1e9, hi = 0;
    for (const auto& s : p.series)
        for (double x : s.x) lo = std::min(lo, x), hi = std::max(hi, x);
    return {lo, hi};
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

void write_sweep_report(const io::Table& rd, const SweepReportInfo& info) {
    namespace fs = std::filesystem;
    const fs::path dir(info.dir);
    const std::string ext = "." + info.format;
    std::vector<std::size_t> attn;  // attention rows
    for (std::size_t r = 0; r < rd.rows.size(); ++r)
        if (rd.text(r, "tensor") == "attn") attn.push_back(r);

    // Plots: one series per family (K and V separately where the metric is per tensor).
    // One curve per family: every configuration as a point, joined by a line through the
    // family's best value at each rate (max for fidelities, min for errors), one colour each.
    static const char* const k_palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                            "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
    const auto series_by = [&](const std::string& tensor, const char* xcol, const char* ycol,
                               const std::string& suffix, bool higher_better, std::size_t colour0) {
        std::map<std::string, std::map<double, std::vector<double>>> m;  // family -> x -> ys
        for (std::size_t r = 0; r < rd.rows.size(); ++r) {
            if (rd.text(r, "tensor") != tensor) continue;
            m[rd.text(r, "family")][rd.real(r, xcol)].push_back(rd.real(r, ycol));
        }
        std::vector<io::Series> out;
        std::size_t c = colour0;
        for (const auto& [fam, by_x] : m) {
            io::Series pts, line;
            pts.style = io::SeriesStyle::points;
            line.style = io::SeriesStyle::linespoints;
            pts.color = line.color = k_palette[c++ % std::size(k_palette)];
            line.title = fam + suffix;
            for (const auto& [x, ys] : by_x) {
                for (double y : ys) pts.x.push_back(x), pts.y.push_back(y);
                line.x.push_back(x);
                line.y.push_back(higher_better ? *std::max_element(ys.begin(), ys.end())
                                               : *std::min_element(ys.begin(), ys.end()));
            }
            out.push_back(pts);
            out.push_back(line);
        }
        return out;
    };
    const auto short_label = [](std::string s) {
        const std::string tail = " norm/float16";
        if (s.size() > tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0)
            s.resize(s.size() - tail.size());
        return s;
    };
    std::vector<std::pair<std::string, std::string>> images;  // file, caption
    const std::string where = fs::path(info.input).filename().string();
    {
        io::Plot p;
        p.title = "Attention-output cosine vs compression (" + where + ")";
        p.xlabel = "compression ratio vs float16 (headers included)";
        p.ylabel = "attention-output cosine cos(o, o_hat), mean over queries";
        p.logx = true;
        p.key = "bottom left";
        p.series = series_by("attn", "compression_ratio", "out_cos", "", true, 0);
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
                    front.labels.push_back(short_label(rd.text(r, "codec")));
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
        p.series = series_by("attn", "achieved_bits", "kl", "", false, 0);
        const std::string f = "kl_vs_bits" + ext;
        io::render_plot(p, (dir / f).string());
        images.emplace_back(f,
                            "Causal attention KL divergence against rate (K and V coded with "
                            "the same configuration).");
    }
    if (std::find(rd.columns.begin(), rd.columns.end(), "ppl") != rd.columns.end()) {
        // A "model" entry: the model's own predictions with the compressed cache.
        io::Plot p;
        p.title = "Model perplexity vs rate (" + where + ")";
        p.xlabel = "bits per coordinate (headers included)";
        p.ylabel = "perplexity with the compressed KV cache";
        p.logy = true;
        p.series = series_by("attn", "achieved_bits", "ppl", "", false, 0);
        io::Series base;
        base.title = "exact cache";
        base.style = io::SeriesStyle::line;
        base.color = "#000000";
        const auto [lo, hi] = x_range(p);
        if (!attn.empty() && hi > lo) {
            base.x = {lo, hi};
            base.y = {rd.real(attn.front(), "ppl_base"), rd.real(attn.front(), "ppl_base")};
            p.series.push_back(base);
        }
        std::string f = "ppl_vs_bits" + ext;
        io::render_plot(p, (dir / f).string());
        images.emplace_back(f,
                            "Perplexity of the model with every key and value through the codec "
                            "(fq-eval model), against rate; the black line is the exact cache.");
        io::Plot q;
        q.title = "Model logit KL vs rate (" + where + ")";
        q.xlabel = "bits per coordinate (headers included)";
        q.ylabel = "KL(p_exact || p_codec) of the next-token distribution, nats";
        q.logy = true;
        q.series = series_by("attn", "achieved_bits", "logit_kl", "", false, 0);
        f = "logit_kl_vs_bits" + ext;
        io::render_plot(q, (dir / f).string());
        images.emplace_back(f, "Mean logit KL divergence of the model's next-token predictions.");
    }
    {
        io::Plot p;
        p.title = "MSE vs rate (" + where + ")";
        p.xlabel = "bits per coordinate (headers included)";
        p.ylabel = "MSE per coordinate";
        p.logy = true;
        p.series = series_by("k", "achieved_bits", "mse", " K", false, 0);
        for (auto& s : series_by("v", "achieved_bits", "mse", " V", false, 4))
            p.series.push_back(s);
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
        p.series = series_by("k", "achieved_bits", "nmse", " K", false, 0);
        for (auto& s : series_by("v", "achieved_bits", "nmse", " V", false, 4))
            p.series.push_back(s);
        io::Series bound;
        bound.title = "Shannon bound 4^-b";
        bound.style = io::SeriesStyle::line;
        bound.color = "#000000";
        const auto [lo, hi] = x_range(p);
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
    h << "<h1>Rate-distortion sweep of " << html_escape(info.input) << "</h1>\n";
    h << "<p>d = " << info.d << "; queries: "
      << (info.queries_in_dump ? "from the dump (GQA mapped)"
                               : "NOT in the dump: keys used as queries")
      << "; " << info.positions << " query positions per head. K and V are coded with the same "
      << "configuration. Column definitions: docs/EVAL.md.</p>\n";
    h << "<h2>Frontier</h2>\n<pre>" << html_escape(info.frontier_text) << "</pre>\n";
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
}

}  // namespace fq::tasks

#include "fq/io/plot.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fq/core/error.hpp"

namespace fq::io {

namespace {

// A string as a gnuplot single-quoted literal ('' stands for ').
std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'') q += '\'';
        q += c;
    }
    return q + "'";
}

// Label text safe inside a here-document data line: no spaces, no quotes.
std::string label_token(const std::string& s) {
    std::string t;
    for (char c : s) t += (c == ' ' || c == '"' || c == '\'' || c == '\t') ? '_' : c;
    return t.empty() ? "_" : t;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string gnuplot_script(const Plot& plot, const std::string& image_path) {
    std::ostringstream g;
    g << "# fq-eval plot: run `gnuplot <this file>` to redraw\n";
    if (ends_with(image_path, ".png"))
        g << "set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'\n";
    else if (ends_with(image_path, ".svg"))
        g << "set terminal svg size 900,600 enhanced font 'DejaVu Sans,11' background '#ffffff'\n";
    else
        throw UsageError("plot '" + image_path + "': extension must be .png or .svg");
    g << "set output " << quote(image_path) << "\n";
    g << "set title " << quote(plot.title) << " noenhanced\n";
    g << "set xlabel " << quote(plot.xlabel) << " noenhanced\n";
    g << "set ylabel " << quote(plot.ylabel) << " noenhanced\n";
    g << "set grid xtics ytics mxtics mytics lc rgb '#cccccc'\n";
    g << "set key " << plot.key << " box opaque noenhanced\n";
    if (plot.logx) g << "set logscale x\n";
    if (plot.logy) g << "set logscale y\nset format y '10^{%L}'\n";
    g << "set datafile missing 'NaN'\n";
    g << "set offsets graph 0.03, graph 0.03, 0, 0\n";  // no point on the frame

    std::size_t drawn = 0;
    std::vector<std::string> plots;
    for (std::size_t i = 0; i < plot.series.size(); ++i) {
        const Series& s = plot.series[i];
        const bool labelled = !s.labels.empty() && s.labels.size() == s.x.size();
        std::ostringstream block;
        std::size_t n = 0;
        for (std::size_t j = 0; j < s.x.size() && j < s.y.size(); ++j) {
            const double x = s.x[j], y = s.y[j];
            if (!std::isfinite(x) || !std::isfinite(y)) continue;
            if ((plot.logx && x <= 0) || (plot.logy && y <= 0)) continue;
            char buf[96];
            std::snprintf(buf, sizeof buf, "%.10g %.10g", x, y);
            block << buf;
            if (labelled) block << " " << label_token(s.labels[j]);
            block << "\n";
            ++n;
        }
        if (n == 0) continue;
        ++drawn;
        const std::string name = "$s" + std::to_string(i);
        g << name << " << EOD\n" << block.str() << "EOD\n";
        std::string with;
        switch (s.style) {
            case SeriesStyle::linespoints:
                with = "linespoints pt 7 ps 1.1 lw 2";
                break;
            case SeriesStyle::points:
                with = "points pt 7 ps 1.3";
                break;
            case SeriesStyle::line:
                with = "lines lw 2 dt 2";
                break;
            case SeriesStyle::steps:
                with = "lines lw 1.5 dt 3";
                break;
        }
        std::string color = s.color.empty() ? "" : " lc rgb " + quote(s.color);
        plots.push_back(name + " using 1:2 with " + with + color +
                        (s.title.empty() ? std::string(" notitle") : " title " + quote(s.title)));
        if (labelled)
            plots.push_back(name + " using 1:2:3 with labels offset 0.6,0.6 font ',8' " +
                            "noenhanced notitle" + color);
    }
    if (drawn == 0) throw UsageError("plot '" + image_path + "': nothing to draw");
    g << "plot ";
    for (std::size_t i = 0; i < plots.size(); ++i) g << (i ? ", \\\n     " : "") << plots[i];
    g << "\nunset output\n";
    return g.str();
}

bool gnuplot_available() {
    return std::system("command -v gnuplot > /dev/null 2>&1") == 0;
}

void render_plot(const Plot& plot, const std::string& image_path) {
    namespace fs = std::filesystem;
    const fs::path image(image_path);
    const std::string ext = image.extension().string();
    fs::path tmp_image = image;
    tmp_image.replace_filename(image.stem().string() + ".tmp-fq" + ext);
    // The saved script names the final image; the one run here writes the temporary name.
    const std::string script = gnuplot_script(plot, image_path);
    const std::string run_script = gnuplot_script(plot, tmp_image.string());
    const std::string gp = image_path + ".gp";
    const std::string run_gp = tmp_image.string() + ".gp";
    const std::string log = image_path + ".log";
    for (const auto& [path, text] : {std::pair{gp, script}, std::pair{run_gp, run_script}}) {
        std::ofstream f(path, std::ios::trunc);
        f << text;
        if (!f) throw IoError(path + ": cannot write");
    }
    if (!gnuplot_available()) {
        fs::remove(run_gp);
        throw IoError(image_path + ": gnuplot not found (install gnuplot-nox)");
    }
    const auto sh = [](const std::string& s) {
        std::string q = "'";
        for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
        return q + "'";
    };
    const int rc = std::system(("gnuplot " + sh(run_gp) + " 2> " + sh(log)).c_str());
    std::error_code ec;
    fs::remove(run_gp, ec);
    if (rc != 0 || !fs::exists(tmp_image) || fs::file_size(tmp_image) == 0) {
        fs::remove(tmp_image, ec);
        throw IoError(image_path + ": gnuplot failed (see " + log + ")");
    }
    fs::remove(log, ec);
    fs::rename(tmp_image, image, ec);
    if (ec) throw IoError(image_path + ": cannot rename into place");
}

}  // namespace fq::io

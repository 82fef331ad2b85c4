// Plots of fq-eval reports, drawn by gnuplot (Debian gnuplot-nox; scripts/install-deps.sh).
//
// A Plot is a list of series of (x, y) points with a title, axis labels (with units) and
// optional log axes. render_plot writes a self-contained gnuplot script (data inline as
// here-documents, so the script alone reproduces the figure) next to the image as
// <image>.gp, and runs `gnuplot` on it. The image type follows the extension: ".png"
// (pngcairo terminal, 900x600) or ".svg" (svg terminal). The image is written under a
// temporary name and renamed into place.
#pragma once

#include <string>
#include <vector>

namespace fq::io {

enum class SeriesStyle {
    linespoints,  // points joined in the given order
    points,       // points only
    line,         // a line without points (bounds, frontiers)
    steps,        // a staircase (Pareto frontiers)
};

struct Series {
    std::string title;      // legend entry ("" = none)
    std::vector<double> x;  // x values
    std::vector<double> y;  // y values, same length; non-finite and (log axes) <= 0 points
                            // are left out
    SeriesStyle style = SeriesStyle::linespoints;
    std::vector<std::string> labels;  // optional point labels (empty or one per point)
    std::string color;                // "" = gnuplot's cycle, else e.g. "#000000"
};

struct Plot {
    std::string title;
    std::string xlabel;  // with units, e.g. "bits per coordinate (headers included)"
    std::string ylabel;
    bool logx = false;
    bool logy = false;
    std::string key = "top right";  // gnuplot legend placement
    std::vector<Series> series;
};

// The gnuplot script drawing plot into image_path (terminal chosen by its extension).
// UsageError if the extension is neither .png nor .svg or every series is empty.
std::string gnuplot_script(const Plot& plot, const std::string& image_path);

// True if a gnuplot executable is found on PATH.
bool gnuplot_available();

// Writes <image_path>.gp and renders image_path with gnuplot. IoError if gnuplot is missing
// or fails (its stderr is kept in <image_path>.log).
void render_plot(const Plot& plot, const std::string& image_path);

}  // namespace fq::io

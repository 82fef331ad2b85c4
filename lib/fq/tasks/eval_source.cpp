// run_eval_source: shipped codebooks on fresh samples of the spherical-Beta source
// (seed 000's Figure 3).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "fq/codecs/scalar.hpp"
#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/plot.hpp"
#include "fq/io/tcq_file.hpp"
#include "fq/metrics/fidelity.hpp"
#include "fq/source/spherical_beta.hpp"
#include "fq/tasks/eval.hpp"
#include "fq/tasks/run_main.hpp"
#include "fq/train/lloyd.hpp"
#include "fq/train/tcq_train.hpp"

namespace fq::tasks {

namespace {

constexpr std::size_t k_batches = 16;  // batch means for the standard error

struct BlockDistortion {
    double mean = 0;
    double se = 0;
};

// The mean of the batch means and its standard error.
BlockDistortion batch_means(const std::vector<double>& means) {
    double m = 0;
    for (double x : means) m += x;
    m /= static_cast<double>(means.size());
    double s2 = 0;
    for (double x : means) s2 += (x - m) * (x - m);
    s2 /= static_cast<double>(means.size() - 1);
    return {m, std::sqrt(s2 / static_cast<double>(means.size()))};
}

// Mean distortion of cb on n fresh samples of f_{d, cb.k}, with a batch-means standard
// error. Samples are drawn per batch (seed, batch) so memory stays at one batch.
BlockDistortion block_distortion(const codecs::BlockCodebook& cb, int d, std::size_t n,
                                 std::uint64_t seed) {
    const std::size_t per = std::max<std::size_t>(1, n / k_batches);
    std::vector<double> means;
    for (std::size_t b = 0; b < k_batches; ++b) {
        const auto y = source::sample(d, cb.k, per, seed * 1000003ULL + b);
        means.push_back(train::mean_distortion(cb, y.data(), per));
    }
    return batch_means(means);
}

SourceRow evaluate_codebook(const io::UniversalCodebook& cb, const std::string& path,
                            const SourceEvalOptions& opts) {
    SourceRow r;
    r.family = cb.family;
    r.path = path;
    r.d = cb.spec.d;
    r.k = cb.spec.main.k;
    r.N = cb.spec.main.N;
    r.tail_k = cb.spec.tail.N > 0 ? cb.spec.tail.k : 0;
    r.tail_N = cb.spec.tail.N;
    r.bits = io::codebook_rate(cb.spec);
    if (cb.family == "scalar") {
        int b = 0;
        while ((1 << b) < r.N) ++b;
        r.name = "scalar-b" + std::to_string(b);
    } else {
        r.name = cb.family + "-k" + std::to_string(r.k) + "-N" + std::to_string(r.N);
    }
    const int blocks = r.d / r.k;
    // Common random numbers: every codebook with the same k sees the same samples.
    const auto main = block_distortion(cb.spec.main, r.d, opts.samples,
                                       opts.seed * 131ULL + static_cast<std::uint64_t>(r.k));
    BlockDistortion tail;
    if (r.tail_N > 0)
        tail =
            block_distortion(cb.spec.tail, r.d, opts.samples,
                             opts.seed * 131ULL + 65536ULL + static_cast<std::uint64_t>(r.tail_k));
    r.total_mse = blocks * main.mean + tail.mean;
    r.total_mse_se = std::sqrt(blocks * blocks * main.se * main.se + tail.se * tail.se);
    r.shannon = metrics::shannon_bound(r.bits);
    r.db_above = metrics::db_above_shannon(r.total_mse, r.bits);
    r.file_val_total_mse = cb.val_total_mse;
    return r;
}

// A tcq trellis on fresh source vectors (batch means): the codec's own search.
SourceRow evaluate_tcq(const io::TcqCodebookFile& f, const std::string& path,
                       const SourceEvalOptions& opts) {
    SourceRow r;
    r.family = "tcq";
    r.path = path;
    r.d = f.d;
    r.k = f.trellis.V;
    r.N = static_cast<int>(f.trellis.states());
    r.bits = f.rate();
    r.name = std::filesystem::path(path).stem().string();
    // One vector codes d numbers: as many numbers as the block codebooks' samples / 32.
    const std::size_t per = std::max<std::size_t>(64, opts.samples / 32 / k_batches);
    std::vector<double> means;
    for (std::size_t b = 0; b < k_batches; ++b)
        means.push_back(train::tcq_distortion(
            f.trellis, f.d, train::tcq_source_samples(f.d, per, opts.seed * 1000003ULL + b, 77)));
    const BlockDistortion bm = batch_means(means);
    r.total_mse = bm.mean;
    r.total_mse_se = bm.se;
    r.shannon = metrics::shannon_bound(r.bits);
    r.db_above = metrics::db_above_shannon(r.total_mse, r.bits);
    r.file_val_total_mse = f.val_mse;
    return r;
}

int family_rank(const std::string& f) {
    return f == "scalar" ? 0 : f == "fib" ? 1 : 2;
}

}  // namespace

std::vector<SourceRow> evaluate_source(const SourceEvalOptions& opts) {
    require(opts.d >= 3, "d must be >= 3");
    require(opts.samples >= 2 * k_batches, "samples must be >= 32");
    io::CodebookStore store(opts.codebooks);
    std::vector<SourceRow> rows;
    std::map<int, bool> scalar_done;
    const auto shipped = store.shipped(opts.d);
    ProgressBar bar;
    std::size_t done = 0;
    const std::size_t total = shipped.size() + 4;
    for (const auto& s : shipped) {
        bar.update("source d=" + std::to_string(opts.d), static_cast<double>(done++) / total);
        const io::UniversalCodebook cb = store.resolve(s.path);
        if (cb.spec.d != opts.d) continue;
        rows.push_back(evaluate_codebook(cb, s.path, opts));
        if (cb.family == "scalar") scalar_done[cb.spec.main.N] = true;
        log_verbose(rows.back().name + ": total MSE " + io::format_real(rows.back().total_mse, 5));
    }
    // Scalar b = 1..4 always appear: computed exactly when not shipped.
    for (int b = 1; b <= 4; ++b) {
        bar.update("source d=" + std::to_string(opts.d), static_cast<double>(done++) / total);
        if (scalar_done[1 << b]) continue;
        const auto q = codecs::lloyd_max_scalar(opts.d, b);
        io::UniversalCodebook cb = io::make_scalar_codebook(q, 1e-12, core::RotationKind::haar, 1);
        rows.push_back(evaluate_codebook(cb, "", opts));
    }
    // The shipped tcq trellises of d (codebooks/d<d>/tcq-*.json).
    std::vector<std::filesystem::path> tcq_files;
    std::error_code ec;
    const std::filesystem::path sub =
        std::filesystem::path(store.dir()) / ("d" + std::to_string(opts.d));
    if (std::filesystem::is_directory(sub, ec))
        for (const auto& e : std::filesystem::directory_iterator(sub, ec))
            if (e.path().filename().string().rfind("tcq-", 0) == 0) tcq_files.push_back(e.path());
    std::sort(tcq_files.begin(), tcq_files.end());
    for (const auto& p : tcq_files) {
        bar.update("source d=" + std::to_string(opts.d) + " tcq", 1.0);
        const io::TcqCodebookFile f = io::load_tcq(p.string());
        if (f.d != opts.d) continue;
        rows.push_back(evaluate_tcq(f, p.string(), opts));
    }
    bar.finish();
    std::sort(rows.begin(), rows.end(), [](const SourceRow& a, const SourceRow& b) {
        if (a.family != b.family) return family_rank(a.family) < family_rank(b.family);
        if (a.k != b.k) return a.k < b.k;
        return a.bits < b.bits;
    });
    return rows;
}

io::Table source_table(const std::vector<SourceRow>& rows) {
    io::Table t;
    t.columns = {"codebook",
                 "family",
                 "d",
                 "k",
                 "N",
                 "tail_k",
                 "tail_N",
                 "bits",
                 "total_mse",
                 "total_mse_se",
                 "shannon_bound",
                 "db_above_shannon",
                 "file_total_mse",
                 "path"};
    for (const auto& r : rows) {
        auto& c = t.add_row();
        c = {r.name,
             r.family,
             std::int64_t{r.d},
             std::int64_t{r.k},
             std::int64_t{r.N},
             std::int64_t{r.tail_k},
             std::int64_t{r.tail_N},
             r.bits,
             r.total_mse,
             r.total_mse_se,
             r.shannon,
             r.db_above,
             r.file_val_total_mse,
             r.path};
    }
    return t;
}

void run_eval_source(const SourceEvalOptions& opts) {
    set_verbosity(static_cast<Verbosity>(std::clamp(opts.verbosity, -1, 1)));
    core::set_threads(opts.threads);
    if (opts.json == "-" && opts.csv == "-")
        throw UsageError("--json - and --csv - cannot both go to stdout");
    const auto rows = evaluate_source(opts);
    const io::Table t = source_table(rows);
    if (!opts.csv.empty()) io::write_output(opts.csv, io::to_csv(t));
    if (!opts.json.empty()) {
        nlohmann::ordered_json j;
        j["tool"] = "fq-eval source";
        j["version"] = FQ_VERSION;
        j["d"] = opts.d;
        j["samples"] = opts.samples;
        j["seed"] = opts.seed;
        j["definition"] =
            "total MSE per unit vector = floor(d/k) D_main + D_tail on fresh spherical-Beta "
            "samples; bits = payload bits per coordinate (no header: unit vectors); Shannon "
            "bound 4^-bits";
        j["rows"] = io::to_json(t);
        io::write_output(opts.json, io::dump_readable(j) + "\n");
    }
    if (!opts.plot.empty()) {
        io::Plot p;
        p.title = "Canonical source, d = " + std::to_string(opts.d) + ": total MSE per unit vector";
        p.xlabel = "bits per coordinate (payload)";
        p.ylabel = "total MSE per unit vector E||z - z_hat||^2";
        p.logy = true;
        p.key = "bottom left";  // the curves fall from top left to bottom right
        std::map<int, io::Series> by_k;
        double lo = 1e9, hi = 0;
        for (const auto& r : rows) {
            // scalar, fib by block dimension k, tcq by its state bits (keys 1000 + L)
            const int key = r.family == "scalar" ? 0
                            : r.family == "tcq"  ? 1000 + static_cast<int>(std::log2(r.N))
                                                 : r.k;
            auto& s = by_k[key];
            s.title = r.family == "scalar" ? "scalar (Lloyd-Max, k = 1)"
                      : r.family == "tcq"  ? "tcq L = " + std::to_string(key - 1000) + " (trellis)"
                                           : "fib k = " + std::to_string(r.k);
            s.style = r.family == "scalar" ? io::SeriesStyle::points : io::SeriesStyle::linespoints;
            // Past gnuplot's 8-colour cycle: the L = 16 trellis gets a colour of its own.
            if (key == 1016) s.color = "#e377c2";
            s.x.push_back(r.bits);
            s.y.push_back(r.total_mse);
            lo = std::min(lo, r.bits);
            hi = std::max(hi, r.bits);
        }
        io::Series bound;
        bound.title = "Shannon bound 4^-b";
        bound.style = io::SeriesStyle::line;
        bound.color = "#000000";
        for (int i = 0; i <= 50; ++i) {
            const double b = lo + (hi - lo) * i / 50.0;
            bound.x.push_back(b);
            bound.y.push_back(metrics::shannon_bound(b));
        }
        for (auto& [k, s] : by_k) {
            // tcq rows sorted by rate within the series (0.5, 1, 1.5, ...)
            std::vector<std::size_t> idx(s.x.size());
            for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
            std::sort(idx.begin(), idx.end(),
                      [&](std::size_t a, std::size_t b) { return s.x[a] < s.x[b]; });
            io::Series sorted = s;
            for (std::size_t i = 0; i < idx.size(); ++i) {
                sorted.x[i] = s.x[idx[i]];
                sorted.y[i] = s.y[idx[i]];
            }
            p.series.push_back(sorted);
        }
        // Reference: QuIP#'s 8-dimensional E8P lattice codebook, 1.65 dB above at 2 bits.
        if (lo <= 2.0 && hi >= 2.0) {
            io::Series e8p;
            e8p.title = "E8P lattice (QuIP#): 1.65 dB above at 2 bits";
            e8p.style = io::SeriesStyle::points;
            e8p.color = "#8c564b";
            e8p.x.push_back(2.0);
            e8p.y.push_back(metrics::shannon_bound(2.0) * std::pow(10.0, 1.65 / 10.0));
            p.series.push_back(e8p);
        }
        p.series.push_back(bound);
        io::render_plot(p, opts.plot);
    }
    if (opts.json != "-" && opts.csv != "-") {
        std::cout << "canonical source, d = " << opts.d << ", " << opts.samples
                  << " samples per block codebook, seed " << opts.seed << "\n";
        io::write_text(t,
                       {{"codebook", "", 4, ""},
                        {"k", "", 4, ""},
                        {"N", "", 4, ""},
                        {"bits", "bits/coord", 5, ""},
                        {"total_mse", "total MSE", 5, "total_mse_se"},
                        {"shannon_bound", "4^-b", 4, ""},
                        {"db_above_shannon", "dB above", 3, ""},
                        {"file_total_mse", "file MSE", 5, ""}},
                       std::cout);
        std::cout.flush();
    }
}

}  // namespace fq::tasks

#include "fq/tasks/train_gsrq.hpp"

#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fq/codecs/gsrq.hpp"
#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/io/gsrq_file.hpp"
#include "fq/tasks/run_main.hpp"
#include "fq/train/gskm.hpp"

namespace fq::tasks {

namespace {

using Json = nlohmann::ordered_json;

// Quality of the codec (greedy encoder) on the calibration vectors themselves.
Json calibration_quality(const codecs::GsrqCodebooks& cb, const io::CalibrationVectors& c) {
    const codecs::GsrqCodec codec(cb, 1);
    const std::size_t n = c.n, d = static_cast<std::size_t>(c.d);
    std::vector<std::uint8_t> codes(n * codec.code_bytes());
    std::vector<float> xh(c.x.size());
    core::parallel_chunks(n, 512, [&](std::size_t, std::size_t a, std::size_t b) {
        codec.encode(c.x.data() + a * d, b - a, codes.data() + a * codec.code_bytes());
        codec.decode(codes.data() + a * codec.code_bytes(), b - a, xh.data() + a * d);
    });
    double err = 0, energy = 0, cos_sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        double e = 0, xx = 0, hh = 0, xy = 0;
        for (std::size_t j = 0; j < d; ++j) {
            const double a = c.x[i * d + j], b = xh[i * d + j];
            e += (a - b) * (a - b);
            xx += a * a;
            hh += b * b;
            xy += a * b;
        }
        err += e;
        energy += xx;
        cos_sum += (xx > 0 && hh > 0) ? xy / std::sqrt(xx * hh) : 0.0;
    }
    Json q = Json::object();
    q["encoder"] = "greedy (beam 1)";
    q["mse_per_coord"] = err / (static_cast<double>(n) * static_cast<double>(d));
    q["nmse"] = energy > 0 ? err / energy : 0.0;
    q["mean_cosine"] = cos_sum / static_cast<double>(n);
    return q;
}

}  // namespace

void run_train_gsrq(const TrainGsrqOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    o.run.start();
    require(o.D >= 1 && o.K >= 2 && o.stages >= 1, "need D >= 1, K >= 2, stages >= 1");
    train::GsrqTrainOptions t;
    t.D = o.D;
    t.K = o.K;
    t.S = o.stages;
    t.shared = o.shared;
    t.train_beam = o.train_beam;
    t.kmeans.method = train::kmeans_method_from_string(o.kmeans);
    t.kmeans.max_iter = o.max_iter;
    t.kmeans.tol = o.tol;
    t.kmeans.seed = o.seed;

    const io::CalibrationVectors c = io::read_calibration_vectors(o.data);
    log_verbose("training gsrq on " + std::to_string(c.n) + " vectors of d = " +
                std::to_string(c.d) + " from " + std::to_string(c.datasets.size()) + " datasets");
    if (c.d % o.D != 0)
        throw UsageError("--D " + std::to_string(o.D) +
                         " does not divide d = " + std::to_string(c.d));
    if (c.n < static_cast<std::size_t>(o.K))
        throw UsageError("only " + std::to_string(c.n) +
                         " calibration vectors for K = " + std::to_string(o.K) + " centroids");

    const train::GsrqTrainResult result =
        train::train_gsrq(c.x.data(), c.n, c.d, c.w.empty() ? nullptr : c.w.data(), t);

    Json cons = Json::object();
    cons["method"] = "gsrq";
    cons["kmeans"] = o.kmeans;
    cons["D"] = o.D;
    cons["K"] = o.K;
    cons["S"] = o.stages;
    cons["shared"] = o.shared;
    cons["train_beam"] = o.train_beam;
    cons["max_iter"] = o.max_iter;
    cons["tol"] = o.tol;
    cons["seed"] = o.seed;
    cons["input"] = std::filesystem::path(o.data.input).filename().string();
    cons["tensor"] = o.data.tensor;
    cons["select"] = o.data.select;
    cons["layers"] = o.data.layers.empty() ? ":" : o.data.layers;
    cons["tokens"] = o.data.tokens.empty() ? ":" : o.data.tokens;
    cons["center"] = o.data.center ? "head" : "none";
    cons["datasets"] = c.datasets;
    cons["vectors"] = c.n;
    cons["weights"] = o.data.weights.empty() ? Json(nullptr) : Json(o.data.weights);
    io::GsrqCodebookFile f = io::make_gsrq_file(result, cons);
    const Json quality = calibration_quality(f.codebooks, c);
    f.training["calibration"] = quality;
    io::save_gsrq(f, o.run.output, o.run.force);

    std::ostringstream out;
    out << "codebook      " << o.run.output << "\n";
    out << "family        gsrq (" << o.kmeans << " k-means)\n";
    out << "data          " << c.n << " " << (o.data.tensor == "k" ? "K" : "V")
        << " vectors of d = " << c.d << " from " << c.datasets.size() << " datasets, tokens "
        << c.token_range << "\n";
    out << "D, K, S       " << o.D << ", " << o.K << ", " << o.stages
        << (o.shared ? " (shared codebooks)" : " (one codebook per position)") << "\n";
    out << "rate          " << fmt("%.4f", f.rate()) << " bits/coord (S log2 K / D)\n";
    out << "MSE per coord " << fmt("%.6g", quality["mse_per_coord"].get<double>()) << "  nMSE "
        << fmt("%.5f", quality["nmse"].get<double>()) << "  mean cosine "
        << fmt("%.5f", quality["mean_cosine"].get<double>()) << " (calibration vectors)\n";
    for (const train::GsrqStageStats& st : result.stages)
        out << "stage " << st.stage << "       shrinkage " << fmt("%.4f", st.stats.shrinkage)
            << " (global " << fmt("%.4f", st.stats.shrinkage_global) << "), cosine "
            << fmt("%.4f", st.stats.mean_cosine) << ", MSE/coord after "
            << fmt("%.6g", st.mse_per_coord) << "\n";
    out << "content hash  " << f.content_hash << "\n";
    out << "time          " << fmt("%.2f", seconds_since(start)) << " s\n";
    std::cout << out.str() << std::flush;
}

}  // namespace fq::tasks

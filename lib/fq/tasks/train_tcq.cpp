#include "fq/tasks/train_tcq.hpp"

#include <cmath>
#include <iostream>

#include "fq/core/error.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/io/tcq_file.hpp"
#include "fq/tasks/run_main.hpp"
#include "fq/train/tcq_train.hpp"

namespace fq::tasks {

void run_train_tcq(const TrainTcqOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    o.run.start();
    train::TcqParams p;
    p.d = o.d;
    p.L = o.L;
    p.V = o.V;
    if (o.K > 0) {
        p.K = o.K;
    } else {
        const double k = o.bits * o.V;
        if (std::fabs(k - std::round(k)) > 1e-9 || k < 1 || k > 8)
            throw UsageError("--bits " + fmt("%g", o.bits) + " with --V " + std::to_string(o.V) +
                             " is not a whole number of bits per step in 1..8 (give --K)");
        p.K = static_cast<int>(std::lround(k));
    }
    p.seed = o.seed;
    p.train_vectors = o.train_vectors;
    p.max_iter = o.max_iter;
    p.tol = o.tol;
    const core::RotationKind rot = core::rotation_kind_from_string(o.rotation);
    ProgressBar bar;
    const train::TcqTrainResult r =
        train::train_tcq(p, [&bar](const std::string& stage, double f) { bar.update(stage, f); });
    bar.finish();
    const io::TcqCodebookFile file = io::make_tcq_file(r, rot, o.rotation_seed);
    io::save_tcq(file, o.run.output, o.run.force);
    if (o.run.verbosity >= 0) {
        std::cout << "tcq d=" << p.d << " L=" << p.L << " K=" << p.K << " V=" << p.V << "  rate "
                  << fmt("%.4g", file.rate()) << " bits/coord  " << r.iterations.size()
                  << " Lloyd iterations on " << r.params.train_vectors << " vectors\n"
                  << "total MSE per unit vector: init " << fmt("%.6f", r.init_distortion)
                  << "  train " << fmt("%.6f", r.train_distortion) << "  val "
                  << fmt("%.6f", r.val_distortion) << " ("
                  << fmt("%.3f", io::db_above_bound(r.val_distortion, file.rate()))
                  << " dB above 4^-rate)\n"
                  << "wrote " << o.run.output << " (" << file.content_hash << ")  time "
                  << fmt("%.2f", seconds_since(start)) << " s\n";
    }
}

}  // namespace fq::tasks

// run_train_faiss in builds with FAISS (lib/CMakeLists.txt picks this file or
// train_faiss_unavailable.cpp).
#include "fq/tasks/train_faiss.hpp"

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fq/codecs/faiss_codecs.hpp"
#include "fq/core/error.hpp"
#include "fq/io/faiss_file.hpp"
#include "fq/tasks/run_main.hpp"

namespace fq::tasks {

void run_train_faiss(const TrainFaissOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    require(o.family == "faiss-pq" || o.family == "faiss-rq",
            "unknown FAISS family '" + o.family + "'");
    o.run.start();
    const codecs::FaissKind fk =
        o.family == "faiss-pq" ? codecs::FaissKind::pq : codecs::FaissKind::rq;
    const io::CalibrationVectors c = io::read_calibration_vectors(o.data);
    log_verbose("training " + o.family + " on " + std::to_string(c.n) +
                " vectors of d = " + std::to_string(c.d));
    io::FaissCodebookFile f{codecs::FaissCodec::train(fk, c.d, o.M, o.nbits, c.x.data(), c.n),
                            nlohmann::ordered_json::object(), ""};
    auto& cons = f.construction;
    cons["method"] = o.family;
    cons["M"] = o.M;
    cons["nbits"] = o.nbits;
    cons["input"] = std::filesystem::path(o.data.input).filename().string();
    cons["tensor"] = o.data.tensor;
    cons["select"] = o.data.select;
    cons["tokens"] = o.data.tokens.empty() ? ":" : o.data.tokens;
    cons["center"] = o.data.center ? "head" : "none";
    cons["datasets"] = c.datasets;
    cons["vectors"] = c.n;

    std::vector<std::uint8_t> codes(c.n * f.codec.code_bytes());
    std::vector<float> xh(c.x.size());
    f.codec.encode(c.x.data(), c.n, codes.data());
    f.codec.decode(codes.data(), c.n, xh.data());
    double err = 0, energy = 0;
    for (std::size_t i = 0; i < c.x.size(); ++i) {
        err += (double(c.x[i]) - xh[i]) * (double(c.x[i]) - xh[i]);
        energy += double(c.x[i]) * c.x[i];
    }
    io::save_faiss(f, o.run.output, o.run.force);
    f.content_hash = io::faiss_content_hash(f.codec.to_bytes());

    std::ostringstream out;
    out << "codebook      " << o.run.output << "\n";
    out << "family        " << o.family << "\n";
    out << "data          " << c.n << " " << (o.data.tensor == "k" ? "K" : "V")
        << " vectors of d = " << c.d << " from " << c.datasets.size() << " datasets\n";
    out << "M, nbits      " << o.M << ", " << o.nbits << "\n";
    out << "rate          " << fmt("%.4f", f.codec.rate()) << " bits/coord (M nbits / d)\n";
    out << "MSE per coord " << fmt("%.6g", err / static_cast<double>(c.x.size())) << "  nMSE "
        << fmt("%.5f", energy > 0 ? err / energy : 0.0) << " (calibration vectors)\n";
    out << "content hash  " << f.content_hash << "\n";
    out << "time          " << fmt("%.2f", seconds_since(start)) << " s\n";
    std::cout << out.str() << std::flush;
}

}  // namespace fq::tasks

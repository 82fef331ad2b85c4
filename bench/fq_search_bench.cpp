// fq-bench-search: the nearest-codeword searches on their own, one thread, same process:
// the fused exhaustive kernel (NearestCodeword) against the two-level TreeSearch, on blocks
// of random unit vectors in R^d (coordinates N(0, 1/d)), for large codebooks. Reports
// blocks/s, vectors/s (d / k blocks per vector), the speed-up and the tree's distortion loss
// in dB against exhaustive search, for several (parents, probes).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "fq/codecs/fib_init.hpp"
#include "fq/codecs/nearest.hpp"
#include "fq/codecs/tree_search.hpp"
#include "fq/core/rng.hpp"
#include "fq/io/codebook_file.hpp"

namespace {

double seconds_best_of(int repeats, const std::function<void()>& f) {
    double best = 1e300;
    for (int r = 0; r < repeats; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

double mse(const fq::codecs::BlockCodebook& cb, const std::vector<float>& y,
           const std::vector<std::uint32_t>& idx) {
    double s = 0;
    for (std::size_t i = 0; i < idx.size(); ++i)
        for (int j = 0; j < cb.k; ++j) {
            const double e = y[i * cb.k + j] - cb.codeword(static_cast<int>(idx[i]))[j];
            s += e * e;
        }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"fq-bench-search: exhaustive (fused) vs tree nearest-codeword search, 1 thread"};
    std::vector<std::string> files;
    std::size_t blocks = 200000;
    int repeats = 3;
    app.add_option("codebooks", files,
                   "codebook files (fib); \"multishell\" = the radial-angular k = 3 init, "
                   "64 shells x 64 Fibonacci-sphere directions, d = 128 (shell-first's setting)")
        ->required();
    app.add_option("--blocks", blocks, "blocks searched per timing");
    app.add_option("--repeats", repeats, "best of this many");
    CLI11_PARSE(app, argc, argv);
    std::printf("%-40s %5s %5s %3s %12s %12s %8s %9s %8s\n", "codebook", "k", "P", "T", "blocks/s",
                "vectors/s", "speedup", "loss dB", "same");
    for (const auto& file : files) {
        const bool multishell = file == "multishell";
        const auto ucb = multishell ? fq::io::UniversalCodebook{} : fq::io::load_codebook(file);
        const fq::codecs::BlockCodebook cb =
            multishell ? fq::codecs::init_multishell(128, 4096, 64, fq::codecs::RadialInit::source)
                       : ucb.spec.main;
        const int d = multishell ? 128 : ucb.spec.d;
        fq::core::Rng rng(11);
        std::vector<float> y(blocks * cb.k);
        for (auto& v : y) v = static_cast<float>(rng.normal() / std::sqrt(double(d)));
        const fq::codecs::NearestCodeword exact(cb);
        std::vector<std::uint32_t> a(blocks), b(blocks);
        const double te =
            seconds_best_of(repeats, [&] { exact.assign(y.data(), blocks, a.data()); });
        const double me = mse(cb, y, a);
        const double per_vector = double(d / cb.k);
        std::printf("%-40s %5d %5s %3s %12.0f %12.0f %8s %9s %8s\n", file.c_str(), cb.k, "-", "-",
                    blocks / te, blocks / te / per_vector, "1.00", "0", "1");
        for (const auto grouping :
             {fq::codecs::TreeGrouping::kmeans, fq::codecs::TreeGrouping::shells})
            for (const int P : {32, 64, 128})
                for (const int T : {1, 2, 4, 8}) {
                    fq::codecs::TreeSearchOptions opt;
                    opt.parents = P;
                    opt.grouping = grouping;
                    opt.probes = T;
                    const fq::codecs::TreeSearch tree(cb, opt);
                    const double tt =
                        seconds_best_of(repeats, [&] { tree.assign(y.data(), blocks, b.data()); });
                    std::size_t same = 0;
                    for (std::size_t i = 0; i < blocks; ++i) same += a[i] == b[i];
                    std::printf("%-40s %5d %5d%c %3d %12.0f %12.0f %8.2f %9.4f %8.4f\n",
                                file.c_str(), cb.k, P,
                                grouping == fq::codecs::TreeGrouping::shells ? 's' : ' ', T,
                                blocks / tt, blocks / tt / per_vector, te / tt,
                                10 * std::log10(mse(cb, y, b) / me), double(same) / blocks);
                }
    }
    return 0;
}

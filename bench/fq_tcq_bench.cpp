// fq-bench-tcq: encode / decode throughput of the tcq codec (codecs/tcq.hpp) for every
// shipped tcq codebook of a dimension, beside fib k=4 N=256 (BlockVqCodec) and FAISS's
// ProductQuantizer with that fib codebook, in the same process on the same vectors
// (bench/README.md "tcq"). Vectors/s and bytes/s (float32 input) for each thread count;
// the Viterbi kernel's work (states x predecessors x steps x 2 passes) per second.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "faiss_pq.hpp"
#include "fq/codecs/block_vq.hpp"
#include "fq/codecs/tcq.hpp"
#include "fq/codecs/trellis.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/io/tcq_file.hpp"
#include "fq/tasks/run_main.hpp"
#include "roofline.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    int d = 128;
    std::size_t vectors = 20000;
    std::size_t decode_vectors = 200000;
    std::vector<int> threads = {1, 2};
    int max_L = 12;  // trellises of more state bits are skipped (L = 16: 16x slower)
    int repeats = 3;
    std::string codebooks = "codebooks";
};

// Best of `repeats` wall times of f().
double best_seconds(int repeats, const std::function<void()>& f) {
    double best = 1e300;
    for (int r = 0; r < repeats; ++r) {
        const auto t0 = Clock::now();
        f();
        best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
    }
    return best;
}

void encode_all(const fq::codecs::Codec& c, const std::vector<float>& x, std::size_t n,
                std::vector<std::uint8_t>& codes) {
    const std::size_t d = static_cast<std::size_t>(c.dim()), cb = c.code_bytes();
    codes.resize(n * cb);
    fq::core::parallel_chunks(n, 256, [&](std::size_t, std::size_t b, std::size_t e) {
        c.encode(&x[b * d], e - b, &codes[b * cb]);
    });
}

void decode_all(const fq::codecs::Codec& c, const std::vector<std::uint8_t>& codes, std::size_t n,
                std::vector<float>& y) {
    const std::size_t d = static_cast<std::size_t>(c.dim()), cb = c.code_bytes();
    y.resize(n * d);
    fq::core::parallel_chunks(n, 1024, [&](std::size_t, std::size_t b, std::size_t e) {
        c.decode(&codes[b * cb], e - b, &y[b * d]);
    });
}

void run(const Options& o) {
    const int d = o.d;
    const auto du = static_cast<std::size_t>(d);
    fq::core::Rng rng(1, 0);
    std::vector<float> x(std::max(o.vectors, o.decode_vectors) * du);
    for (float& v : x) v = static_cast<float>(rng.normal());
    const std::string dir = o.codebooks + "/d" + std::to_string(d);
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().filename().string().rfind("tcq-", 0) == 0) files.push_back(e.path());
    std::sort(files.begin(), files.end());

    struct Row {
        std::string name;
        std::shared_ptr<fq::codecs::Codec> codec;
        double work = 0;   // Viterbi state updates per vector (0: not a trellis)
        double flops = 0;  // nominal encode flops per vector (roofline.hpp)
    };
    std::vector<Row> rows;
    const std::string fib = dir + "/fib-k4-N256.json";
    fq::io::UniversalCodebook fib_cb;
    if (std::filesystem::exists(fib)) {
        fib_cb = fq::io::load_codebook(fib);
        rows.push_back({"fib k=4 N=256",
                        std::make_shared<fq::codecs::BlockVqCodec>("fib", fib_cb.spec), 0,
                        fq::bench::block_vq_encode_flops(d, 4, 256, d / 4)});
    }
    for (const auto& f : files) {
        const fq::io::TcqCodebookFile t = fq::io::load_tcq(f.string());
        if (t.trellis.L > o.max_L) continue;
        fq::codecs::TcqSpec spec{t.d, t.trellis, t.rotation, t.rotation_seed};
        auto c = std::make_shared<fq::codecs::TcqCodec>(spec);
        const double work = 2.0 * c->steps() * static_cast<double>(t.trellis.states());
        // Per state update: V differences, squares and sums into the cost (3 V flops; the
        // predecessor minimum is compares), plus the norm and the dense rotation.
        const double flops = work * 3.0 * t.trellis.V + 2.0 * d + 2.0 * d * d;
        rows.push_back({f.stem().string(), c, work, flops});
    }
    std::printf(
        "fq-bench-tcq: d = %d, %zu vectors to encode, %zu to decode, best of %d; kernel %s\n", d,
        o.vectors, o.decode_vectors, o.repeats, fq::codecs::trellis_kernels().back().c_str());
    std::map<int, fq::bench::Peaks> peaks;
    for (int threads : o.threads) {
        peaks[threads] = fq::bench::measure_peaks(threads);
        std::printf("peak (%s, %d thread%s): %.1f GFLOP/s separate multiply and add (%.1f fused)\n",
                    peaks[threads].isa.c_str(), threads, threads == 1 ? "" : "s",
                    peaks[threads].mul_add_gflops, peaks[threads].fma_gflops);
    }
    std::printf("%-16s %6s %8s %3s %14s %12s %16s %9s %7s %14s %12s\n", "codec", "rate", "bytes",
                "thr", "enc vectors/s", "enc MB/s", "Gstate-upd/s", "enc GF/s", "%peak",
                "dec vectors/s", "dec MB/s");
    for (int threads : o.threads) {
        fq::core::set_threads(threads);
        omp_set_num_threads(threads);
        for (const Row& r : rows) {
            std::vector<std::uint8_t> codes;
            const std::size_t n = r.work > 0 ? o.vectors : o.decode_vectors;
            const double te = best_seconds(o.repeats, [&] { encode_all(*r.codec, x, n, codes); });
            encode_all(*r.codec, x, o.decode_vectors, codes);
            std::vector<float> y;
            const double td =
                best_seconds(o.repeats, [&] { decode_all(*r.codec, codes, o.decode_vectors, y); });
            const double ev = static_cast<double>(n) / te, dv = o.decode_vectors / td;
            const double gf = ev * r.flops / 1e9;
            std::printf("%-16s %6.3f %8zu %3d %14.0f %12.1f %16s %9.2f %6.1f%% %14.0f %12.1f\n",
                        r.name.c_str(), r.codec->rate(), r.codec->code_bytes(), threads, ev,
                        ev * 4.0 * d / 1e6,
                        r.work > 0 ? std::to_string(ev * r.work / 1e9).substr(0, 6).c_str() : "-",
                        gf, 100.0 * gf / peaks[threads].mul_add_gflops, dv, dv * 4.0 * d / 1e6);
        }
#if FQ_HAVE_FAISS
        if (!fib_cb.content_hash.empty()) {
            const std::vector<float> cw(fib_cb.spec.main.codewords.begin(),
                                        fib_cb.spec.main.codewords.end());
            const fq::bench::FaissPq pq(d, 4, 256, cw.data(), false);  // search only
            std::vector<std::uint8_t> codes(o.decode_vectors * pq.code_bytes());
            const double te = best_seconds(
                o.repeats, [&] { pq.encode(x.data(), o.decode_vectors, codes.data()); });
            const double ev = o.decode_vectors / te;
            std::printf("%-16s %6.3f %8zu %3d %14.0f %12.1f %16s\n", "FAISS PQ (fib)", 2.0,
                        pq.code_bytes(), threads, ev, ev * 4.0 * d / 1e6, "-");
        }
#endif
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"fq-bench-tcq: tcq encode/decode throughput beside fib and FAISS PQ"};
    app.option_defaults()->always_capture_default();
    app.add_option("--d", o.d, "dimension (codebooks/d<d>/tcq-*.json)");
    app.add_option("--vectors", o.vectors, "vectors to encode per timing");
    app.add_option("--decode-vectors", o.decode_vectors, "vectors to decode per timing");
    app.add_option("-j,--threads", o.threads, "thread counts");
    app.add_option("--repeats", o.repeats, "best of");
    app.add_option("--codebooks", o.codebooks, "codebook directory");
    app.add_option("--max-L", o.max_L, "skip trellises of more state bits (16: include L = 16)");
    return fq::tasks::run_main("fq-bench-tcq", app, argc, argv, [&] { run(o); });
}

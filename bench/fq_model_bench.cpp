// fq-bench-model: tokens per second of the Llama forward pass (model/llama.hpp) with the
// exact cache and with a codec in the cache (tasks/eval_model's path), one thread and all
// threads, on a model and the token_ids of a dump. Not a test: numbers for bench/README.md.
//   fq-bench-model [--model FILE] [-i DUMP] [--codec SPEC] [--repeat R]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "fq/core/parallel.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/model_file.hpp"
#include "fq/tasks/eval_model.hpp"

int main(int argc, char** argv) {
    std::string model =
        std::string(FQ_SOURCE_DIR) + "/data/models/fq_stories_d64/fq_stories_d64.bin";
    std::string input = std::string(FQ_SOURCE_DIR) + "/data/sample_kv_d64.h5";
    std::string spec = "fib:k=4,N=256";
    int repeat = 5;
    CLI::App app{"fq-bench-model: forward-pass tokens/s, exact cache and with a codec"};
    app.add_option("--model", model, "llama2.c checkpoint or Hugging Face directory");
    app.add_option("-i,--input", input, "KV dump whose token_ids are run");
    app.add_option("--codec", spec, "codec SPEC in the cache (K and V)");
    app.add_option("--repeat", repeat, "runs per measurement (the best is kept)")
        ->check(CLI::Range(1, 100));
    CLI11_PARSE(app, argc, argv);
    try {
        const fq::model::LlamaWeights w = fq::io::load_model(model);
        const fq::tasks::ModelTokens tokens = fq::tasks::model_tokens(input, "", "", 0, w);
        fq::io::CodebookStore store;
        const int hd = w.config.head_dim();
        const fq::io::BuiltCodec k =
            fq::io::make_codec(fq::io::with_tensor_defaults(
                                   fq::io::parse_codec_spec(spec, hd, store), fq::io::KvKind::k),
                               store, "codec", fq::ExitCode::usage, hd);
        const fq::io::BuiltCodec v =
            fq::io::make_codec(fq::io::with_tensor_defaults(
                                   fq::io::parse_codec_spec(spec, hd, store), fq::io::KvKind::v),
                               store, "codec", fq::ExitCode::usage, hd);
        const std::vector<std::array<fq::codecs::HeadCodec, 2>> per_layer(
            static_cast<std::size_t>(w.config.n_layers), {k.head_codec(), v.head_codec()});
        std::size_t n = 0;
        for (const auto& s : tokens.sequences) n += s.size();
        std::printf("model %s: %d layers, dim %d, %d/%d heads, d = %d; %zu tokens; codec %s\n",
                    model.c_str(), w.config.n_layers, w.config.dim, w.config.n_heads,
                    w.config.n_kv_heads, hd, n, fq::io::codec_label(k).c_str());
        std::printf("%-8s %16s %22s\n", "threads", "exact tokens/s", "exact + codec tokens/s");
        for (const int threads : {1, fq::core::max_threads()}) {
            fq::core::set_threads(threads);
            double best = 1e30;
            for (int r = 0; r < repeat; ++r) {
                const auto t0 = std::chrono::steady_clock::now();
                for (const auto& s : tokens.sequences) (void)fq::model::forward(w, s);
                best = std::min(
                    best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
            double both = 1e30;
            for (int r = 0; r < repeat; ++r) {
                const auto t0 = std::chrono::steady_clock::now();
                (void)fq::tasks::compare_on_model(w, tokens, per_layer, 0, 0);
                both = std::min(
                    both,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
            // compare_on_model runs the model twice (exact and with the codec).
            std::printf("%-8d %16.0f %22.0f\n", threads, static_cast<double>(n) / best,
                        static_cast<double>(n) / (both - best));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fq-bench-model: error: %s\n", e.what());
        return 2;
    }
    return 0;
}

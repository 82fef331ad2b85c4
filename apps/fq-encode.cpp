// fq-encode: compress the keys and values of a KV dump into an fq container
// (docs/FORMAT.md §2). Option parsing only; the work is fq::tasks::run_encode.
//   fq-encode -i dump.h5 -o out.fq.h5 [--rate 2] [--k-codec SPEC] [--v-codec SPEC] ...
#include <CLI/CLI.hpp>
#include <string>

#include "fq/io/mpi_run.hpp"
#include "fq/tasks/encode.hpp"
#include "fq/tasks/run_main.hpp"

#include "app_options.hpp"

int main(int argc, char** argv) {
    // MPI builds: a run under mpirun / srun splits the work across ranks (docs/MPI.md).
    fq::io::mpi::Session mpi(argc, argv);
    fq::tasks::EncodeOptions o;
    fq::apps::LogFlags logging;

    CLI::App app{
        "fq-encode: compress the key and value vectors of a KV dump (HDF5) into one\n"
        "self-contained HDF5 container with random access per vector (per group of G\n"
        "vectors for int per_channel).\n"
        "SPEC (docs/FORMAT.md \"Codec description\"):\n"
        "  fib:rate=R | fib:k=K,N=N | scalar:bits=B[,rotation=none|haar|hadamard]\n"
        "      (these take ,header=gain and ,header_type=float32)\n"
        "  qjl[:m=M,seed=S]                         sign bits of a Gaussian projection\n"
        "  scalar+qjl:bits=3[,rotation=haar,m=M]    TurboQuant-prod, b-1 scalar bits + QJL\n"
        "  int:bits=4,group=32[,grouping=per_token] KIVI min/max groups (default grouping:\n"
        "                                           per_channel for K, per_token for V)\n"
        "  block:format=q4_0|q8_0[,rotation=hadamard]  llama.cpp block formats\n"
        "  gsrq:codebook=FILE[,beam=B]              data-trained residual VQ (fq-train gsrq)\n"
        "  or a codebook file, or a JSON codec description file.\n"
        "--config FILE: one description for both, or {\"k\": ..., \"v\": ...}; the K/V\n"
        "schemes of seed 002 are shipped as configs/kv-schemes/{KV,KQV,QKQV}-<n>.json.\n"
        "Exit codes: 0 ok, 1 usage, 2 I/O, 3 corrupt file, 4 NaN/Inf in the input."};
    app.option_defaults()->always_capture_default();
    app.set_version_flag("--version", std::string("fq-encode ") + FQ_VERSION);

    app.add_option("-i,--input", o.input, "KV dump to compress (never modified)")->required();
    app.add_option("-o,--output", o.output, "container to write")->required();
    app.add_option("--rate", o.rate,
                   "payload bits per coordinate of the default codec (the shipped fib codebook "
                   "for the data's d with the highest rate <= this)")
        ->check(CLI::Range(1e-3, 64.0));
    app.add_option("--k-codec", o.k_codec, "codec of the keys (SPEC)");
    app.add_option("--v-codec", o.v_codec, "codec of the values (SPEC)");
    app.add_option("-c,--codebook", o.codebook, "codebook file used for keys and values");
    app.add_option(
        "--config", o.config,
        "JSON codec config: one codec description for both, or {\"k\": ..., \"v\": ...}");
    app.add_option("--header", o.header, "header: the norm, or the MSE-optimal gain (SPEC 4.2)")
        ->check(CLI::IsMember({"norm", "gain"}));
    app.add_option("--header-type", o.header_type, "storage type of the header")
        ->check(CLI::IsMember({"float16", "float32"}));
    app.add_option("--select", o.select,
                   "glob(s) of datasets to compress (default: layer_<L>/{q,k,v}); repeatable");
    app.add_option("--axes", o.axes, "stored axis order of the selected datasets (htd, thd, ...)");
    app.add_flag("--keep-queries", o.keep_queries, "copy query datasets verbatim (for fq-eval)");
    app.add_option("--keep-first", o.keep_first,
                   "keep the first N tokens of each sequence exactly, in float16 (attention "
                   "sinks; counted in the rate; default: the config's keep_first, else 0)")
        ->check(CLI::NonNegativeNumber)
        ->default_str("0");
    app.add_option("--keep-last", o.keep_last,
                   "keep the last M tokens of each sequence exactly, in float16 (the recent "
                   "window; counted in the rate; default: the config's keep_last, else 0)")
        ->check(CLI::NonNegativeNumber)
        ->default_str("0");
    app.add_option("--segment-len", o.segment_len,
                   "sequences of N tokens (default: the dump's segment_id, else its batch axis, "
                   "else one sequence): where windows start and end")
        ->check(CLI::PositiveNumber);
    app.add_option("--chunk-tokens", o.chunk_tokens,
                   "tokens per slab and per checksum block (bounds memory)")
        ->check(CLI::Range(1, 1 << 24));
    app.add_option("--codebooks", o.codebooks,
                   "directory of shipped codebooks (default: $FQ_CODEBOOKS, else the built-in)");
    app.add_flag("!--no-train", o.train_missing,
                 "never train a codebook on the fly (default: a fib codebook not shipped for the "
                 "data's d is trained once, deterministically, and cached in $FQ_CACHE_DIR or "
                 "~/.cache/fq)");
    fq::apps::add_threads_option(app, o.threads);
    app.add_flag("--force", o.force, "overwrite an existing output file");
    fq::apps::add_log_flags(app, logging, "no summary, logs or progress");

    return fq::tasks::run_main("fq-encode", app, argc, argv, [&] {
        o.verbosity = logging.verbosity();
        fq::tasks::run_encode(o);
    });
}

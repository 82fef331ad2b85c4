// fq-decode: restore a KV dump (or a slice of it) from an fq container
// (docs/FORMAT.md §2). Option parsing only; the work is fq::tasks::run_decode.
//   fq-decode -i out.fq.h5 -o restored.h5 [--select layer_3/k --tokens 100:200 --heads 0:4]
#include <CLI/CLI.hpp>
#include <string>

#include "fq/io/mpi_run.hpp"
#include "fq/tasks/decode.hpp"
#include "fq/tasks/run_main.hpp"

#include "app_options.hpp"

int main(int argc, char** argv) {
    // MPI builds: a run under mpirun / srun splits the work across ranks (docs/MPI.md).
    fq::io::mpi::Session mpi(argc, argv);
    fq::tasks::DecodeOptions o;
    fq::apps::LogFlags logging;

    CLI::App app{
        "fq-decode: restore a KV dump (same paths, axis orders and attributes) from an fq\n"
        "container, or only a slice of it (reading only the bytes it needs).\n"
        "Exit codes: 0 ok, 1 usage, 2 I/O, 3 corrupt or mismatched file, 4 numerical trouble."};
    app.option_defaults()->always_capture_default();
    app.set_version_flag("--version", std::string("fq-decode ") + FQ_VERSION);

    app.add_option("-i,--input", o.input, "fq container to decode")->required();
    app.add_option("-o,--output", o.output, "KV dump to write")->required();
    app.add_option("--dtype", o.dtype, "element type of the restored vectors")
        ->check(CLI::IsMember({"float32", "float16"}));
    app.add_option("--select", o.select, "glob(s) of datasets to restore (default: all)");
    app.add_option("--tokens", o.tokens, "token range a:b (half-open) of every selected dataset");
    app.add_option("--heads", o.heads, "head range a:b (half-open) of every selected dataset");
    app.add_option("-c,--codebook", o.codebooks,
                   "codebook file(s); each must match the hash the file names");
    app.add_option("--codebooks", o.codebook_dir,
                   "directory to look up codebooks not embedded (default: $FQ_CODEBOOKS)");
    fq::apps::add_threads_option(app, o.threads);
    app.add_flag("--force", o.force, "overwrite an existing output file");
    fq::apps::add_log_flags(app, logging, "no summary, logs or progress");

    return fq::tasks::run_main("fq-decode", app, argc, argv, [&] {
        o.verbosity = logging.verbosity();
        fq::tasks::run_decode(o);
    });
}

// fq-eval: fidelity, attention and rate reports (docs/EVAL.md).
//   fq-eval -i original.h5 -d decoded.h5            a decoded dump against its original
//   fq-eval -i original.h5 -c compressed.fq.h5      a compressed file, decoded here
//   fq-eval source --d 128                          shipped codebooks on the canonical source
//   fq-eval sweep --config configs/rd-default.json -i dump.h5 -o report/
// Option parsing only; the work is in fq::tasks (tasks/eval.hpp).
#include <CLI/CLI.hpp>
#include <string>

#include "fq/core/error.hpp"
#include "fq/io/mpi_run.hpp"
#include "fq/tasks/eval.hpp"
#include "fq/tasks/eval_model.hpp"
#include "fq/tasks/plan.hpp"
#include "fq/tasks/run_main.hpp"

namespace {

void add_logging(CLI::App& app, int& threads, bool& verbose, bool& quiet) {
    app.add_option("-j,--threads", threads,
                   "OpenMP threads (0 = all cores); results do not depend on it")
        ->check(CLI::Range(0, 1024));
    auto* v = app.add_flag("-v,--verbose", verbose, "log details on stderr");
    app.add_flag("-q,--quiet", quiet, "no logs or progress on stderr")->excludes(v);
}

// --positions stride:S and --last N fill settings.
void add_positions(CLI::App& app, fq::tasks::EvalSettings& s) {
    app.add_option_function<std::string>(
           "--positions",
           [&s](const std::string& v) {
               if (v.rfind("stride:", 0) != 0)
                   throw CLI::ValidationError("--positions", "expected stride:S");
               const std::string n = v.substr(7);
               if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos)
                   throw CLI::ValidationError("--positions", "expected stride:S with S >= 1");
               s.stride = std::stoul(n);
               if (s.stride == 0) throw CLI::ValidationError("--positions", "stride must be >= 1");
           },
           "query positions: stride:S = every S-th position counted back from the last token of "
           "each sequence")
        ->type_name("stride:S");
    app.add_option("--last", s.last,
                   "evaluate only queries among the last N tokens of each sequence (0 = all)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--segment-len", s.segment_len,
                   "independent sequences of N tokens each (default: the dump's segment_id, "
                   "else its batch axis, else one sequence); attention never crosses one")
        ->check(CLI::PositiveNumber);
}

}  // namespace

int main(int argc, char** argv) {
    // MPI builds: a run under mpirun / srun splits the work across ranks (docs/MPI.md).
    fq::io::mpi::Session mpi(argc, argv);
    fq::tasks::EvalOptions ev;
    fq::tasks::SourceEvalOptions src;
    fq::tasks::SweepOptions sw;
    fq::tasks::ModelEvalOptions mo;
    fq::tasks::PlanOptions po;
    bool verbose = false, quiet = false;

    CLI::App app{
        "fq-eval: how much a codec changes a KV cache: per tensor, layer and head MSE, cosine,\n"
        "inner-product error, causal attention KL, top-1/top-5 agreement, attention score /\n"
        "probability / output cosines, rate and compression (docs/EVAL.md). Exit codes: 0 ok,\n"
        "1 usage, 2 I/O, 3 corrupt or refused result, 4 numerical trouble."};
    app.option_defaults()->always_capture_default();
    app.set_version_flag("--version", std::string("fq-eval ") + FQ_VERSION);
    app.require_subcommand(0, 1);

    app.add_option("-i,--input", ev.input, "original KV dump")->check(CLI::ExistingFile);
    auto* dec = app.add_option("-d,--decoded", ev.decoded, "decoded KV dump (e.g. from fq-decode)")
                    ->check(CLI::ExistingFile);
    app.add_option("-c,--compressed", ev.compressed,
                   "compressed file (from fq-encode), decoded here")
        ->check(CLI::ExistingFile)
        ->excludes(dec);
    app.add_option("--codebooks", ev.codebooks, "codebook directory (default: shipped codebooks/)");
    app.add_option("--json", ev.json, "write the JSON report to FILE ('-' = stdout)");
    app.add_option("--csv", ev.csv, "write the CSV table to FILE ('-' = stdout)");
    app.add_flag("--per-head", ev.per_head, "also print per-layer and per-head rows");
    app.add_flag("--allow-lossless", ev.allow_lossless,
                 "present a result with exactly zero distortion (normally refused, exit 3)");
    app.add_flag("--allow-rate-mismatch", ev.allow_rate_mismatch,
                 "present a result whose achieved rate disagrees with the nominal one");
    add_positions(app, ev.settings);
    add_logging(app, ev.threads, verbose, quiet);

    CLI::App* source = app.add_subcommand(
        "source", "evaluate shipped codebooks on fresh spherical-Beta samples (no dump)");
    source->add_option("--d", src.d, "vector dimension")->check(CLI::Range(3, 1 << 16));
    source->add_option("--codebooks", src.codebooks, "codebook directory (uses <dir>/d<d>/)");
    source->add_option("--samples", src.samples, "source samples per block codebook")
        ->check(CLI::Range(std::size_t{32}, std::size_t{1} << 30));
    source->add_option("--seed", src.seed, "seed of the samples")->check(CLI::NonNegativeNumber);
    source->add_option("--json", src.json, "write the JSON report to FILE ('-' = stdout)");
    source->add_option("--csv", src.csv, "write the CSV table to FILE ('-' = stdout)");
    source->add_option("--plot", src.plot, "write the plot to FILE (.png or .svg)");
    add_logging(*source, src.threads, verbose, quiet);

    CLI::App* sweep = app.add_subcommand(
        "sweep", "code a dump with a list of codecs in memory; write rd.csv, rd.json, plots");
    sweep->add_option("--config", sw.config, "sweep config JSON (docs/EVAL.md)")
        ->required()
        ->check(CLI::ExistingFile);
    sweep->add_option("-i,--input", sw.input, "KV dump")->required()->check(CLI::ExistingFile);
    sweep->add_option("-o,--output", sw.output, "report directory (created)")->required();
    sweep->add_option("--codebooks", sw.codebooks, "codebook directory (default: shipped)");
    sweep->add_option("--format", sw.format, "plot image format")
        ->check(CLI::IsMember({"png", "svg"}));
    add_positions(*sweep, sw.settings);
    add_logging(*sweep, sw.threads, verbose, quiet);

    CLI::App* model = app.add_subcommand(
        "model",
        "run a Llama model (llama2.c .bin or Hugging Face directory) over tokens with its exact\n"
        "KV cache and with every key and value through the codec: perplexity, ratio and\n"
        "difference (paired SE), logit KL, top-1 agreement, by position, exact rate");
    model->add_option("--model", mo.model, "llama2.c checkpoint or Hugging Face directory")
        ->required()
        ->check(CLI::ExistingPath);
    model
        ->add_option("-i,--input", mo.input,
                     "tokens: a KV dump (its token_ids and sequences) or a token file (one id "
                     "per line, or .npy)")
        ->check(CLI::ExistingFile);
    model->add_option("--tokenizer", mo.tokenizer, "llama2.c tokenizer (tok512.bin) for --text")
        ->check(CLI::ExistingFile);
    model->add_option("--text", mo.text, "text file to tokenize (BOS first)")
        ->check(CLI::ExistingFile);
    model->add_option("--segment-len", mo.segment_len, "dump: sequences of N tokens")
        ->check(CLI::PositiveNumber);
    model->add_option("--rate", mo.rate, "payload bits per coordinate of the default fib codec")
        ->check(CLI::PositiveNumber);
    model->add_option("--k-codec", mo.k_codec, "codec SPEC for keys (as fq-encode)");
    model->add_option("--v-codec", mo.v_codec, "codec SPEC for values (as fq-encode)");
    model->add_option("-c,--codebook", mo.codebook, "codebook file for both")
        ->check(CLI::ExistingFile);
    model->add_option("--config", mo.config, "fq-encode codec config (per-layer rules, windows)")
        ->check(CLI::ExistingFile);
    model->add_option("--header", mo.header, "fib/scalar header")
        ->check(CLI::IsMember({"norm", "gain"}));
    model->add_option("--header-type", mo.header_type, "fib/scalar header type")
        ->check(CLI::IsMember({"float16", "float32"}));
    model
        ->add_option("--keep-first", mo.keep_first,
                     "first N tokens of each sequence read from float16")
        ->check(CLI::NonNegativeNumber)
        ->default_str("0");
    model->add_option("--keep-last", mo.keep_last, "the N most recent tokens read from float16")
        ->check(CLI::NonNegativeNumber)
        ->default_str("0");
    model->add_option("--codebooks", mo.codebooks, "codebook directory (default: shipped)");
    model->add_flag("!--no-train", mo.train_missing, "never train a codebook on the fly");
    model->add_option("--json", mo.json, "write the JSON report to FILE ('-' = stdout)");
    model->add_option("--csv", mo.csv, "write the CSV row to FILE ('-' = stdout)");
    add_logging(*model, mo.threads, verbose, quiet);

    CLI::App* plan = app.add_subcommand(
        "plan",
        "the codec of every layer and tensor for a bit budget: measure each candidate on each\n"
        "K/V dataset of a calibration dump, allocate (convex-hull greedy), check jointly against\n"
        "uniform codecs; writes an fq-encode config");
    plan->add_option("-i,--input", po.input, "calibration KV dump")
        ->required()
        ->check(CLI::ExistingFile);
    plan->add_option("--budget", po.budget, "bits per coordinate over all K and V coordinates")
        ->required()
        ->check(CLI::PositiveNumber);
    plan->add_option("--candidates", po.candidates,
                     "JSON array of codec SPECs / descriptions (default: every shipped codebook "
                     "for d, and float16)")
        ->check(CLI::ExistingFile);
    plan->add_option("--objective", po.objective, "out (1 - attention-output cosine), kl, model")
        ->check(CLI::IsMember({"out", "kl", "model"}));
    plan->add_option("--model", po.model, "the model for --objective model")
        ->check(CLI::ExistingPath);
    plan->add_option("-o,--output", po.output, "the plan: an fq-encode config")->required();
    plan->add_option("--json", po.json, "write the report to FILE ('-' = stdout)");
    plan->add_option("--keep-first", po.keep_first, "float16 window at each sequence's start")
        ->check(CLI::NonNegativeNumber);
    plan->add_option("--keep-last", po.keep_last, "float16 window at each sequence's end")
        ->check(CLI::NonNegativeNumber);
    plan->add_option("--codebooks", po.codebooks, "codebook directory (default: shipped)");
    plan->add_flag("--force", po.force, "overwrite an existing plan");
    add_positions(*plan, po.settings);
    add_logging(*plan, po.threads, verbose, quiet);

    return fq::tasks::run_main("fq-eval", app, argc, argv, [&] {
        const int verbosity = verbose ? 1 : (quiet ? -1 : 0);
        // Under mpirun only the dump mode splits its work (docs/MPI.md).
        if (fq::io::mpi::size() > 1 && !app.get_subcommands().empty())
            throw fq::UsageError("fq-eval " + app.get_subcommands().front()->get_name() +
                                 " runs on one rank; under mpirun only fq-eval -i ... -d/-c "
                                 "splits its work across ranks");
        if (app.got_subcommand(plan)) {
            po.verbosity = verbosity;
            fq::tasks::run_plan(po);
        } else if (app.got_subcommand(model)) {
            mo.verbosity = verbosity;
            fq::tasks::run_eval_model(mo);
        } else if (app.got_subcommand(source)) {
            src.verbosity = verbosity;
            fq::tasks::run_eval_source(src);
        } else if (app.got_subcommand(sweep)) {
            sw.verbosity = verbosity;
            fq::tasks::run_sweep(sw);
        } else {
            ev.verbosity = verbosity;
            fq::tasks::run_eval(ev);
        }
    });
}

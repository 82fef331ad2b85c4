// fq-train: trains a universal codebook and writes it as a codebook file (docs/FORMAT.md).
//   fq-train fib --d 128 --k 4 --N 256 -o FILE     FibQuant block codebook (SPEC 4.2)
//   fq-train scalar --d 128 --bits 2 -o FILE       exact Lloyd-Max scalar codebook (SPEC 4.1)
//   fq-train gsrq -i calib.h5 --tensor k -o FILE   data-trained residual VQ (SPEC 4.6)
//   fq-train tcq --d 128 --bits 2 --L 12 -o FILE   universal trellis-coded quantizer
//   fq-train faiss-pq|faiss-rq -i calib.h5 ...    FAISS baselines (builds with FAISS)
// Option parsing only: one options struct and one task per subcommand (fq/tasks/train_*.hpp).
#include <CLI/CLI.hpp>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fq/io/codec_registry.hpp"
#include "fq/tasks/run_main.hpp"
#include "fq/tasks/train_faiss.hpp"
#include "fq/tasks/train_gsrq.hpp"
#include "fq/tasks/train_tcq.hpp"
#include "fq/tasks/train_universal.hpp"

#include "app_options.hpp"

namespace {

// --center head|none: train on per-head centred vectors, for codecs used with center=head.
void add_center_option(CLI::App& sub, bool& center) {
    sub.add_option_function<std::string>(
           "--center", [&center](const std::string& v) { center = v == "head"; },
           "head: subtract each (dataset, head)'s mean over the tokens read before training, "
           "for codecs used with center=head (default none)")
        ->check(CLI::IsMember({"head", "none"}));
}

// Options both universal subcommands take. d_min: the smallest d the family accepts.
template <class O>
void add_universal(CLI::App& sub, O& o, int d_min, fq::apps::LogFlags& logging) {
    sub.add_option("--d", o.d, "vector dimension (head dimension)")
        ->check(CLI::Range(d_min, 1 << 16));
    sub.add_option("-o,--output", o.run.output,
                   "codebook file to write (required here or in --config)");
    sub.add_flag("--force", o.run.force, "overwrite an existing output file");
    sub.add_option("--config", o.config,
                   "JSON file of options (keys: long option names); explicit options override it")
        ->check(CLI::ExistingFile);
    sub.add_option("--rotation", o.rotation, "rotation Pi applied before quantization")
        ->check(CLI::IsMember({"haar", "hadamard", "none"}));
    sub.add_option("--rotation-seed", o.rotation_seed, "seed of the rotation Pi")
        ->check(CLI::NonNegativeNumber);
    fq::apps::add_threads_option(sub, o.run.threads);
    fq::apps::add_log_flags(sub, logging, "no logs or progress on stderr");
}

// The long names of the options given on the command line (they override --config).
std::set<std::string> explicit_options(const CLI::App& sub) {
    std::set<std::string> out;
    for (const CLI::Option* opt : sub.get_options())
        if (opt->count() > 0) out.insert(opt->get_single_name());
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    fq::tasks::TrainFibOptions fib_opts;
    fq::tasks::TrainScalarOptions scalar_opts;
    fq::tasks::TrainGsrqOptions gsrq_opts;
    fq::tasks::TrainTcqOptions tcq_opts;
    fq::tasks::TrainFaissOptions faiss_opts;
    fq::apps::LogFlags logging;

    CLI::App app{
        "fq-train: train a universal codebook (fib, scalar: depends on d, k, N and the\n"
        "construction only, never on a model) and write it as a codebook file; or (gsrq)\n"
        "learn data-trained residual VQ codebooks from a calibration KV dump.\n"
        "Exit codes: 0 ok, 1 usage, 2 I/O, 3 corrupt file, 4 numerical trouble."};
    app.option_defaults()->always_capture_default();
    app.set_version_flag("--version", std::string("fq-train ") + FQ_VERSION);
    app.require_subcommand(1);

    CLI::App* fib = app.add_subcommand(
        "fib", "FibQuant block codebook: structured init + multi-restart Lloyd-Max (SPEC 4.2)");
    add_universal(*fib, fib_opts, 2, logging);
    fib->add_option("--k", fib_opts.k, "block dimension, 1 <= k < d")->check(CLI::Range(1, 1024));
    fib->add_option("--N", fib_opts.N, "codewords per block (rate log2(N)/k bits per coordinate)")
        ->check(CLI::Range(2, 1 << 24));
    fib->add_option("--radial", fib_opts.radial, "radial law of the initial shells")
        ->check(CLI::IsMember({"source", "companded"}));
    fib->add_option("--seed", fib_opts.seed, "seed of the training/validation samples and restarts")
        ->check(CLI::NonNegativeNumber);
    fib->add_option("--samples", fib_opts.samples, "training samples M (0 = max(256 N, 2^18))")
        ->check(CLI::NonNegativeNumber);
    fib->add_option("--val-samples", fib_opts.val_samples, "validation samples (0 = M / 2)")
        ->check(CLI::NonNegativeNumber);
    fib->add_option("--restarts", fib_opts.restarts,
                    "Lloyd restarts (0: structured, others jittered)")
        ->check(CLI::Range(1, 1000));
    fib->add_option("--max-iter", fib_opts.max_iter, "Lloyd iterations per restart at most")
        ->check(CLI::Range(0, 1000000));
    fib->add_option("--tol", fib_opts.tol, "stop when the relative distortion change is below this")
        ->check(CLI::Range(0.0, 1.0));
    fib->add_option("--jitter", fib_opts.jitter, "restart jitter, fraction of the codeword spacing")
        ->check(CLI::Range(0.0, 10.0));
    fib->add_option("--shells", fib_opts.shells, "k = 3: number of shells L, dividing N (0 = best)")
        ->check(CLI::Range(0, 1 << 24));

    CLI::App* scalar = app.add_subcommand(
        "scalar", "exact Lloyd-Max scalar codebook of the k = 1 marginal (SPEC 4.1)");
    add_universal(*scalar, scalar_opts, 3, logging);
    scalar->add_option("--bits", scalar_opts.bits, "bits per coordinate b (N = 2^b levels)")
        ->check(CLI::Range(1, 8));

    CLI::App* gsrq = app.add_subcommand(
        "gsrq",
        "data-trained residual VQ (SPEC 4.6): stage codebooks learnt by gain-shape or plain\n"
        "k-means on the K or V vectors of a calibration dump; writes a gsrq codebook file.\n"
        "--tokens a:b trains on part of a dump so that the rest can be used for evaluation\n"
        "(e.g. --tokens 0:256 here, fq-eval on tokens 256:512). Not universal: it depends on\n"
        "the model and data it was trained on.");
    gsrq->add_option("-i,--input", gsrq_opts.data.input, "calibration KV dump (HDF5)")
        ->required()
        ->check(CLI::ExistingFile);
    gsrq->add_option("--tensor", gsrq_opts.data.tensor, "train on keys (k) or values (v)")
        ->check(CLI::IsMember({"k", "v"}));
    gsrq->add_option("--D", gsrq_opts.D, "sub-vector dimension (divides d)")
        ->check(CLI::Range(1, 1024));
    gsrq->add_option("--K", gsrq_opts.K, "centroids per stage codebook")
        ->check(CLI::Range(2, 65536));
    gsrq->add_option("--stages", gsrq_opts.stages, "residual stages S (rate S log2(K) / D)")
        ->check(CLI::Range(1, 64));
    gsrq->add_option("--kmeans", gsrq_opts.kmeans,
                     "centroid update: gain-shape (GSKM, seed 004) or plain k-means (control)")
        ->check(CLI::IsMember({"gain-shape", "plain"}));
    gsrq->add_option("--weights", gsrq_opts.data.weights,
                     "per-vector weights: name of a [heads, tokens] dataset beside each selected "
                     "one (e.g. layer_3/w for layer_3/k); values > 0");
    gsrq->add_option("--select", gsrq_opts.data.select,
                     "glob(s) of datasets to read (default: layer_<L>/{q,k,v}); repeatable");
    gsrq->add_option("--layers", gsrq_opts.data.layers, "layer range a:b (half-open; default all)");
    gsrq->add_option("--tokens", gsrq_opts.data.tokens,
                     "token range a:b of every dataset (half-open; default all): train on one "
                     "part of a dump, evaluate on another");
    add_center_option(*gsrq, gsrq_opts.data.center);
    gsrq->add_option("--max-iter", gsrq_opts.max_iter, "k-means iterations per stage at most")
        ->check(CLI::Range(1, 100000));
    gsrq->add_option("--tol", gsrq_opts.tol, "stop when the relative distortion change is below")
        ->check(CLI::Range(0.0, 1.0));
    gsrq->add_option("--seed", gsrq_opts.seed, "seed of the initial centroids")
        ->check(CLI::NonNegativeNumber);
    gsrq->add_flag("--shared", gsrq_opts.shared,
                   "one codebook per stage for all sub-vector positions");
    gsrq->add_option("--train-beam", gsrq_opts.train_beam,
                     "beam width used to form the residuals between stages")
        ->check(CLI::Range(1, 1024));
    gsrq->add_option("-o,--output", gsrq_opts.run.output, "gsrq codebook file to write")
        ->required();
    gsrq->add_flag("--force", gsrq_opts.run.force, "overwrite an existing output file");
    fq::apps::add_threads_option(*gsrq, gsrq_opts.run.threads);
    fq::apps::add_log_flags(*gsrq, logging, "no logs or progress on stderr");

    CLI::App* tcq = app.add_subcommand(
        "tcq",
        "Universal trellis-coded quantizer (tail-biting bitshift trellis, issue 11): the\n"
        "table of 2^L states trained by Lloyd iterations on the canonical source for d;\n"
        "rate exactly K / V bits per coordinate (plus the norm header).");
    tcq->add_option("--d", tcq_opts.d, "vector dimension (head dimension), a multiple of V")
        ->required()
        ->check(CLI::Range(2, 1 << 16));
    tcq->add_option("--bits", tcq_opts.bits, "bits per coordinate (K = bits V)")
        ->check(CLI::Range(0.125, 8.0));
    tcq->add_option("--L", tcq_opts.L, "state bits (2^L table rows)")->check(CLI::Range(1, 20));
    tcq->add_option("--K", tcq_opts.K, "bits per step (overrides --bits)")->check(CLI::Range(1, 8));
    tcq->add_option("--V", tcq_opts.V, "numbers per step")->check(CLI::Range(1, 8));
    tcq->add_option("--seed", tcq_opts.seed, "seed of the table and the samples");
    tcq->add_option("--train-vectors", tcq_opts.train_vectors,
                    "training vectors (0 = 256 steps per state)");
    tcq->add_option("--max-iter", tcq_opts.max_iter, "Lloyd iterations at most")
        ->check(CLI::Range(1, 10000));
    tcq->add_option("--tol", tcq_opts.tol, "stop when the relative distortion change is below");
    tcq->add_option("--rotation", tcq_opts.rotation, "rotation Pi")
        ->check(CLI::IsMember({"haar", "hadamard", "none"}));
    tcq->add_option("--rotation-seed", tcq_opts.rotation_seed, "seed of Pi");
    tcq->add_option("-o,--output", tcq_opts.run.output, "tcq codebook file to write")->required();
    tcq->add_flag("--force", tcq_opts.run.force, "overwrite an existing output file");
    fq::apps::add_threads_option(*tcq, tcq_opts.run.threads);
    fq::apps::add_log_flags(*tcq, logging, "no logs or progress on stderr");

    // The task each subcommand runs.
    std::vector<std::pair<CLI::App*, std::function<void()>>> tasks = {
        {fib,
         [&] {
             fib_opts.run.verbosity = logging.verbosity();
             fib_opts.explicit_options = explicit_options(*fib);
             fq::tasks::run_train_fib(fib_opts);
         }},
        {scalar,
         [&] {
             scalar_opts.run.verbosity = logging.verbosity();
             scalar_opts.explicit_options = explicit_options(*scalar);
             fq::tasks::run_train_scalar(scalar_opts);
         }},
        {gsrq,
         [&] {
             gsrq_opts.run.verbosity = logging.verbosity();
             fq::tasks::run_train_gsrq(gsrq_opts);
         }},
        {tcq,
         [&] {
             tcq_opts.run.verbosity = logging.verbosity();
             fq::tasks::run_train_tcq(tcq_opts);
         }},
    };
    // FAISS baselines: offered when this build has the families (io/families/faiss.cpp).
    for (const char* name : {"faiss-pq", "faiss-rq"}) {
        if (fq::io::find_codec_family(name) == nullptr) continue;
        CLI::App* fs = app.add_subcommand(
            name, std::string("FAISS ") +
                      (name[6] == 'p' ? "product quantizer (M sub-quantizers"
                                      : "residual quantizer (M stages") +
                      " of nbits bits) trained on the K or V vectors of a calibration dump:\n"
                      "the data-trained baseline; writes a FAISS codebook file.");
        fs->add_option("-i,--input", faiss_opts.data.input, "calibration KV dump (HDF5)")
            ->required()
            ->check(CLI::ExistingFile);
        fs->add_option("--tensor", faiss_opts.data.tensor, "train on keys (k) or values (v)")
            ->check(CLI::IsMember({"k", "v"}));
        fs->add_option("--M", faiss_opts.M, "sub-quantizers / stages")->check(CLI::Range(1, 4096));
        fs->add_option("--nbits", faiss_opts.nbits, "bits per sub-quantizer / stage")
            ->check(CLI::Range(1, 16));
        fs->add_option("--select", faiss_opts.data.select,
                       "dataset globs (default: layer_<L>/{q,k,v})");
        fs->add_option("--tokens", faiss_opts.data.tokens,
                       "token range a:b of every dataset (default all)");
        add_center_option(*fs, faiss_opts.data.center);
        fs->add_option("-o,--output", faiss_opts.run.output, "FAISS codebook file to write")
            ->required();
        fs->add_flag("--force", faiss_opts.run.force, "overwrite an existing output file");
        fq::apps::add_threads_option(*fs, faiss_opts.run.threads);
        fq::apps::add_log_flags(*fs, logging, "no logs on stderr");
        tasks.emplace_back(fs, [&faiss_opts, &logging, name] {
            faiss_opts.family = name;
            faiss_opts.run.verbosity = logging.verbosity();
            fq::tasks::run_train_faiss(faiss_opts);
        });
    }

    return fq::tasks::run_main("fq-train", app, argc, argv, [&] {
        for (const auto& [sub, task] : tasks)
            if (app.got_subcommand(sub)) task();
    });
}

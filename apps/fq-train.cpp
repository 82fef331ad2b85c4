// fq-train: trains a universal codebook and writes it as a codebook file (docs/FORMAT.md).
//   fq-train fib --d 128 --k 4 --N 256 -o FILE     FibQuant block codebook (SPEC 4.2)
//   fq-train scalar --d 128 --bits 2 -o FILE       exact Lloyd-Max scalar codebook (SPEC 4.1)
//   fq-train gsrq -i calib.h5 --tensor k -o FILE   data-trained residual VQ (SPEC 4.6)
// Option parsing only; the work is fq::tasks::run_train.
#include <CLI/CLI.hpp>
#include <string>

#include "fq/tasks/run_main.hpp"
#include "fq/tasks/train.hpp"

#include "app_options.hpp"

namespace {

// Options shared by both subcommands. d_min: the smallest d the family accepts.
void add_common(CLI::App& sub, fq::tasks::TrainOptions& o, int d_min, fq::apps::LogFlags& logging) {
    sub.add_option("--d", o.d, "vector dimension (head dimension)")
        ->check(CLI::Range(d_min, 1 << 16));
    sub.add_option("-o,--output", o.output,
                   "codebook file to write (required here or in --config)");
    sub.add_flag("--force", o.force, "overwrite an existing output file");
    sub.add_option("--config", o.config,
                   "JSON file of options (keys: long option names); explicit options override it")
        ->check(CLI::ExistingFile);
    sub.add_option("--rotation", o.rotation, "rotation Pi applied before quantization")
        ->check(CLI::IsMember({"haar", "hadamard", "none"}));
    sub.add_option("--rotation-seed", o.rotation_seed, "seed of the rotation Pi")
        ->check(CLI::NonNegativeNumber);
    fq::apps::add_threads_option(sub, o.threads);
    fq::apps::add_log_flags(sub, logging, "no logs or progress on stderr");
}

}  // namespace

int main(int argc, char** argv) {
    fq::tasks::TrainOptions opts;
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
    add_common(*fib, opts, 2, logging);
    fib->add_option("--k", opts.k, "block dimension, 1 <= k < d")->check(CLI::Range(1, 1024));
    fib->add_option("--N", opts.N, "codewords per block (rate log2(N)/k bits per coordinate)")
        ->check(CLI::Range(2, 1 << 24));
    fib->add_option("--radial", opts.radial, "radial law of the initial shells")
        ->check(CLI::IsMember({"source", "companded"}));
    fib->add_option("--seed", opts.seed, "seed of the training/validation samples and restarts")
        ->check(CLI::NonNegativeNumber);
    fib->add_option("--samples", opts.samples, "training samples M (0 = max(256 N, 2^18))")
        ->check(CLI::NonNegativeNumber);
    fib->add_option("--val-samples", opts.val_samples, "validation samples (0 = M / 2)")
        ->check(CLI::NonNegativeNumber);
    fib->add_option("--restarts", opts.restarts, "Lloyd restarts (0: structured, others jittered)")
        ->check(CLI::Range(1, 1000));
    fib->add_option("--max-iter", opts.max_iter, "Lloyd iterations per restart at most")
        ->check(CLI::Range(0, 1000000));
    fib->add_option("--tol", opts.tol, "stop when the relative distortion change is below this")
        ->check(CLI::Range(0.0, 1.0));
    fib->add_option("--jitter", opts.jitter, "restart jitter, fraction of the codeword spacing")
        ->check(CLI::Range(0.0, 10.0));
    fib->add_option("--shells", opts.shells, "k = 3: number of shells L, dividing N (0 = best)")
        ->check(CLI::Range(0, 1 << 24));

    CLI::App* scalar = app.add_subcommand(
        "scalar", "exact Lloyd-Max scalar codebook of the k = 1 marginal (SPEC 4.1)");
    add_common(*scalar, opts, 3, logging);
    scalar->add_option("--bits", opts.bits, "bits per coordinate b (N = 2^b levels)")
        ->check(CLI::Range(1, 8));

    CLI::App* gsrq = app.add_subcommand(
        "gsrq",
        "data-trained residual VQ (SPEC 4.6): stage codebooks learnt by gain-shape or plain\n"
        "k-means on the K or V vectors of a calibration dump; writes a gsrq codebook file.\n"
        "--tokens a:b trains on part of a dump so that the rest can be used for evaluation\n"
        "(e.g. --tokens 0:256 here, fq-eval on tokens 256:512). Not universal: it depends on\n"
        "the model and data it was trained on.");
    gsrq->add_option("-i,--input", opts.input, "calibration KV dump (HDF5)")
        ->required()
        ->check(CLI::ExistingFile);
    gsrq->add_option("--tensor", opts.tensor, "train on keys (k) or values (v)")
        ->check(CLI::IsMember({"k", "v"}));
    gsrq->add_option("--D", opts.D, "sub-vector dimension (divides d)")->check(CLI::Range(1, 1024));
    gsrq->add_option("--K", opts.K, "centroids per stage codebook")->check(CLI::Range(2, 65536));
    gsrq->add_option("--stages", opts.stages, "residual stages S (rate S log2(K) / D)")
        ->check(CLI::Range(1, 64));
    gsrq->add_option("--kmeans", opts.kmeans,
                     "centroid update: gain-shape (GSKM, seed 004) or plain k-means (control)")
        ->check(CLI::IsMember({"gain-shape", "plain"}));
    gsrq->add_option("--weights", opts.weights,
                     "per-vector weights: name of a [heads, tokens] dataset beside each selected "
                     "one (e.g. layer_3/w for layer_3/k); values > 0");
    gsrq->add_option("--select", opts.select,
                     "glob(s) of datasets to read (default: layer_<L>/{q,k,v}); repeatable");
    gsrq->add_option("--layers", opts.layers, "layer range a:b (half-open; default all)");
    gsrq->add_option("--tokens", opts.tokens,
                     "token range a:b of every dataset (half-open; default all): train on one "
                     "part of a dump, evaluate on another");
    gsrq->add_option("--max-iter", opts.gsrq_max_iter, "k-means iterations per stage at most")
        ->check(CLI::Range(1, 100000));
    gsrq->add_option("--tol", opts.gsrq_tol, "stop when the relative distortion change is below")
        ->check(CLI::Range(0.0, 1.0));
    gsrq->add_option("--seed", opts.seed, "seed of the initial centroids")
        ->check(CLI::NonNegativeNumber);
    gsrq->add_flag("--shared", opts.shared, "one codebook per stage for all sub-vector positions");
    gsrq->add_option("--train-beam", opts.train_beam,
                     "beam width used to form the residuals between stages")
        ->check(CLI::Range(1, 1024));
    gsrq->add_option("-o,--output", opts.output, "gsrq codebook file to write")->required();
    gsrq->add_flag("--force", opts.force, "overwrite an existing output file");
    fq::apps::add_threads_option(*gsrq, opts.threads);
    fq::apps::add_log_flags(*gsrq, logging, "no logs or progress on stderr");

    std::vector<CLI::App*> faiss_subs;
#if FQ_HAVE_FAISS
    for (const char* name : {"faiss-pq", "faiss-rq"}) {
        CLI::App* fs = app.add_subcommand(
            name, std::string("FAISS ") +
                      (name[6] == 'p' ? "product quantizer (M sub-quantizers"
                                      : "residual quantizer (M stages") +
                      " of nbits bits) trained on the K or V vectors of a calibration dump:\n"
                      "the data-trained baseline; writes a FAISS codebook file.");
        fs->add_option("-i,--input", opts.input, "calibration KV dump (HDF5)")
            ->required()
            ->check(CLI::ExistingFile);
        fs->add_option("--tensor", opts.tensor, "train on keys (k) or values (v)")
            ->check(CLI::IsMember({"k", "v"}));
        fs->add_option("--M", opts.faiss_M, "sub-quantizers / stages")->check(CLI::Range(1, 4096));
        fs->add_option("--nbits", opts.faiss_nbits, "bits per sub-quantizer / stage")
            ->check(CLI::Range(1, 16));
        fs->add_option("--select", opts.select, "dataset globs (default: layer_<L>/{q,k,v})");
        fs->add_option("--tokens", opts.tokens, "token range a:b of every dataset (default all)");
        fs->add_option("-o,--output", opts.output, "FAISS codebook file to write")->required();
        fs->add_flag("--force", opts.force, "overwrite an existing output file");
        fq::apps::add_threads_option(*fs, opts.threads);
        fq::apps::add_log_flags(*fs, logging, "no logs on stderr");
        faiss_subs.push_back(fs);
    }
#endif

    return fq::tasks::run_main("fq-train", app, argc, argv, [&] {
        CLI::App* sub = app.got_subcommand(fib) ? fib : app.got_subcommand(gsrq) ? gsrq : scalar;
        for (CLI::App* fs : faiss_subs)
            if (app.got_subcommand(fs)) sub = fs;
        opts.family = sub->get_name();
        opts.verbosity = logging.verbosity();
        for (const CLI::Option* opt : sub->get_options())
            if (opt->count() > 0) opts.explicit_options.insert(opt->get_single_name());
        fq::tasks::run_train(opts);
    });
}

// The tasks behind fq-eval (docs/EVAL.md defines every metric, column and fallback):
//
//  run_eval         an original KV dump against its decoded version (a decoded dump, or a
//                   compressed file decoded here): per tensor (K, V), per layer and head and
//                   aggregated, the fidelity metrics of SPEC 5 (metrics/fidelity.hpp) and the
//                   causal attention metrics (metrics/attention.hpp), with standard errors,
//                   nominal and achieved rate; refuses impossible results (io/report.hpp).
//  run_eval_source  every shipped codebook of dimension d (and scalar b = 1..4) on fresh
//                   samples of the spherical-Beta source: total MSE per unit vector
//                   floor(d/k) D_main + D_tail against the Shannon bound 4^-b.
//  run_sweep        a list of codec configurations coded in memory and evaluated on one dump:
//                   rd.csv, rd.json, plots, the Pareto frontier and an index.html.
//
// Query vectors: the dump's q datasets, query head h reading KV head
// h / (n_heads / n_kv_heads) (GQA). A dump without q datasets uses the documented fallback
// q_t = k_t (the exact keys as queries), stated on stderr and in the JSON ("queries").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fq/io/kv_dump.hpp"
#include "fq/io/report.hpp"

namespace fq::tasks {

inline constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

// Rate of one coded tensor.
struct RateInfo {
    double nominal_bits = k_nan;   // bits per coordinate from the codec (code_bits / d)
    double achieved_bits = k_nan;  // bits per coordinate from the bytes stored
    double padding_bits = 0;       // byte padding per coordinate: (8 code_bytes - code_bits) / d
    double window_bits = 0;        // of the nominal bits: the float16 window's (and its index)
    double bytes_coded = k_nan;    // bytes of stored codes of the tensor (all layers)
};

// What was evaluated, for the report.
struct CodecLabel {
    std::string name = "decoded";        // e.g. "fib-k2-N16", "scalar-b2"; "decoded" if unknown
    std::string family;                  // "fib", "scalar", ... ("" if unknown)
    nlohmann::ordered_json description;  // codec description (null if unknown)
    RateInfo k, v;                       // per tensor
    // Per layer, when known (compressed files): that layer's codec label and rate, which
    // the per-layer and per-head rows report (per-layer codec maps); absent: the above.
    struct Layer {
        std::string name;
        RateInfo rate;
    };
    std::map<int, Layer> layers_k, layers_v;
};

// Decoder of one vector dataset: (info of the original dataset, its vectors (heads, tokens,
// d) row-major float) -> decoded vectors, same shape.
using DecodeFn =
    std::function<std::vector<float>(const io::DatasetInfo&, const std::vector<float>&)>;

// Decoder of one head of a vector dataset: (info of the original dataset, head h, x: that
// head's vectors (tokens, d) row-major float, out: its decoded vectors, (tokens, d)
// row-major float). What fq-eval uses (a compressed file or a decoded dump read a slab at a
// time): memory bounded by one head, not by the dataset.
using HeadDecodeFn = std::function<void(const io::DatasetInfo&, int, const float*, float*)>;

// Approximate scores for codecs that estimate inner products from their codes better than
// through decoded vectors (codecs::InnerProductEstimator: qjl, scalar+qjl): (key dataset,
// KV head h, q: (T, d) row-major float queries) -> (T, T) row-major double, entry (t, j) ~
// <q_t, k_j> for j <= t (others unused). An empty function: scores of the decoded keys.
using ScoreFn = std::function<std::vector<double>(const io::DatasetInfo&, int, const float*)>;

struct EvalSettings {
    std::size_t stride = 1;        // query positions: every stride-th counted back from the last
                                   // token of each sequence
    std::size_t last = 0;          // ... restricted to its last `last` tokens (0 = all)
    std::int64_t segment_len = 0;  // > 0: sequences are runs of this many tokens
                                   // (io/sequences.hpp); 0: from the dump
};

struct DumpEvaluation {
    io::Table table;                // docs/EVAL.md columns; overall rows, per layer, per head
    bool queries_in_dump = false;   // false: fallback q_t = k_t
    bool estimated_scores = false;  // scores (KL, ..., inner-product error) from a ScoreFn
    int layers = 0, n_heads = 0, n_kv_heads = 0, d = 0;
    std::int64_t tokens = 0;
    std::size_t positions = 0;              // query positions evaluated per head (all sequences)
    std::size_t sequences = 1;              // independent sequences attention was computed within
    std::string sequence_source = "none";   // how they were found (io::Sequences::source)
    double sq_error_k = 0, sq_error_v = 0;  // sum ||x - x_hat||^2 over all K, V vectors
    double raw_f16_bytes_k = 0, raw_f16_bytes_v = 0;  // 2 bytes per coordinate
};

// The documented columns of the evaluation table (docs/EVAL.md), in order.
const std::vector<std::string>& eval_columns();

// Evaluates every layer of dump: K and V decoded by decode, queries from the dump or the
// fallback. Attention (and the inner-product error) is causal within each sequence of the
// dump (io::find_sequences: settings.segment_len, segment_id, batch axis, or one sequence):
// a query never attends to another sequence's keys. UsageError if a layer lacks k or v or
// shapes disagree.
// With scores: attention metrics and the inner-product error use the estimated scores
// (metrics::attention_metrics_from_scores); vector metrics still use the decoded keys.
//
// Streaming: layer by layer and, within a layer, one KV head at a time: its k, v (read a slab
// at a time), k_hat, v_hat (decode) and, one query head at a time, q, all (tokens, d) float
// in buffers reused from head to head; so memory is bounded by one head's five arrays, not by
// the dump. Per-vector statistics are kept as mergeable moments over fixed chunks of tokens
// (metrics::Moments), merged in (layer, head, chunk) order, and the smallest cosines
// (metrics::LowTail) for the exact p5 and minimum: results independent of the slab size and
// the thread count. Under an MPI run each rank evaluates whole layers and the root gathers
// the statistics.
DumpEvaluation evaluate_dump(const io::KvDumpReader& dump, const HeadDecodeFn& decode,
                             const CodecLabel& codec, const EvalSettings& settings,
                             const ScoreFn& scores = {});
// The same with a whole-dataset decoder (in-memory round trips: sweep, plan, tests): each
// dataset is read and decoded whole once, kept while its layer is evaluated.
DumpEvaluation evaluate_dump(const io::KvDumpReader& dump, const DecodeFn& decode,
                             const CodecLabel& codec, const EvalSettings& settings,
                             const ScoreFn& scores = {});

// The refusal check of a dump evaluation (io::refusal_reason over K and V together).
io::ResultClaim claim_of(const DumpEvaluation& ev, const CodecLabel& codec);

// The human summary (metric x {K, V, attention}) printed on stdout.
std::string summary_text(const DumpEvaluation& ev, const CodecLabel& codec);

// ---- fq-eval (dump) ----------------------------------------------------------------------

struct EvalOptions {
    std::string input;       // original KV dump (-i)
    std::string decoded;     // decoded KV dump (-d), or
    std::string compressed;  // compressed file (-c), decoded here
    std::string codebooks;   // codebook directory ("" = default)
    std::string json;        // JSON report path, "-" = stdout, "" = none
    std::string csv;         // CSV report path, "-" = stdout, "" = none
    bool per_head = false;   // also print the per-layer and per-head table on stdout
    EvalSettings settings;
    bool allow_lossless = false;       // present a result with zero distortion
    bool allow_rate_mismatch = false;  // present a result whose rates disagree
    int threads = 0;                   // OpenMP threads; 0 = default
    int verbosity = 0;                 // -1 quiet, 0 normal, 1 verbose
};
void run_eval(const EvalOptions& opts);

// ---- fq-eval source ----------------------------------------------------------------------

struct SourceEvalOptions {
    int d = 128;                   // dimension
    std::string codebooks;         // codebook directory ("" = default); uses <dir>/d<d>/
    std::size_t samples = 262144;  // source samples per block codebook
    std::uint64_t seed = 1;        // seed of the samples
    std::string json, csv;         // report paths ("-" = stdout, "" = none)
    std::string plot;              // plot image (.png or .svg; "" = none)
    int threads = 0;
    int verbosity = 0;
};

// One evaluated codebook of the source table.
struct SourceRow {
    std::string name, family, path;  // path "" for scalar codebooks computed here
    int d = 0, k = 0, N = 0, tail_k = 0, tail_N = 0;
    double bits = 0;                         // payload bits per coordinate
    double total_mse = 0, total_mse_se = 0;  // per unit vector, measured
    double shannon = 0;                      // 4^-bits
    double db_above = 0;                     // 10 log10(total_mse / shannon)
    double file_val_total_mse = k_nan;       // as recorded in the codebook file
};

// The source evaluation (rows sorted by family, then bits). Standard errors by batch means
// over 16 batches of the samples.
std::vector<SourceRow> evaluate_source(const SourceEvalOptions& opts);
io::Table source_table(const std::vector<SourceRow>& rows);
void run_eval_source(const SourceEvalOptions& opts);

// ---- fq-eval sweep -----------------------------------------------------------------------

struct SweepOptions {
    std::string config;          // sweep config JSON (docs/EVAL.md, "Sweep config")
    std::string input;           // KV dump
    std::string output;          // report directory (created)
    std::string codebooks;       // codebook directory ("" = default)
    std::string format = "png";  // plot images: png | svg
    EvalSettings settings;       // overridden by the config's "stride" / "last" when given
    int threads = 0;
    int verbosity = 0;
};

// Highest compression ratio whose attention-output cosine reaches target (row index into
// the rd table; -1 if none).
struct FrontierPick {
    double target = 0;
    long row = -1;
};

void run_sweep(const SweepOptions& opts);

// What the sweep report needs besides the rd table.
struct SweepReportInfo {
    std::string dir;     // report directory (exists)
    std::string input;   // the dump
    std::string format;  // png | svg
    int d = 0;
    bool queries_in_dump = true;
    std::size_t positions = 0;  // query positions per head
    std::string frontier_text;  // the frontier lines printed on stdout
};
// Writes the plots (<name>.<format> and <name>.<format>.gp) and index.html of a sweep into
// info.dir from the rd table (eval_columns() + "pareto"). IoError if gnuplot fails.
void write_sweep_report(const io::Table& rd, const SweepReportInfo& info);

// Pareto-optimal rows among (compression ratio x, fidelity y): no other point has x' >= x
// and y' >= y with one strict. Returns one flag per point.
std::vector<bool> pareto_front(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace fq::tasks

#include "fq/tasks/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "fq/codecs/gsrq.hpp"
#include "fq/codecs/scalar.hpp"
#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rotation.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/io/encoded_file.hpp"
#include "fq/io/gsrq_file.hpp"
#if FQ_HAVE_FAISS
#include "fq/io/faiss_file.hpp"
#endif
#include "fq/io/kv_dump.hpp"
#include "fq/tasks/paths.hpp"
#include "fq/tasks/run_main.hpp"
#include "fq/train/gskm.hpp"

namespace fq::tasks {

namespace {

using Json = nlohmann::json;

// Fixed-point tolerance of the scalar Lloyd-Max quantizer (SPEC 4.1); recorded in the file.
constexpr double k_scalar_tol = 1e-12;

// ---- config keys: long option name -> (family it applies to, setter)

struct ConfigKey {
    const char* family;  // "" = both
    std::function<void(const Json&, TrainOptions&)> set;
};

// Setters throw UsageError("<predicate>"); apply_train_config prefixes file and key.
[[noreturn]] void bad_value(const char* want) {
    throw UsageError(std::string("must be ") + want);
}

template <class Int>
Int get_integer(const Json& v) {
    if (!v.is_number_integer()) bad_value("an integer");
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))
            bad_value("a smaller integer");
        return static_cast<Int>(u);
    }
    const auto x = v.get<std::int64_t>();
    if (x < static_cast<std::int64_t>(std::numeric_limits<Int>::min()) ||
        (x > 0 && static_cast<std::uint64_t>(x) >
                      static_cast<std::uint64_t>(std::numeric_limits<Int>::max())))
        bad_value(std::is_signed_v<Int> ? "an integer in range" : "a non-negative integer");
    return static_cast<Int>(x);
}

const std::map<std::string, ConfigKey>& config_keys() {
    using O = TrainOptions;
    // Setters for one field of a given JSON type (integers range-checked for the field's type).
    auto integer = []<class Int>(Int O::*field) {
        return [field](const Json& v, O& o) { o.*field = get_integer<Int>(v); };
    };
    auto number = [](double O::*field) {
        return [field](const Json& v, O& o) {
            if (!v.is_number()) bad_value("a number");
            o.*field = v.get<double>();
        };
    };
    auto string = [](std::string O::*field) {
        return [field](const Json& v, O& o) {
            if (!v.is_string()) bad_value("a string");
            o.*field = v.get<std::string>();
        };
    };
    auto boolean = [](bool O::*field) {
        return [field](const Json& v, O& o) {
            if (!v.is_boolean()) bad_value("true or false");
            o.*field = v.get<bool>();
        };
    };
    static const std::map<std::string, ConfigKey> keys = {
        {"family",
         {"",
          [](const Json& v, O& o) {
              if (!v.is_string() || v.get<std::string>() != o.family)
                  throw UsageError("is " + v.dump() + " but the command is '" + o.family + "'");
          }}},
        {"d", {"", integer(&O::d)}},
        {"k", {"fib", integer(&O::k)}},
        {"N", {"fib", integer(&O::N)}},
        {"bits", {"scalar", integer(&O::bits)}},
        {"radial", {"fib", string(&O::radial)}},
        {"seed", {"fib", integer(&O::seed)}},
        {"samples", {"fib", integer(&O::samples)}},
        {"val-samples", {"fib", integer(&O::val_samples)}},
        {"restarts", {"fib", integer(&O::restarts)}},
        {"max-iter", {"fib", integer(&O::max_iter)}},
        {"tol", {"fib", number(&O::tol)}},
        {"jitter", {"fib", number(&O::jitter)}},
        {"shells", {"fib", integer(&O::shells)}},
        {"rotation", {"", string(&O::rotation)}},
        {"rotation-seed", {"", integer(&O::rotation_seed)}},
        {"output", {"", string(&O::output)}},
        {"force", {"", boolean(&O::force)}},
        {"threads", {"", integer(&O::threads)}},
    };
    return keys;
}

std::string fmt(const char* format, double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, x);
    return buf;
}

void print_summary(const io::UniversalCodebook& cb, const TrainOptions& opts, double seconds) {
    const auto& s = cb.spec;
    std::ostringstream out;
    out << "codebook      " << opts.output << "\n";
    out << "family        " << cb.family << "\n";
    out << "d, k, N       " << s.d << ", " << s.main.k << ", " << s.main.N;
    if (s.tail.N > 0) out << "  (tail block: " << s.tail.k << " coords, N_r = " << s.tail.N << ")";
    out << "\n";
    out << "rate          " << fmt("%.4f", cb.rate) << " bits/coord (payload)\n";
    const double bound = std::pow(4.0, -cb.rate);
    out << "bound 4^-b    " << fmt("%.6f", bound) << "\n";
    out << "train MSE     " << fmt("%.6f", cb.train_total_mse) << " per unit vector, "
        << fmt("%+.3f", io::db_above_bound(cb.train_total_mse, cb.rate)) << " dB above bound\n";
    out << "val MSE       " << fmt("%.6f", cb.val_total_mse) << " per unit vector, "
        << fmt("%+.3f", io::db_above_bound(cb.val_total_mse, cb.rate)) << " dB above bound\n";
    if (cb.family == "fib") {
        const auto& m = cb.training["main"];
        out << "init (main)   " << m["init"].get<std::string>() << " "
            << fmt("%.6f", m["init_distortion"].get<double>()) << " vs random samples "
            << fmt("%.6f", m["random_init_distortion"].get<double>()) << " per block\n";
        out << "best restart  " << m["best_restart"].get<int>() << " (of 0.." << opts.restarts - 1
            << "; 0 = unjittered structured init)\n";
    } else {
        out << "construction  exact Lloyd-Max fixed point, " << cb.training["iterations"].get<int>()
            << " iterations\n";
    }
    out << "content hash  " << cb.content_hash << "\n";
    out << "time          " << fmt("%.2f", seconds) << " s\n";
    std::cout << out.str() << std::flush;
}

void log_restarts(const io::UniversalCodebook& cb) {
    if (verbosity() != Verbosity::verbose || cb.family != "fib") return;
    for (const char* which : {"main", "tail"}) {
        const auto& b = cb.training[which];
        if (b.is_null()) continue;
        for (const auto& r : b["restarts"])
            log_verbose(std::string(which) + " restart " + r["restart"].dump() + ": " +
                        r["iterations"].dump() + " iterations, train " +
                        fmt("%.6f", r["train_distortion"].get<double>()) + ", val " +
                        fmt("%.6f", r["val_distortion"].get<double>()) + " per block");
    }
}

}  // namespace

void apply_train_config(const std::string& path, TrainOptions& opts) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError("cannot open config '" + path + "'");
    Json cfg;
    try {
        cfg = Json::parse(in);
    } catch (const Json::exception& e) {
        std::string msg = e.what();
        for (char& c : msg)
            if (c == '\n') c = ' ';
        throw UsageError("config '" + path + "' is not valid JSON: " + msg);
    }
    if (!cfg.is_object()) throw UsageError("config '" + path + "' is not a JSON object");
    const auto& keys = config_keys();
    for (const auto& [key, value] : cfg.items()) {
        const auto it = keys.find(key);
        if (it == keys.end()) throw UsageError("config '" + path + "': unknown key '" + key + "'");
        const std::string family = it->second.family;
        if (!family.empty() && family != opts.family)
            throw UsageError("config '" + path + "': '" + key + "' does not apply to " +
                             opts.family + " codebooks");
        if (opts.explicit_options.count(key)) continue;
        try {
            it->second.set(value, opts);
        } catch (const UsageError& e) {
            throw UsageError("config '" + path + "': '" + key + "' " + e.what());
        }
    }
}

train::FibParams fib_params(const TrainOptions& o) {
    train::FibParams p;
    p.d = o.d;
    p.k = o.k;
    p.N = o.N;
    p.radial = codecs::radial_init_from_string(o.radial);
    p.seed = o.seed;
    p.train_samples = o.samples;
    p.val_samples = o.val_samples;
    p.restarts = o.restarts;
    p.max_iter = o.max_iter;
    p.tol = o.tol;
    p.jitter = o.jitter;
    p.k3_shells = o.shells;
    return p;
}

void run_train(TrainOptions opts) {
    if (opts.family == "faiss-pq" || opts.family == "faiss-rq") {
        require(opts.config.empty(), "fq-train " + opts.family + " takes no --config");
        run_train_faiss(opts);
        return;
    }
    if (opts.family == "gsrq") {
        require(opts.config.empty(), "fq-train gsrq takes no --config");
        run_train_gsrq(opts);
        return;
    }
    const auto start = std::chrono::steady_clock::now();
    set_verbosity(static_cast<Verbosity>(std::clamp(opts.verbosity, -1, 1)));
    if (!opts.config.empty()) apply_train_config(opts.config, opts);
    require(opts.family == "fib" || opts.family == "scalar",
            "unknown family '" + opts.family + "' (expected fib or scalar)");
    require(!opts.output.empty(), "no output file: give -o/--output");
    require(opts.threads >= 0, "threads must be >= 0");

    // Fail before training, not after: an existing output, a missing directory, a rotation
    // that cannot be built for d.
    check_new_output(opts.output, opts.force);
    const core::RotationKind rotation = core::rotation_kind_from_string(opts.rotation);
    (void)core::Rotation(rotation, opts.d, opts.rotation_seed);
    core::set_threads(opts.threads);

    io::UniversalCodebook cb;
    if (opts.family == "fib") {
        const train::FibParams params = fib_params(opts);
        log_verbose("training fib d=" + std::to_string(params.d) +
                    " k=" + std::to_string(params.k) + " N=" + std::to_string(params.N) + " on " +
                    std::to_string(core::max_threads()) + " threads");
        ProgressBar bar;
        const auto result = train::train_fib(
            params, [&bar](const std::string& stage, double f) { bar.update(stage, f); });
        bar.finish();
        cb = io::make_fib_codebook(result, rotation, opts.rotation_seed);
    } else {
        const auto q = codecs::lloyd_max_scalar(opts.d, opts.bits, k_scalar_tol);
        cb = io::make_scalar_codebook(q, k_scalar_tol, rotation, opts.rotation_seed);
    }
    log_restarts(cb);
    io::save_codebook(cb, opts.output, opts.force);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    print_summary(cb, opts, seconds);
}

// ---- gsrq ----------------------------------------------------------------------------

using OJson = nlohmann::ordered_json;

void run_train_gsrq(const TrainOptions& o) {
    namespace fs = std::filesystem;
    const auto start = std::chrono::steady_clock::now();
    set_verbosity(static_cast<Verbosity>(std::clamp(o.verbosity, -1, 1)));
    require(!o.input.empty(), "no input: give -i/--input");
    require(!o.output.empty(), "no output file: give -o/--output");
    require(o.tensor == "k" || o.tensor == "v", "--tensor must be k or v");
    require(o.D >= 1 && o.K >= 2 && o.stages >= 1, "need D >= 1, K >= 2, stages >= 1");
    check_new_output(o.output, o.force);
    train::GsrqTrainOptions t;
    t.D = o.D;
    t.K = o.K;
    t.S = o.stages;
    t.shared = o.shared;
    t.train_beam = o.train_beam;
    t.kmeans.method = train::kmeans_method_from_string(o.kmeans);
    t.kmeans.max_iter = o.gsrq_max_iter;
    t.kmeans.tol = o.gsrq_tol;
    t.kmeans.seed = o.seed;
    core::set_threads(o.threads);

    // The calibration vectors: every selected dataset of the tensor kind in the layer range,
    // tokens [t0, t1) of every head, in natural path order.
    io::KvDumpLayout layout;
    layout.select = o.select;
    io::KvDumpReader reader(o.input, layout);
    const io::KvKind kind = o.tensor == "k" ? io::KvKind::k : io::KvKind::v;
    int max_layer = -1;
    for (const io::DatasetInfo& info : reader.datasets())
        if (info.kind == kind) max_layer = std::max(max_layer, info.layer);
    std::int64_t l0 = 0, l1 = max_layer + 1;
    if (!o.layers.empty()) {
        require(max_layer >= 0, "--layers: the selected datasets have no layer numbers");
        std::tie(l0, l1) = io::parse_range(o.layers, max_layer + 1, "--layers");
    }
    std::vector<float> x;
    std::vector<double> w;
    OJson used = OJson::array();
    int d = 0;
    std::string token_range;
    for (const io::DatasetInfo& info : reader.datasets()) {
        if (info.kind != kind || info.tokens == 0) continue;
        if (info.layer >= 0 ? (info.layer < l0 || info.layer >= l1) : !o.layers.empty()) continue;
        if (d == 0) d = info.d;
        if (info.d != d)
            throw UsageError(o.input + ": " + info.path + " has d = " + std::to_string(info.d) +
                             ", the first selected dataset d = " + std::to_string(d));
        const auto [t0, t1] = o.tokens.empty()
                                  ? std::pair<std::int64_t, std::int64_t>{0, info.tokens}
                                  : io::parse_range(o.tokens, info.tokens, "--tokens");
        token_range = std::to_string(t0) + ":" + std::to_string(t1);
        const io::Slab slab{0, info.heads, t0, t1};
        const std::vector<float> v = reader.read(info, slab);
        io::check_finite(v.data(), slab, info.d, o.input, info.path);
        x.insert(x.end(), v.begin(), v.end());
        if (!o.weights.empty()) {
            const auto slash = info.path.rfind('/');
            const std::string wpath =
                (slash == std::string::npos ? "" : info.path.substr(0, slash + 1)) + o.weights;
            // A [heads, tokens] array read as a single-head "td" dataset: rows = heads.
            const io::DatasetInfo wi = reader.info(wpath, "td");
            if (wi.tokens != info.heads || wi.d != info.tokens)
                throw UsageError(o.input + ": " + wpath + " must have shape [heads, tokens] = [" +
                                 std::to_string(info.heads) + ", " + std::to_string(info.tokens) +
                                 "]");
            const std::vector<float> all = reader.read_all(wi);
            for (int h = 0; h < info.heads; ++h)
                for (std::int64_t tk = t0; tk < t1; ++tk) {
                    const double wv = all[static_cast<std::size_t>(h * info.tokens + tk)];
                    if (!(wv > 0) || !std::isfinite(wv))
                        throw NumericError(o.input + ": " + wpath +
                                           ": weights must be positive "
                                           "and finite, got " +
                                           std::to_string(wv));
                    w.push_back(wv);
                }
        }
        used.push_back(info.path);
    }
    if (used.empty())
        throw IoError(o.input + ": no " + o.tensor +
                      " dataset selected (check --select, --layers)");
    const std::size_t n = x.size() / static_cast<std::size_t>(d);
    log_verbose("training gsrq on " + std::to_string(n) + " vectors of d = " + std::to_string(d) +
                " from " + std::to_string(used.size()) + " datasets");
    if (d % o.D != 0)
        throw UsageError("--D " + std::to_string(o.D) +
                         " does not divide d = " + std::to_string(d));
    if (n < static_cast<std::size_t>(o.K))
        throw UsageError("only " + std::to_string(n) +
                         " calibration vectors for K = " + std::to_string(o.K) + " centroids");

    const train::GsrqTrainResult result =
        train::train_gsrq(x.data(), n, d, w.empty() ? nullptr : w.data(), t);

    OJson c = OJson::object();
    c["method"] = "gsrq";
    c["kmeans"] = o.kmeans;
    c["D"] = o.D;
    c["K"] = o.K;
    c["S"] = o.stages;
    c["shared"] = o.shared;
    c["train_beam"] = o.train_beam;
    c["max_iter"] = o.gsrq_max_iter;
    c["tol"] = o.gsrq_tol;
    c["seed"] = o.seed;
    c["input"] = fs::path(o.input).filename().string();
    c["tensor"] = o.tensor;
    c["select"] = o.select;
    c["layers"] = o.layers.empty() ? ":" : o.layers;
    c["tokens"] = o.tokens.empty() ? ":" : o.tokens;
    c["datasets"] = used;
    c["vectors"] = n;
    c["weights"] = o.weights.empty() ? OJson(nullptr) : OJson(o.weights);
    io::GsrqCodebookFile f = io::make_gsrq_file(result, c);

    // Quality of the codec (greedy encoder) on the calibration vectors themselves.
    const codecs::GsrqCodec codec(f.codebooks, 1);
    std::vector<std::uint8_t> codes(n * codec.code_bytes());
    std::vector<float> xh(x.size());
    core::parallel_chunks(n, 512, [&](std::size_t, std::size_t a, std::size_t b) {
        codec.encode(x.data() + a * d, b - a, codes.data() + a * codec.code_bytes());
        codec.decode(codes.data() + a * codec.code_bytes(), b - a, xh.data() + a * d);
    });
    double err = 0, energy = 0, cos_sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        double e = 0, xx = 0, hh = 0, xy = 0;
        for (int j = 0; j < d; ++j) {
            const double a = x[i * d + j], b = xh[i * d + j];
            e += (a - b) * (a - b);
            xx += a * a;
            hh += b * b;
            xy += a * b;
        }
        err += e;
        energy += xx;
        cos_sum += (xx > 0 && hh > 0) ? xy / std::sqrt(xx * hh) : 0.0;
    }
    OJson fin = OJson::object();
    fin["encoder"] = "greedy (beam 1)";
    fin["mse_per_coord"] = err / (static_cast<double>(n) * d);
    fin["nmse"] = energy > 0 ? err / energy : 0.0;
    fin["mean_cosine"] = cos_sum / static_cast<double>(n);
    f.training["calibration"] = fin;
    io::save_gsrq(f, o.output, o.force);

    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::ostringstream out;
    out << "codebook      " << o.output << "\n";
    out << "family        gsrq (" << o.kmeans << " k-means)\n";
    out << "data          " << n << " " << (o.tensor == "k" ? "K" : "V") << " vectors of d = " << d
        << " from " << used.size() << " datasets, tokens " << token_range << "\n";
    out << "D, K, S       " << o.D << ", " << o.K << ", " << o.stages
        << (o.shared ? " (shared codebooks)" : " (one codebook per position)") << "\n";
    out << "rate          " << fmt("%.4f", f.rate()) << " bits/coord (S log2 K / D)\n";
    out << "MSE per coord " << fmt("%.6g", fin["mse_per_coord"].get<double>()) << "  nMSE "
        << fmt("%.5f", fin["nmse"].get<double>()) << "  mean cosine "
        << fmt("%.5f", fin["mean_cosine"].get<double>()) << " (calibration vectors)\n";
    for (const train::GsrqStageStats& st : result.stages)
        out << "stage " << st.stage << "       shrinkage " << fmt("%.4f", st.stats.shrinkage)
            << " (global " << fmt("%.4f", st.stats.shrinkage_global) << "), cosine "
            << fmt("%.4f", st.stats.mean_cosine) << ", MSE/coord after "
            << fmt("%.6g", st.mse_per_coord) << "\n";
    out << "content hash  " << f.content_hash << "\n";
    out << "time          " << fmt("%.2f", seconds) << " s\n";
    std::cout << out.str() << std::flush;
}

// ---- faiss-pq, faiss-rq ------------------------------------------------------------------

void run_train_faiss(const TrainOptions& o) {
#if FQ_HAVE_FAISS
    namespace fs = std::filesystem;
    const auto start = std::chrono::steady_clock::now();
    set_verbosity(static_cast<Verbosity>(std::clamp(o.verbosity, -1, 1)));
    require(!o.input.empty(), "no input: give -i/--input");
    require(!o.output.empty(), "no output file: give -o/--output");
    require(o.tensor == "k" || o.tensor == "v", "--tensor must be k or v");
    check_new_output(o.output, o.force);
    core::set_threads(o.threads);
    const codecs::FaissKind fk =
        o.family == "faiss-pq" ? codecs::FaissKind::pq : codecs::FaissKind::rq;

    io::KvDumpLayout layout;
    layout.select = o.select;
    io::KvDumpReader reader(o.input, layout);
    const io::KvKind kind = o.tensor == "k" ? io::KvKind::k : io::KvKind::v;
    std::vector<float> x;
    OJson used = OJson::array();
    int d = 0;
    for (const io::DatasetInfo& info : reader.datasets()) {
        if (info.kind != kind || info.tokens == 0) continue;
        if (d == 0) d = info.d;
        if (info.d != d)
            throw UsageError(o.input + ": " + info.path + " has d = " + std::to_string(info.d) +
                             ", the first selected dataset d = " + std::to_string(d));
        const auto [t0, t1] = o.tokens.empty()
                                  ? std::pair<std::int64_t, std::int64_t>{0, info.tokens}
                                  : io::parse_range(o.tokens, info.tokens, "--tokens");
        const io::Slab slab{0, info.heads, t0, t1};
        const std::vector<float> v = reader.read(info, slab);
        io::check_finite(v.data(), slab, info.d, o.input, info.path);
        x.insert(x.end(), v.begin(), v.end());
        used.push_back(info.path);
    }
    if (used.empty()) throw IoError(o.input + ": no " + o.tensor + " dataset selected");
    const std::size_t n = x.size() / static_cast<std::size_t>(d);
    log_verbose("training " + o.family + " on " + std::to_string(n) +
                " vectors of d = " + std::to_string(d));
    io::FaissCodebookFile f{codecs::FaissCodec::train(fk, d, o.faiss_M, o.faiss_nbits, x.data(), n),
                            OJson::object(), ""};
    OJson& c = f.construction;
    c["method"] = o.family;
    c["M"] = o.faiss_M;
    c["nbits"] = o.faiss_nbits;
    c["input"] = fs::path(o.input).filename().string();
    c["tensor"] = o.tensor;
    c["select"] = o.select;
    c["tokens"] = o.tokens.empty() ? ":" : o.tokens;
    c["datasets"] = used;
    c["vectors"] = n;

    std::vector<std::uint8_t> codes(n * f.codec.code_bytes());
    std::vector<float> xh(x.size());
    f.codec.encode(x.data(), n, codes.data());
    f.codec.decode(codes.data(), n, xh.data());
    double err = 0, energy = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        err += (double(x[i]) - xh[i]) * (double(x[i]) - xh[i]);
        energy += double(x[i]) * x[i];
    }
    io::save_faiss(f, o.output, o.force);
    f.content_hash = io::faiss_content_hash(f.codec.to_bytes());

    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::ostringstream out;
    out << "codebook      " << o.output << "\n";
    out << "family        " << o.family << "\n";
    out << "data          " << n << " " << (o.tensor == "k" ? "K" : "V") << " vectors of d = " << d
        << " from " << used.size() << " datasets\n";
    out << "M, nbits      " << o.faiss_M << ", " << o.faiss_nbits << "\n";
    out << "rate          " << fmt("%.4f", f.codec.rate()) << " bits/coord (M nbits / d)\n";
    out << "MSE per coord " << fmt("%.6g", err / static_cast<double>(x.size())) << "  nMSE "
        << fmt("%.5f", energy > 0 ? err / energy : 0.0) << " (calibration vectors)\n";
    out << "content hash  " << f.content_hash << "\n";
    out << "time          " << fmt("%.2f", seconds) << " s\n";
    std::cout << out.str() << std::flush;
#else
    throw UsageError("fq-train " + o.family + ": this build has no FAISS (FQ_WITH_FAISS)");
#endif
}

}  // namespace fq::tasks

#include "fq/tasks/train_universal.hpp"

#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "fq/codecs/scalar.hpp"
#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rotation.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/tasks/run_main.hpp"

namespace fq::tasks {

namespace {

using Json = nlohmann::json;

// Fixed-point tolerance of the scalar Lloyd-Max quantizer (SPEC 4.1); recorded in the file.
constexpr double k_scalar_tol = 1e-12;

// ---- config files: long option name -> setter of one options struct

template <class O>
using ConfigKeys = std::map<std::string, std::function<void(const Json&, O&)>>;

// Setters throw UsageError("<predicate>"); apply_config prefixes file and key.
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

// Setters of one field of a given JSON type (integers range-checked for the field's type).
template <class O, class Int>
auto integer(Int O::*field) {
    return [field](const Json& v, O& o) { o.*field = get_integer<Int>(v); };
}
template <class O>
auto number(double O::*field) {
    return [field](const Json& v, O& o) {
        if (!v.is_number()) bad_value("a number");
        o.*field = v.get<double>();
    };
}
template <class O>
auto string(std::string O::*field) {
    return [field](const Json& v, O& o) {
        if (!v.is_string()) bad_value("a string");
        o.*field = v.get<std::string>();
    };
}

// The keys both universal subcommands take (fields of the same names in both structs).
template <class O>
ConfigKeys<O> common_keys(const std::string& family) {
    return {
        {"family",
         [family](const Json& v, O&) {
             if (!v.is_string() || v.get<std::string>() != family)
                 throw UsageError("is " + v.dump() + " but the command is '" + family + "'");
         }},
        {"d", integer(&O::d)},
        {"rotation", string(&O::rotation)},
        {"rotation-seed", integer(&O::rotation_seed)},
        {"output", [](const Json& v, O& o) { string (&TrainRun::output)(v, o.run); }},
        {"force",
         [](const Json& v, O& o) {
             if (!v.is_boolean()) bad_value("true or false");
             o.run.force = v.get<bool>();
         }},
        {"threads", [](const Json& v, O& o) { integer (&TrainRun::threads)(v, o.run); }},
    };
}

const ConfigKeys<TrainFibOptions>& fib_keys() {
    using O = TrainFibOptions;
    static const ConfigKeys<O> keys = [] {
        ConfigKeys<O> k = common_keys<O>("fib");
        k.insert({{"k", integer(&O::k)},
                  {"N", integer(&O::N)},
                  {"radial", string(&O::radial)},
                  {"seed", integer(&O::seed)},
                  {"samples", integer(&O::samples)},
                  {"val-samples", integer(&O::val_samples)},
                  {"restarts", integer(&O::restarts)},
                  {"max-iter", integer(&O::max_iter)},
                  {"tol", number(&O::tol)},
                  {"jitter", number(&O::jitter)},
                  {"shells", integer(&O::shells)}});
        return k;
    }();
    return keys;
}

const ConfigKeys<TrainScalarOptions>& scalar_keys() {
    using O = TrainScalarOptions;
    static const ConfigKeys<O> keys = [] {
        ConfigKeys<O> k = common_keys<O>("scalar");
        k.insert({"bits", integer(&O::bits)});
        return k;
    }();
    return keys;
}

// Applies the JSON config at path to o (keys in name order), except the keys given on the
// command line. A key of the other subcommand's table "does not apply"; others are unknown.
template <class O, class Other>
void apply_config(const std::string& path, const std::string& family, const ConfigKeys<O>& keys,
                  const ConfigKeys<Other>& other, O& o) {
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
    for (const auto& [key, value] : cfg.items()) {
        const auto it = keys.find(key);
        if (it == keys.end()) {
            if (other.count(key))
                throw UsageError("config '" + path + "': '" + key + "' does not apply to " +
                                 family + " codebooks");
            throw UsageError("config '" + path + "': unknown key '" + key + "'");
        }
        if (o.explicit_options.count(key)) continue;
        try {
            it->second(value, o);
        } catch (const UsageError& e) {
            throw UsageError("config '" + path + "': '" + key + "' " + e.what());
        }
    }
}

void print_summary(const io::UniversalCodebook& cb, const std::string& output, int restarts,
                   double seconds) {
    const auto& s = cb.spec;
    std::ostringstream out;
    out << "codebook      " << output << "\n";
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
        out << "best restart  " << m["best_restart"].get<int>() << " (of 0.." << restarts - 1
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
    if (verbosity() != Verbosity::verbose) return;
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

// Fail before training, not after: a rotation that cannot be built for d.
core::RotationKind checked_rotation(const std::string& name, int d, std::uint64_t seed) {
    const core::RotationKind rotation = core::rotation_kind_from_string(name);
    (void)core::Rotation(rotation, d, seed);
    return rotation;
}

}  // namespace

train::FibParams fib_params(const TrainFibOptions& o) {
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

void run_train_fib(TrainFibOptions opts) {
    const auto start = std::chrono::steady_clock::now();
    if (!opts.config.empty()) apply_config(opts.config, "fib", fib_keys(), scalar_keys(), opts);
    opts.run.start();
    const core::RotationKind rotation = checked_rotation(opts.rotation, opts.d, opts.rotation_seed);
    const train::FibParams params = fib_params(opts);
    log_verbose("training fib d=" + std::to_string(params.d) + " k=" + std::to_string(params.k) +
                " N=" + std::to_string(params.N) + " on " + std::to_string(core::max_threads()) +
                " threads");
    ProgressBar bar;
    const auto result = train::train_fib(
        params, [&bar](const std::string& stage, double f) { bar.update(stage, f); });
    bar.finish();
    const io::UniversalCodebook cb = io::make_fib_codebook(result, rotation, opts.rotation_seed);
    log_restarts(cb);
    io::save_codebook(cb, opts.run.output, opts.run.force);
    print_summary(cb, opts.run.output, opts.restarts, seconds_since(start));
}

void run_train_scalar(TrainScalarOptions opts) {
    const auto start = std::chrono::steady_clock::now();
    if (!opts.config.empty()) apply_config(opts.config, "scalar", scalar_keys(), fib_keys(), opts);
    opts.run.start();
    const core::RotationKind rotation = checked_rotation(opts.rotation, opts.d, opts.rotation_seed);
    const auto q = codecs::lloyd_max_scalar(opts.d, opts.bits, k_scalar_tol);
    const io::UniversalCodebook cb =
        io::make_scalar_codebook(q, k_scalar_tol, rotation, opts.rotation_seed);
    io::save_codebook(cb, opts.run.output, opts.run.force);
    print_summary(cb, opts.run.output, 0, seconds_since(start));
}

}  // namespace fq::tasks

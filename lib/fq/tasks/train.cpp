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
    auto integer = [](int O::*field) {
        return [field](const Json& v, O& o) { o.*field = get_integer<int>(v); };
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
        {"radial",
         {"fib",
          [](const Json& v, O& o) {
              if (!v.is_string()) bad_value("a string");
              o.radial = v.get<std::string>();
          }}},
        {"seed", {"fib", [](const Json& v, O& o) { o.seed = get_integer<std::uint64_t>(v); }}},
        {"samples", {"fib", [](const Json& v, O& o) { o.samples = get_integer<std::size_t>(v); }}},
        {"val-samples",
         {"fib", [](const Json& v, O& o) { o.val_samples = get_integer<std::size_t>(v); }}},
        {"restarts", {"fib", integer(&O::restarts)}},
        {"max-iter", {"fib", integer(&O::max_iter)}},
        {"tol",
         {"fib",
          [](const Json& v, O& o) {
              if (!v.is_number()) bad_value("a number");
              o.tol = v.get<double>();
          }}},
        {"jitter",
         {"fib",
          [](const Json& v, O& o) {
              if (!v.is_number()) bad_value("a number");
              o.jitter = v.get<double>();
          }}},
        {"shells", {"fib", integer(&O::shells)}},
        {"rotation",
         {"",
          [](const Json& v, O& o) {
              if (!v.is_string()) bad_value("a string");
              o.rotation = v.get<std::string>();
          }}},
        {"rotation-seed",
         {"", [](const Json& v, O& o) { o.rotation_seed = get_integer<std::uint64_t>(v); }}},
        {"output",
         {"",
          [](const Json& v, O& o) {
              if (!v.is_string()) bad_value("a string");
              o.output = v.get<std::string>();
          }}},
        {"force",
         {"",
          [](const Json& v, O& o) {
              if (!v.is_boolean()) bad_value("true or false");
              o.force = v.get<bool>();
          }}},
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
    const auto start = std::chrono::steady_clock::now();
    set_verbosity(static_cast<Verbosity>(std::clamp(opts.verbosity, -1, 1)));
    if (!opts.config.empty()) apply_train_config(opts.config, opts);
    require(opts.family == "fib" || opts.family == "scalar",
            "unknown family '" + opts.family + "' (expected fib or scalar)");
    require(!opts.output.empty(), "no output file: give -o/--output");
    require(opts.threads >= 0, "threads must be >= 0");

    // Fail before training, not after: an existing output, a missing directory, a rotation
    // that cannot be built for d.
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!opts.force && fs::exists(opts.output, ec))
        throw UsageError("output file '" + opts.output + "' exists (use --force to overwrite)");
    const fs::path dir = fs::path(opts.output).parent_path();
    if (!dir.empty() && !fs::is_directory(dir, ec))
        throw IoError("output directory '" + dir.string() + "' does not exist");
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

}  // namespace fq::tasks

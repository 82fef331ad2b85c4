#include "fq/io/codebook_store.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "fq/core/error.hpp"
#include "fq/io/text_file.hpp"
#include "fq/train/fib_train.hpp"

#ifndef FQ_CODEBOOK_DIR
#define FQ_CODEBOOK_DIR "codebooks"
#endif

namespace fs = std::filesystem;

namespace fq::io {

namespace {

ShippedCodebook shipped_entry(const std::string& path, const UniversalCodebook& cb) {
    ShippedCodebook s;
    s.path = path;
    s.family = cb.family;
    s.d = cb.spec.d;
    s.k = cb.spec.main.k;
    s.N = cb.spec.main.N;
    s.rate = cb.rate;
    s.val_total_mse = cb.val_total_mse;
    s.content_hash = cb.content_hash;
    return s;
}

bool is_hash(const std::string& ref) {
    return ref.rfind("sha256:", 0) == 0;
}

std::string format_rate(double r) {
    std::ostringstream s;
    s << r;
    return s.str();
}

}  // namespace

std::string codebook_dir(const std::string& option) {
    if (!option.empty()) return option;
    if (const char* env = std::getenv("FQ_CODEBOOKS"); env != nullptr && *env != '\0') return env;
    return FQ_CODEBOOK_DIR;
}

CodebookStore::CodebookStore(const std::string& dir) : m_dir(codebook_dir(dir)) {}

void CodebookStore::add(StoredCodebook cb) {
    std::string hash = cb.content_hash;
    m_stored[hash] = std::move(cb);
}

void CodebookStore::add(const UniversalCodebook& cb) {
    add(StoredCodebook{k_codebook_format, cb.family, compute_content_hash(cb),
                       serialize_codebook(cb)});
}

void CodebookStore::add(const GsrqCodebookFile& cb) {
    add(StoredCodebook{k_gsrq_format, "gsrq", gsrq_content_hash(cb.codebooks), serialize_gsrq(cb)});
}

const StoredCodebook* CodebookStore::find(const std::string& hash) const {
    const auto it = m_stored.find(hash);
    return it == m_stored.end() ? nullptr : &it->second;
}

const UniversalCodebook& CodebookStore::load_cached(const std::string& path) const {
    if (auto it = m_loaded.find(path); it != m_loaded.end()) return it->second;
    return m_loaded.emplace(path, load_codebook(path)).first->second;
}

GsrqCodebookFile CodebookStore::resolve_gsrq(const std::string& ref) const {
    if (is_hash(ref)) {
        if (const StoredCodebook* s = find(ref)) {
            if (s->format != k_gsrq_format)
                throw CorruptError("codebook " + ref + " is a " + s->family +
                                   " codebook, not a gsrq one");
            return parse_gsrq(s->text, "embedded " + ref);
        }
        throw IoError("gsrq codebook " + ref + " not found (not embedded, not given with -c)");
    }
    std::error_code ec;
    if (fs::exists(ref, ec)) return load_gsrq(ref);
    throw IoError("gsrq codebook file '" + ref + "' not found");
}

std::string CodebookStore::resolve_text(const std::string& ref, const std::string& format) const {
    if (is_hash(ref)) {
        if (const StoredCodebook* s = find(ref)) {
            if (s->format != format)
                throw CorruptError("codebook " + ref + " is a " + s->format + " file, not " +
                                   format);
            return s->text;
        }
        throw IoError("codebook " + ref + " not found (not embedded, not given with -c)");
    }
    std::error_code ec;
    if (fs::exists(ref, ec)) return read_text_file(ref, "codebook file");
    const fs::path in_dir = fs::path(m_dir) / ref;
    if (fs::exists(in_dir, ec)) return read_text_file(in_dir.string(), "codebook file");
    throw IoError("codebook file '" + ref + "' not found");
}

UniversalCodebook CodebookStore::resolve(const std::string& ref) const {
    if (is_hash(ref)) {
        if (const StoredCodebook* s = find(ref)) {
            if (s->format != k_codebook_format)
                throw CorruptError("codebook " + ref + " is a " + s->family +
                                   " codebook, not a universal one");
            return parse_codebook(s->text, "embedded " + ref);
        }
        std::error_code ec;
        if (fs::is_directory(m_dir, ec)) {
            for (const auto& sub : fs::directory_iterator(m_dir, ec)) {
                if (!sub.is_directory()) continue;
                const std::string name = sub.path().filename().string();
                if (name.size() < 2 || name[0] != 'd') continue;
                int d = 0;
                try {
                    d = std::stoi(name.substr(1));
                } catch (...) {
                    continue;
                }
                for (const ShippedCodebook& s : shipped(d))
                    if (s.content_hash == ref) return load_cached(s.path);
            }
        }
        throw IoError("codebook " + ref + " not found (not embedded, not given with -c, not in " +
                      m_dir + ")");
    }
    std::error_code ec;
    if (fs::exists(ref, ec)) return load_cached(ref);
    const fs::path in_dir = fs::path(m_dir) / ref;
    if (fs::path(ref).is_relative() && fs::exists(in_dir, ec)) return load_cached(in_dir.string());
    throw IoError("codebook file '" + ref + "' not found (nor in " + m_dir + ")");
}

std::vector<ShippedCodebook> CodebookStore::shipped(int d) const {
    std::vector<ShippedCodebook> out;
    const fs::path sub = fs::path(m_dir) / ("d" + std::to_string(d));
    std::error_code ec;
    if (!fs::is_directory(sub, ec)) return out;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(sub, ec))
        if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& p : files) {
        UniversalCodebook cb;
        try {
            cb = load_cached(p.string());
        } catch (const Error&) {
            continue;  // not a codebook (or damaged): never chosen
        }
        if (cb.spec.d != d) continue;
        out.push_back(shipped_entry(p.string(), cb));
    }
    return out;
}

std::string train_command_for(int d, double rate, const std::string& family,
                              const std::string& dir) {
    const std::string where = dir + "/d" + std::to_string(d) + "/";
    if (family == "scalar") {
        const int bits = std::clamp(static_cast<int>(std::lround(rate)), 1, 8);
        return "fq-train scalar --d " + std::to_string(d) + " --bits " + std::to_string(bits) +
               " -o " + where + "scalar-b" + std::to_string(bits) + ".json";
    }
    const auto [k, N] = fib_shape_for(d, rate);
    return "fq-train fib --d " + std::to_string(d) + " --k " + std::to_string(k) + " --N " +
           std::to_string(N) + (ladder_restarts(N) != 8 ? " --restarts 2" : "") + " -o " + where +
           "fib-k" + std::to_string(k) + "-N" + std::to_string(N) + ".json";
}

FibShape fib_shape_for(int d, double rate) {
    // Largest block dimension with N = 2^(rate k) <= 256 (and k < d): the paper's sweet spot.
    FibShape s;
    for (int kk = 1; kk < d && kk <= 32; ++kk)
        if (std::pow(2.0, rate * kk) <= 256.0 + 1e-9) s.k = kk;
    s.N = std::max(2, static_cast<int>(std::floor(std::pow(2.0, rate * s.k) + 1e-9)));
    return s;
}

int ladder_restarts(int N) {
    return N >= 256 ? 2 : train::FibParams{}.restarts;
}

std::string codebook_cache_dir() {
    const auto env = [](const char* name) {
        const char* v = std::getenv(name);
        return v != nullptr && *v != '\0' ? std::string(v) : std::string();
    };
    std::string base = env("FQ_CACHE_DIR");
    if (base.empty() && !env("XDG_CACHE_HOME").empty()) base = env("XDG_CACHE_HOME") + "/fq";
    if (base.empty() && !env("HOME").empty()) base = env("HOME") + "/.cache/fq";
    if (base.empty()) base = (fs::temp_directory_path() / "fq-cache").string();
    return base + "/codebooks";
}

ShippedCodebook CodebookStore::trained_fib(int d, int k, int N) const {
    const std::string name = "fib-k" + std::to_string(k) + "-N" + std::to_string(N) + ".json";
    const std::string command = "fq-train fib --d " + std::to_string(d) + " --k " +
                                std::to_string(k) + " --N " + std::to_string(N) +
                                (ladder_restarts(N) != 8 ? " --restarts 2" : "");
    if (!training())
        throw UsageError("no codebook fib d = " + std::to_string(d) + " k = " + std::to_string(k) +
                         " N = " + std::to_string(N) + "; make one with: " + command + " -o " +
                         m_dir + "/d" + std::to_string(d) + "/" + name);
    const fs::path dir = fs::path(codebook_cache_dir()) / ("d" + std::to_string(d));
    const std::string path = (dir / name).string();
    std::error_code ec;
    if (fs::exists(path, ec)) {
        try {
            const UniversalCodebook& cb = load_cached(path);
            if (cb.family == "fib" && cb.spec.d == d && cb.spec.main.k == k && cb.spec.main.N == N)
                return shipped_entry(path, cb);
        } catch (const Error&) {
            // damaged or foreign: trained again below and replaced
        }
        m_loaded.erase(path);
    }
    train::FibParams p;
    p.d = d;
    p.k = k;
    p.N = N;
    p.restarts = ladder_restarts(N);
    const auto t0 = std::chrono::steady_clock::now();
    const UniversalCodebook cb =
        make_fib_codebook(train::train_fib(p), core::RotationKind::haar, 1);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fs::create_directories(dir, ec);
    if (ec) throw IoError("cannot create the codebook cache " + dir.string() + ": " + ec.message());
    save_codebook(cb, path, /*force=*/true);
    std::ostringstream note;
    note.precision(3);
    note << "trained fib d=" << d << " k=" << k << " N=" << N << " (" << command << ") in "
         << seconds << " s; cached in " << path;
    m_note(note.str());
    return shipped_entry(path, load_cached(path));
}

ShippedCodebook CodebookStore::default_codebook_for(int d, double rate,
                                                    const std::string& family) const {
    const std::vector<ShippedCodebook> all = shipped(d);
    const ShippedCodebook* best = nullptr;
    for (const ShippedCodebook& s : all) {
        if (s.family != family || s.rate > rate + 1e-9 || s.N > k_max_default_N) continue;
        if (best == nullptr || s.rate > best->rate + 1e-12 ||
            (std::abs(s.rate - best->rate) <= 1e-12 && s.val_total_mse < best->val_total_mse))
            best = &s;
    }
    if (best == nullptr && family == "fib" && training() &&
        std::none_of(all.begin(), all.end(),
                     [](const ShippedCodebook& s) { return s.family == "fib"; })) {
        const FibShape shape = fib_shape_for(d, rate);
        return trained_fib(d, shape.k, shape.N);
    }
    if (best == nullptr)
        throw UsageError("no shipped " + family + " codebook for d = " + std::to_string(d) +
                         " at rate <= " + format_rate(rate) + " bits per coordinate in " + m_dir +
                         "/d" + std::to_string(d) +
                         "; make one with: " + train_command_for(d, rate, family, m_dir));
    return *best;
}

}  // namespace fq::io

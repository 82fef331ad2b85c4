// CodebookStore: finds the codebooks that codec descriptions name (io/codec_factory.hpp) —
// shipped universal codebooks in the codebook directory, files given by the user, codebooks
// embedded in a compressed file (universal ones, io/codebook_file.hpp, and gsrq ones,
// io/gsrq_file.hpp) — and picks the default shipped codebook for (d, rate).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fq/io/codebook_file.hpp"
#include "fq/io/gsrq_file.hpp"
#include "fq/io/stored_codebook.hpp"

namespace fq::io {

// The codebook directory: `option` if not empty, else $FQ_CODEBOOKS if set and not empty,
// else the compiled-in FQ_CODEBOOK_DIR (the source tree's codebooks/).
std::string codebook_dir(const std::string& option = "");

// Where codebooks trained on the fly are kept: $FQ_CACHE_DIR, else $XDG_CACHE_HOME/fq, else
// $HOME/.cache/fq, else the system temporary directory's fq-cache; plus "/codebooks".
std::string codebook_cache_dir();

// The fib block shape for dimension d at payload rate `rate`: the largest block dimension
// k < d (k <= 32) with 2^(rate k) <= 256, and N = floor(2^(rate k)) (at least 2), so the rate
// log2(N) / k (plus a tail block when k does not divide d) does not exceed `rate` by more
// than the tail's rounding.
struct FibShape {
    int k = 1, N = 2;
};
FibShape fib_shape_for(int d, double rate);

// The fq-train options of a codebook trained on the fly (and of the shipped ladder): the
// defaults, with 2 restarts instead of 8 when N >= 256.
int ladder_restarts(int N);

// One shipped codebook file, as listed by CodebookStore::shipped().
// Largest codebook a rate alone selects (default_codebook_for).
inline constexpr int k_max_default_N = 1024;

struct ShippedCodebook {
    std::string path;          // full path of the file
    std::string family;        // "fib" | "scalar"
    int d = 0, k = 0, N = 0;   // main block codebook sizes
    double rate = 0;           // payload bits per coordinate (codebook_rate)
    double val_total_mse = 0;  // validation total MSE per unit vector
    std::string content_hash;  // "sha256:<64 hex>"
};

// Resolves codebook references. Codebooks added with add() (embedded in a compressed
// file, or given with -c) take precedence over the directory when resolving a hash.
class CodebookStore {
public:
    // dir: as for codebook_dir(dir).
    explicit CodebookStore(const std::string& dir = "");

    const std::string& dir() const { return m_dir; }

    // Makes a codebook file of any family resolvable by its content hash (replaces an
    // earlier one with that hash): embedded in a compressed file, given with -c, or computed
    // (the typed overloads serialize it).
    void add(StoredCodebook cb);
    void add(const UniversalCodebook& cb);
    void add(const GsrqCodebookFile& cb);
    bool has(const std::string& hash) const { return m_stored.count(hash) > 0; }
    // The added codebook file of that hash, or null.
    const StoredCodebook* find(const std::string& hash) const;

    // A path, a path relative to dir(), or a content hash (see the file comment).
    // IoError if no such file or hash; CorruptError if the file is invalid.
    UniversalCodebook resolve(const std::string& ref) const;
    // A gsrq codebook: a path or the hash of an added one. IoError / CorruptError as above.
    GsrqCodebookFile resolve_gsrq(const std::string& ref) const;
    // The text of a codebook file of `format` (any family's): the hash of an added one, a
    // path, or a path relative to dir(). IoError if there is none; CorruptError if an added
    // one of that hash has another format. The caller parses (validates) the text.
    std::string resolve_text(const std::string& ref, const std::string& format) const;

    // Every valid codebook file dir()/d<d>/*.json, sorted by path. Files that do not parse
    // are skipped (with a warning on stderr).
    std::vector<ShippedCodebook> shipped(int d) const;

    // The shipped codebook of `family` for dimension d with the highest payload rate
    // <= rate + 1e-9, among equal rates the lowest validation total MSE (then the first
    // path); codebooks of more than k_max_default_N codewords (large-N entries, searched
    // exhaustively 16x slower: ask for them by name, e.g. fib:k=4,N=4096,search=tree) are
    // never the default. When none is shipped for d at all and training is on (set_training), the
    // fib codebook of fib_shape_for(d, rate) trained on the fly (trained_fib). Else UsageError,
    // naming the exact fq-train command that makes one, e.g.
    //   fq-train fib --d 96 --k 4 --N 256 -o codebooks/d96/fib-k4-N256.json
    ShippedCodebook default_codebook_for(int d, double rate,
                                         const std::string& family = "fib") const;

    // Training on the fly: on (note: called with a one-line description of each codebook
    // trained) or off (the default: nothing is ever trained).
    void set_training(std::function<void(const std::string&)> note) { m_note = std::move(note); }
    bool training() const { return static_cast<bool>(m_note); }
    // The fib codebook (d, k, N) with the ladder's options (ladder_restarts), from
    // codebook_cache_dir()/d<d>/fib-k<k>-N<N>.json when it is there and valid, else trained
    // now (deterministic: the bytes of `fq-train fib --d d --k k --N N [--restarts 2]`),
    // saved there (temporary name + rename) and noted. UsageError if training is off.
    ShippedCodebook trained_fib(int d, int k, int N) const;

private:
    // load_codebook(path), parsed once per store (a --rate lookup lists the shipped files and
    // then resolves the chosen one: one parse each). Not thread-safe, like the store.
    const UniversalCodebook& load_cached(const std::string& path) const;

    std::string m_dir;
    mutable std::map<std::string, UniversalCodebook> m_loaded;  // by path as given
    std::function<void(const std::string&)> m_note;             // training on when set
    std::map<std::string, StoredCodebook> m_stored;  // added codebook files, by content hash
};

// The fq-train command that makes the (closest) codebook of `family` at payload rate `rate`
// for dimension d, written to <dir>/d<d>/<name>.json (dir as given, e.g. "codebooks").
std::string train_command_for(int d, double rate, const std::string& family,
                              const std::string& dir = "codebooks");

}  // namespace fq::io

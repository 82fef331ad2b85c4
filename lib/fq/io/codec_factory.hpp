// Codec factory: builds a codecs::Codec from a codec description, and finds the codebooks
// it names (shipped codebooks, files given by the user, codebooks embedded in a compressed
// file).
//
// Codec description: a JSON object, the form stored in compressed files and written in
// configs (docs/FORMAT.md §2, "Codec description"):
//   {"codec": "fib" | "scalar",       family; must equal the codebook's family
//    "codebook": "<path or hash>",    a codebook file path, a path relative to the codebook
//                                     directory ("d64/fib-k2-N16.json"), or a content hash
//                                     "sha256:<64 hex>" (looked up among the codebooks added
//                                     to the store, then the codebook directory)
//    "header": "norm" | "gain",       optional, default "norm" (SPEC 4.2 gain correction)
//    "header_type": "float16" | "float32"}   optional, default "float16"
// Unknown keys are errors. Later families (qjl, scalar+qjl, int, gsrq) add their keys here.
//
// Short form (command lines, `--k-codec SPEC`), one of:
//   fib:rate=R[,header=H][,header_type=T]      the default fib codebook for (d, R)
//   fib:k=K,N=N[,...]                          shipped codebooks/d<d>/fib-k<K>-N<N>.json
//   scalar:bits=B[,...]  (or scalar:rate=B)    shipped codebooks/d<d>/scalar-b<B>.json, or,
//                                              when not shipped, the exact Lloyd-Max codebook
//                                              computed on the fly (haar rotation, seed 1: the
//                                              same as `fq-train scalar --d <d> --bits <B>`)
//   <file.json>                                a codebook file (codec = its family) or a JSON
//                                              codec description
// R is the payload rate in bits per coordinate (the header adds 16 or 32 bits per vector).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fq/codecs/codec.hpp"
#include "fq/core/error.hpp"
#include "fq/io/codebook_file.hpp"

namespace fq::io {

// The codebook directory: `option` if not empty, else $FQ_CODEBOOKS if set and not empty,
// else the compiled-in FQ_CODEBOOK_DIR (the source tree's codebooks/).
std::string codebook_dir(const std::string& option = "");

// One shipped codebook file, as listed by CodebookStore::shipped().
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

    // Makes cb resolvable by its content hash (replaces an earlier one with that hash).
    void add(UniversalCodebook cb);
    bool has(const std::string& hash) const { return m_added.count(hash) > 0; }

    // A path, a path relative to dir(), or a content hash (see the file comment).
    // IoError if no such file or hash; CorruptError if the file is invalid.
    UniversalCodebook resolve(const std::string& ref) const;

    // Every valid codebook file dir()/d<d>/*.json, sorted by path. Files that do not parse
    // are skipped (with a warning on stderr).
    std::vector<ShippedCodebook> shipped(int d) const;

    // The shipped codebook of `family` for dimension d with the highest payload rate
    // <= rate + 1e-9, among equal rates the lowest validation total MSE (then the first
    // path). UsageError if none, naming the exact fq-train command that makes one, e.g.
    //   fq-train fib --d 96 --k 4 --N 256 -o codebooks/d96/fib-k4-N256.json
    ShippedCodebook default_codebook_for(int d, double rate,
                                         const std::string& family = "fib") const;

  private:
    std::string m_dir;
    std::map<std::string, UniversalCodebook> m_added;  // by content hash
};

// The fq-train command that makes the (closest) codebook of `family` at payload rate `rate`
// for dimension d, written to <dir>/d<d>/<name>.json (dir as given, e.g. "codebooks").
std::string train_command_for(int d, double rate, const std::string& family,
                              const std::string& dir = "codebooks");

// A codec built from a description: the codec, the description in its stored form (every
// key present, "codebook" replaced by the content hash) and the codebook it uses.
struct BuiltCodec {
    std::shared_ptr<const codecs::Codec> codec;
    nlohmann::ordered_json description;  // stored form
    UniversalCodebook codebook;          // what the codec decodes with (to embed in files)
};

// Checks a description (keys, values) and returns it with defaults filled in. Failures
// throw an fq::Error of `code` (UsageError for configs, CorruptError for files) prefixed
// by `context`.
nlohmann::ordered_json normalize_description(const nlohmann::ordered_json& desc,
                                             const std::string& context,
                                             ExitCode code = ExitCode::usage);

// Builds the codec of a description, resolving "codebook" through store. Errors as for
// normalize_description; a family that does not match the codebook's is an error too.
BuiltCodec make_codec(const nlohmann::ordered_json& desc, const CodebookStore& store,
                      const std::string& context = "codec description",
                      ExitCode code = ExitCode::usage);

// Parses a short-form SPEC (see the file comment) for data of dimension d into a
// description whose "codebook" is a resolvable reference (a path, or for an on-the-fly
// scalar codebook, its hash after store.add()). `header` / `header_type` are the defaults
// for keys the SPEC does not give. UsageError on a malformed SPEC or a missing codebook.
nlohmann::ordered_json parse_codec_spec(const std::string& spec, int d, CodebookStore& store,
                                        const std::string& header = "norm",
                                        const std::string& header_type = "float16");

// The default description for dimension d at payload rate `rate` (fib, the shipped
// default_codebook_for(d, rate)).
nlohmann::ordered_json default_description(int d, double rate, const CodebookStore& store,
                                           const std::string& header = "norm",
                                           const std::string& header_type = "float16");

}  // namespace fq::io

// Codec factory: the registry of codec families. Builds a codecs::Codec from a codec
// description, resolving the codebooks it names through an io::CodebookStore
// (io/codebook_store.hpp: shipped codebooks, files given by the user, codebooks embedded in
// a compressed file).
//
// Codec description: a JSON object, the form stored in compressed files and written in
// configs (docs/FORMAT.md §2, "Codec description"). Unknown keys are errors. Per family
// (defaults in brackets):
//   {"codec": "fib", "codebook": REF, "header": "norm"|"gain" ["norm"],
//    "header_type": "float16"|"float32" ["float16"]}
//   {"codec": "scalar", "codebook": REF, "header", "header_type"}, or instead of "codebook"
//    "bits": 1..8, "rotation": "none"|"haar"|"hadamard" ["haar"], "rotation_seed" [1]: the
//    exact Lloyd-Max codebook computed for the data's d with that rotation (stored form: its
//    hash, the codebook embedded). "rotation": "none" is seed 002's KV scheme.
//   {"codec": "qjl", "m": 0 (= d) [0], "seed" [1]}
//   {"codec": "scalar+qjl", "bits": b >= 2 [3], "rotation": "hadamard"|"haar" ["hadamard"],
//    "rotation_seed" [1], "qjl_seed" [2], "m" [0]}
//   {"codec": "int", "bits": 1..8 [4], "group": G [32], "grouping": "per_token"|"per_channel"
//    ["per_token"; fq-encode: per_channel for keys, per_token for values, KIVI]}
//   {"codec": "block", "format": "q8_0"|"q4_0" ["q8_0"], "rotation": "none"|"hadamard"|"haar"
//    ["none"], "rotation_seed" [1]}
//   {"codec": "gsrq", "codebook": REF (a gsrq codebook file, io/gsrq_file.hpp), "beam" [1]}
// REF: a codebook file path, a path relative to the codebook directory
// ("d64/fib-k2-N16.json"), or a content hash "sha256:<64 hex>" (looked up among the codebooks
// added to the store, then, for universal codebooks, the codebook directory).
//
// Short form (command lines, `--k-codec SPEC`): FAMILY[:key=value,...] with the keys above
// (a value that is an integer becomes a JSON number), plus for fib/scalar:
//   fib:rate=R[,header=H][,header_type=T]      the default fib codebook for (d, R)
//   fib:k=K,N=N[,...]                          shipped codebooks/d<d>/fib-k<K>-N<N>.json
//   scalar:bits=B[,...]  (or scalar:rate=B)    shipped codebooks/d<d>/scalar-b<B>.json, or,
//                                              when not shipped or a rotation is given, the
//                                              exact Lloyd-Max codebook computed on the fly
//                                              (haar rotation, seed 1 unless given)
//   qjl | scalar+qjl:bits=3 | int:bits=4,group=32,grouping=per_token |
//   block:format=q4_0,rotation=hadamard | gsrq:codebook=FILE[,beam=4]
//   <file.json>                                a codebook file (codec = its family; a gsrq
//                                              codebook file gives gsrq) or a JSON codec
//                                              description
// R is the payload rate in bits per coordinate (the header adds 16 or 32 bits per vector).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fq/codecs/codec.hpp"
#include "fq/core/error.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/io/codebook_store.hpp"
#include "fq/io/gsrq_file.hpp"
#include "fq/io/kv_dump.hpp"

namespace fq::io {

// Every codec family this build knows: fib, scalar, qjl, scalar+qjl, int, block, gsrq.
const std::vector<std::string>& known_families();

// A codec built from a description: the codec, the description in its stored form (every
// key present, "codebook" replaced by the content hash) and the codebook it uses.
struct BuiltCodec {
    std::shared_ptr<const codecs::Codec> codec;
    nlohmann::ordered_json description;  // stored form
    UniversalCodebook codebook;  // fib, scalar: what the codec decodes with (to embed in files);
                                 // other families: empty (family "", content_hash "")
    std::shared_ptr<const GsrqCodebookFile> gsrq;  // gsrq: its codebook file; else null

    std::string family() const { return codec ? codec->family() : ""; }
    // The content hash of the codebook file the codec needs ("" for qjl, scalar+qjl, int,
    // block, which are fully given by their description).
    std::string codebook_hash() const;
};

// A short human label of a built codec, e.g. "fib k=2 N=16 norm/float16", "int b=4 G=32
// per_channel", "scalar+qjl b=3 hadamard m=64", "gsrq D=8 K=256 S=2 beam=1".
std::string codec_label(const BuiltCodec& b);

// For fq-encode: the description with the per-tensor defaults of `kind` filled in where the
// description leaves them open (int: "grouping" per_channel for keys, per_token for values,
// as KIVI). Other descriptions are returned unchanged.
nlohmann::ordered_json with_tensor_defaults(nlohmann::ordered_json desc, KvKind kind);

// Checks a description (keys, values) and returns it with defaults filled in. Failures
// throw an fq::Error of `code` (UsageError for configs, CorruptError for files) prefixed
// by `context`.
nlohmann::ordered_json normalize_description(const nlohmann::ordered_json& desc,
                                             const std::string& context,
                                             ExitCode code = ExitCode::usage);

// Builds the codec of a description, resolving "codebook" through store. Errors as for
// normalize_description; a family that does not match the codebook's is an error too.
// d: the data's dimension, needed by the families without a codebook (qjl, scalar+qjl, int,
// block, scalar with "bits"); 0 = unknown (an error for those families). For the others a
// d that differs from the codebook's is an error.
BuiltCodec make_codec(const nlohmann::ordered_json& desc, const CodebookStore& store,
                      const std::string& context = "codec description",
                      ExitCode code = ExitCode::usage, int d = 0);

// Parses a short-form SPEC (see the file comment) for data of dimension d into a
// description whose "codebook" is a resolvable reference (a path, or for an on-the-fly
// scalar codebook, its hash after store.add()). Descriptions of the families without a
// codebook are returned as written (defaults are filled by normalize_description, after
// with_tensor_defaults). `header` / `header_type` are the defaults
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

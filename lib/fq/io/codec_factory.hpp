// Codec factory: the registry of codec families. Builds a codecs::Codec from a codec
// description, resolving the codebooks it names through an io::CodebookStore
// (io/codebook_store.hpp: shipped codebooks, files given by the user, codebooks embedded in
// a compressed file).
//
// Codec description: a JSON object, the form stored in compressed files and written in
// configs (docs/FORMAT.md §2, "Codec description"): {"codec": FAMILY, ...parameters}. Each
// family's keys, defaults and short form are given in its registry file
// io/families/<family>.cpp (io/codec_registry.hpp). Unknown keys are errors.
// REF (a "codebook" value): a codebook file path, a path relative to the codebook directory
// ("d64/fib-k2-N16.json"), or a content hash "sha256:<64 hex>" (looked up among the codebooks
// added to the store, then, for universal codebooks, the codebook directory).
//
// Short form (command lines, `--k-codec SPEC`): FAMILY[:key=value,...] (see each family), or
// <file.json>: a codebook file (codec = its family) or a JSON codec description.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fq/core/error.hpp"
#include "fq/io/codebook_store.hpp"
#include "fq/io/codec_registry.hpp"
#include "fq/io/kv_dump.hpp"

namespace fq::io {

// The names of every codec family this build knows (codec_families(), in order).
std::vector<std::string> known_families();

// A short human label of a built codec, e.g. "fib k=2 N=16 norm/float16", "int b=4 G=32
// per_channel", "scalar+qjl b=3 hadamard m=64", "gsrq D=8 K=256 S=2 beam=1".
std::string codec_label(const BuiltCodec& b);

// For fq-encode: the description with the per-tensor defaults of `kind` filled in where the
// description leaves them open (CodecFamily::tensor_defaults; int: "grouping" per_channel for
// keys, per_token for values, as KIVI). Other descriptions are returned unchanged.
nlohmann::ordered_json with_tensor_defaults(nlohmann::ordered_json desc, KvKind kind);

// The description with "header" / "header_type" set where it leaves them open, for the
// families that take them (CodecFamily::norm_header: fib, scalar); others unchanged.
nlohmann::ordered_json with_header_defaults(nlohmann::ordered_json desc, const std::string& header,
                                            const std::string& header_type);

// Checks a description (keys, values) and returns it with defaults filled in. Failures
// throw an fq::Error of `code` (UsageError for configs, CorruptError for files) prefixed
// by `context`.
nlohmann::ordered_json normalize_description(const nlohmann::ordered_json& desc,
                                             const std::string& context,
                                             ExitCode code = ExitCode::usage);

// Whether a description asks for per-head centring ("center": "head").
bool centers_heads(const nlohmann::ordered_json& desc);

// Builds the codec of a description, resolving "codebook" through store: normalizes it (the
// one normalization on the path from a config or short form to a codec), builds it with its
// family's entry, checks the checksum of regenerated matrices and d. Errors as for
// normalize_description; a family that does not match the codebook's is an error too.
// d: the data's dimension, needed by the families without a codebook (qjl, scalar+qjl, int,
// block, scalar with "bits"); 0 = unknown (an error for those families). For the others a
// d that differs from the codebook's is an error.
BuiltCodec make_codec(const nlohmann::ordered_json& desc, const CodebookStore& store,
                      const std::string& context = "codec description",
                      ExitCode code = ExitCode::usage, int d = 0);

// Parses a short-form SPEC (see the file comment) for data of dimension d into a
// description (not yet normalized: make_codec does that, after with_tensor_defaults) whose
// "codebook" is a resolvable reference (a path, or for an on-the-fly scalar codebook, its
// hash after store.add()). `header` / `header_type` are the fib/scalar defaults for keys the
// SPEC does not give. UsageError on a malformed SPEC or a missing codebook; parameter
// values are checked by make_codec.
nlohmann::ordered_json parse_codec_spec(const std::string& spec, int d, CodebookStore& store,
                                        const std::string& header = "norm",
                                        const std::string& header_type = "float16");

// The default description for dimension d at payload rate `rate` (fib, the shipped
// default_codebook_for(d, rate)).
nlohmann::ordered_json default_description(int d, double rate, const CodebookStore& store,
                                           const std::string& header = "norm",
                                           const std::string& header_type = "float16");

}  // namespace fq::io

// The codec registry: one CodecFamily entry per codec family, each defined in its own file
// io/families/<family>.cpp (fib, scalar, qjl, scalar_qjl, int, block, gsrq; faiss, built only
// with FAISS, registers faiss-pq and faiss-rq). The build lists those files once
// (lib/CMakeLists.txt, FQ_CODEC_FAMILY_FILES) and generates the table that calls their
// register functions, so adding a family touches its codec, its family file, that list,
// docs/FORMAT.md and its tests — nothing else (docs/ARCHITECTURE.md, "Adding a codec family").
//
// An entry holds everything fq knows about a family by name:
//   - normalize: the parameter schema (keys, types, ranges, defaults) turning a codec
//     description (docs/FORMAT.md §2) into its normalized form; unknown keys are errors;
//   - tensor_defaults: per-tensor defaults filled before normalizing (int: KIVI grouping);
//   - short_form: `FAMILY:key=value,...` (command lines) -> a description;
//   - build: the normalized description -> the codec, its label, the codebook it needs and
//     the checksum of the matrices it regenerates from seeds; rewrites the description into
//     its stored form (codebook reference -> content hash).
// The dispatching entry points (make_codec, parse_codec_spec, ...) are io/codec_factory.hpp.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fq/codecs/codec.hpp"
#include "fq/codecs/group_coding.hpp"
#include "fq/core/error.hpp"
#include "fq/core/rotation.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/io/codebook_store.hpp"
#include "fq/io/gsrq_file.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/io/stored_codebook.hpp"

namespace fq::io {

// A codec built from a description: the codec, the description in its stored form (every
// key present, "codebook" replaced by the content hash) and the codebook it uses.
struct BuiltCodec {
    std::shared_ptr<const codecs::Codec> codec;
    nlohmann::ordered_json description;  // stored form
    UniversalCodebook codebook;  // fib, scalar: what the codec decodes with; other families:
                                 // empty (family "", content_hash "")
    StoredCodebook stored;       // the codebook file the codec needs, to embed in containers
                                 // (empty for qjl, scalar+qjl, int, block)
    std::string label;    // short human label, e.g. "fib k=2 N=16 norm/float16" (codec_label)
    bool center = false;  // "center": "head": per-head means subtracted (codecs/head_center.hpp)

    std::string family() const { return codec ? codec->family() : ""; }
    codecs::HeadCodec head_codec() const { return {codec.get(), center}; }
    // The content hash of the codebook file the codec needs ("" for qjl, scalar+qjl, int,
    // block, which are fully given by their description).
    std::string codebook_hash() const { return stored.content_hash; }
    // The container's `codebook` attribute: the description's "codebook" (fib, scalar, gsrq;
    // "" otherwise: faiss codebooks are embedded but named by "file_hash").
    std::string codebook_attr() const { return description.value("codebook", std::string()); }
};

// Reads the parameters of one description (normalize): only() first refuses keys outside a
// list; each accessor then returns the value of a key, or its default when absent. Failures
// go through the JsonReader (its context and exit code).
class ParamReader {
public:
    ParamReader(const nlohmann::ordered_json& desc, const JsonReader& rd, std::string family)
        : m_desc(desc), m_rd(rd), m_family(std::move(family)) {}

    // Fails on the first key other than "codec" and `keys` ("unknown key 'x' for codec f").
    void only(std::initializer_list<const char*> keys) const;
    bool has(const char* key) const { return m_desc.contains(key); }
    // One of `values` (default dflt).
    std::string choice(const char* key, const std::string& dflt,
                       std::initializer_list<const char*> values) const;
    int integer(const char* key, int dflt, int lo, int hi) const;
    std::uint64_t u64(const char* key, std::uint64_t dflt) const;
    std::string string(const char* key) const;  // required ("missing key 'x'")
    [[noreturn]] void fail(const std::string& what) const { m_rd.fail(what); }

private:
    const nlohmann::ordered_json& m_desc;
    const JsonReader& m_rd;
    std::string m_family;
};

// What a family's build step may use.
struct BuildContext {
    const CodebookStore& store;
    int d = 0;  // the data's dimension; 0 = unknown (an error for families that need it)
    const JsonReader& rd;

    // Fails unless d >= d_min ("codec <family> needs the data's dimension ...").
    void need_d(const std::string& family, int d_min) const;
};

// What a family's short-form parser may use.
struct ShortFormContext {
    int d = 0;
    CodebookStore& store;
    std::string header = "norm", header_type = "float16";  // defaults for fib / scalar
    std::string context;                                   // "codec '<spec>'"
};

using ShortFormValues = std::map<std::string, std::string>;  // key -> value as written

struct CodecFamily {
    std::string name;  // the "codec" value in descriptions
    // desc: an object with "codec" == name -> normalized description ("codec" first).
    std::function<nlohmann::ordered_json(const nlohmann::ordered_json& desc, const JsonReader& rd)>
        normalize;
    // Per-tensor defaults for an unnormalized description (null: none).
    std::function<void(nlohmann::ordered_json& desc, KvKind kind)> tensor_defaults;
    // FAMILY:key=value,... (and the bare FAMILY when accepts_bare) -> a description.
    std::function<nlohmann::ordered_json(const ShortFormValues& kv, ShortFormContext& ctx)>
        short_form;
    bool accepts_bare = true;  // "FAMILY" alone is a complete short form
    // Whether descriptions take the norm-header keys "header" and "header_type" (fib,
    // scalar); fq-encode's --header / --header-type fill them where a description is silent.
    bool norm_header = false;
    // The "format" value of this family's codebook files ("" = the family needs none; fib
    // and scalar share "fq-codebook"), and a validating parser of such a file's text
    // (io/stored_codebook.hpp; CorruptError naming `name` if invalid).
    std::string codebook_format;
    std::function<StoredCodebook(const std::string& text, const std::string& name)>
        parse_codebook_file;
    // The key of a stored description that holds the content hash of the codebook file it
    // needs ("codebook"; faiss: "file_hash"; "" = none): what a decoder looks up among the
    // codebooks embedded in a container.
    std::string codebook_key = "codebook";
    // normalized description (rewritten in place into the stored form) -> codec, codebook,
    // label. generated_checksum: see generated_checksum() below ("" = none).
    std::function<BuiltCodec(nlohmann::ordered_json& norm, const BuildContext& ctx,
                             std::string& generated_checksum)>
        build;
};

// Every family this build knows, in registration order (fib, scalar, qjl, scalar+qjl, int,
// block, gsrq[, faiss-pq, faiss-rq]).
const std::vector<CodecFamily>& codec_families();
// The entry of that name, or null.
const CodecFamily* find_codec_family(const std::string& name);

// The family whose codebook files have this "format" value, or null.
const CodecFamily* find_codebook_format(const std::string& format);

// The content hash of the codebook file a stored description needs (CodecFamily::
// codebook_key), "" if none or the family is unknown.
std::string needed_codebook(const nlohmann::ordered_json& stored_description);

// ---- helpers shared by the family files

// Checksum of the matrices a codec regenerates from seeds at decode time (SPEC 3: they must
// be bit-reproducible; a mismatch must be detected, not decoded): the first 16 hex digits of
// SHA-256 over the rotation's checksum (16 ASCII hex digits, core::Rotation::checksum) when
// there is a rotation (kind != none), then the matrix as little-endian float64, row-major,
// when there is one. "" when neither is given.
std::string generated_checksum(const core::Rotation* rotation, const std::vector<double>* matrix);

// The generic short form: every key=value as a JSON member (an integer value becomes a
// number, a *seed value an unsigned 64-bit number, anything else a string).
nlohmann::ordered_json generic_short_form(const std::string& family, const ShortFormValues& kv,
                                          const std::string& context);

}  // namespace fq::io

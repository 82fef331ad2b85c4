// What the two BlockVqCodec families (fib, scalar: io/families/fib.cpp, scalar.cpp) share:
// the norm-header keys of their descriptions, building the codec from a universal codebook,
// their label, and the short form's header keys.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "fq/codecs/block_vq.hpp"
#include "fq/codecs/norm_header.hpp"
#include "fq/io/codec_registry.hpp"

namespace fq::io::families {

// Normalized "header" ("norm"|"gain" ["norm"]) and "header_type" ("float16"|"float32"
// ["float16"]) appended to out.
void normalize_header(const ParamReader& p, nlohmann::ordered_json& out);
// The header options of a normalized description's "header" and "header_type".
codecs::HeaderOptions header_options(const nlohmann::ordered_json& norm);

// The codec of norm (header keys normalized) over cb, which must be a `family` codebook;
// norm["codebook"] becomes cb's content hash; search: the encoder's (tree needs k >= 2).
BuiltCodec build_block_vq(const std::string& family, nlohmann::ordered_json& norm,
                          UniversalCodebook cb, const BuildContext& ctx,
                          codecs::BlockSearch search = codecs::BlockSearch::exhaustive);

// A description {"codec", "header", "header_type"} with the short form's header keys (or the
// context's defaults); every key other than the header keys and `allowed` is a UsageError.
nlohmann::ordered_json block_vq_short_form(const std::string& family, const ShortFormValues& kv,
                                           const ShortFormContext& ctx,
                                           std::initializer_list<const char*> allowed);

// A universal codebook file's text as a StoredCodebook (parse_codebook validates it).
StoredCodebook parse_universal_codebook_file(const std::string& text, const std::string& name);

// A short-form value as a positive number / a positive integer (UsageError otherwise).
double short_form_number(const ShortFormValues& kv, const std::string& key,
                         const ShortFormContext& ctx);
int short_form_integer(const ShortFormValues& kv, const std::string& key,
                       const ShortFormContext& ctx);

}  // namespace fq::io::families

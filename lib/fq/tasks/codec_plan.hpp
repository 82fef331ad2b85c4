// CodecPlan: which codec fq-encode gives each key and value dataset of a dump — the one
// place that reads --rate, --k-codec / --v-codec, -c/--codebook and --config.
//
// Per dataset (kind K or V, layer L, path), the first that applies:
//   --k-codec / --v-codec SPEC    short form or file (io/codec_factory.hpp), every layer
//   -c/--codebook FILE            that codebook for both tensors, every layer
//   --config rules                the last entry of "layers" matching the dataset
//   --config defaults             "k" / "v" (or a config that is one description: both)
//   default                       the shipped fib codebook for the data's d at --rate
//                                 (io::CodebookStore::default_codebook_for)
// A config is one codec description (or SPEC string) for both tensors, or an object:
//   {"k": C, "v": C,                                  defaults (either may be absent)
//    "layers": [{"layers": "0", "k": C, "v": C},      rules: layer ranges "a:b" (half-open;
//               {"layers": "-1", "codec": C},          negative = from the end, "-1" = last),
//               {"datasets": "layer_1*/v", "v": C}],   and/or dataset globs; "codec" = both
//    "keep_first": N, "keep_last": M}                  float16 windows (fq-encode)
// where C is a description object or a SPEC string. --header / --header-type give the
// header of every fib/scalar codec whose description does not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fq/io/codebook_store.hpp"
#include "fq/io/kv_dump.hpp"

namespace fq::tasks {

struct EncodeOptions;

class CodecPlan {
public:
    // Reads the options (and the config file); UsageError on a malformed config.
    explicit CodecPlan(const EncodeOptions& o);

    // The description of a K or V dataset of a dump with n_layers layers (max layer + 1),
    // per-tensor and header defaults applied, ready for io::make_codec; *context names where
    // it came from (for error messages).
    nlohmann::ordered_json description(const io::DatasetInfo& info, int n_layers,
                                       io::CodebookStore& store, std::string* context) const;

    std::int64_t keep_first = 0;  // tokens kept in float16 at the start of each sequence
    std::int64_t keep_last = 0;   // ... and at its end

    // Layer range text ("a:b", "a", negatives from the end, either side of ':' empty) against
    // n_layers -> [l0, l1). UsageError if malformed.
    static std::pair<int, int> layer_range(const std::string& text, int n_layers,
                                           const std::string& where);

private:
    struct Source {  // a codec given somewhere: a SPEC or a description
        bool is_spec = false;
        std::string spec;
        nlohmann::ordered_json desc;
        std::string context;
    };
    struct Rule {
        std::string where;     // "config 'x': layers[2]"
        std::string layers;    // "" = every layer
        std::string datasets;  // glob, "" = every dataset
        std::optional<Source> k, v;
    };
    static Source source_from_json(const nlohmann::ordered_json& v, const std::string& where);
    void read_config(const std::string& path);

    std::optional<Source> m_command[2];  // K, V from the command line (--k-codec, -c)
    std::optional<Source> m_default[2];  // K, V from the config
    std::vector<Rule> m_rules;           // the config's "layers", in order
    double m_rate = 2;
    std::string m_header, m_header_type;
};

}  // namespace fq::tasks

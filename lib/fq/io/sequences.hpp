// The independent sequences of a KV dump: which tokens of its token axis attend to which.
// A dump may hold several sequences (a batch, or prompts cut into segments); attention is
// causal within each sequence and never crosses one. Found, in this order:
//   1. an option (--segment-len N): consecutive runs of N tokens (the last one shorter),
//      within each batch row;
//   2. the dump's `segment_id` dataset (one integer per token, [tokens] or [batch, tokens],
//      as scripts/write_kv_dump.py writes it): the tokens of one id within one batch row,
//      in token order (they need not be contiguous);
//   3. a batch axis (io/kv_dump.hpp: bhtd datasets): one sequence per batch row;
//   4. otherwise one sequence of every token.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fq/io/kv_dump.hpp"

namespace fq::io {

struct Sequences {
    // Per sequence, its token indices on the dataset's (concatenated) token axis,
    // increasing; sequences ordered by their first token. Together they cover every token
    // exactly once.
    std::vector<std::vector<std::int64_t>> tokens;
    std::string source;  // how they were found: "--segment-len 128", "segment_id",
                         // "segment_id within batch rows", "batch axis", "none"

    std::size_t count() const { return tokens.size(); }
    // Whether every sequence is a run of consecutive tokens.
    bool contiguous() const;
};

// The sequences of the token axis of `kv` (any K or V dataset of the dump: they share it).
// segment_len > 0 forces rule 1. CorruptError for a segment_id that does not match the
// token axis; UsageError for a negative segment_len.
Sequences find_sequences(const KvDumpReader& dump, const DatasetInfo& kv,
                         std::int64_t segment_len = 0);

// One sequence of T tokens (rule 4), and runs of `len` tokens over rows of `row` tokens.
Sequences one_sequence(std::int64_t T);
Sequences runs(std::int64_t T, std::int64_t row, std::int64_t len, std::string source);

// A one-line description for reports: "4 sequences (segment_id)", "1 sequence (none)".
std::string describe(const Sequences& s);

}  // namespace fq::io

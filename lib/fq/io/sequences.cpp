#include "fq/io/sequences.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "fq/core/error.hpp"

namespace fq::io {

bool Sequences::contiguous() const {
    for (const auto& s : tokens)
        if (!s.empty() && s.back() - s.front() + 1 != static_cast<std::int64_t>(s.size()))
            return false;
    return true;
}

Sequences one_sequence(std::int64_t T) {
    return runs(T, T, T, "none");
}

Sequences runs(std::int64_t T, std::int64_t row, std::int64_t len, std::string source) {
    Sequences s;
    s.source = std::move(source);
    if (row <= 0 || len <= 0) row = len = std::max<std::int64_t>(T, 1);
    for (std::int64_t r0 = 0; r0 < T; r0 += row)
        for (std::int64_t t0 = r0; t0 < std::min(T, r0 + row); t0 += len) {
            std::vector<std::int64_t> seq;
            for (std::int64_t t = t0; t < std::min({T, r0 + row, t0 + len}); ++t) seq.push_back(t);
            s.tokens.push_back(std::move(seq));
        }
    return s;
}

Sequences find_sequences(const KvDumpReader& dump, const DatasetInfo& kv,
                         std::int64_t segment_len) {
    const std::int64_t T = kv.tokens;
    const std::int64_t row = kv.batch > 1 ? kv.batch_tokens : T;
    if (segment_len < 0) throw UsageError("--segment-len must be positive");
    if (segment_len > 0)
        return runs(T, row, segment_len, "--segment-len " + std::to_string(segment_len));
    if (dump.has_dataset("segment_id")) {
        // [tokens] (or [batch, tokens]), else the ids of one row shared by every batch row.
        std::vector<std::int64_t> ids;
        bool per_row = false;
        try {
            ids = dump.read_integers("segment_id", static_cast<std::uint64_t>(T));
        } catch (const CorruptError&) {
            if (kv.batch <= 1) throw;
            ids = dump.read_integers("segment_id", static_cast<std::uint64_t>(row));
            per_row = true;
        }
        // Group by (batch row, id), in order of first appearance.
        std::map<std::pair<std::int64_t, std::int64_t>, std::size_t> index;
        Sequences s;
        s.source = kv.batch > 1 ? "segment_id within batch rows" : "segment_id";
        for (std::int64_t t = 0; t < T; ++t) {
            const std::int64_t r = t / row;
            const std::int64_t id = ids[static_cast<std::size_t>(per_row ? t % row : t)];
            const auto [it, fresh] = index.emplace(std::make_pair(r, id), s.tokens.size());
            if (fresh) s.tokens.emplace_back();
            s.tokens[it->second].push_back(t);
        }
        return s;
    }
    if (kv.batch > 1) return runs(T, row, row, "batch axis");
    return one_sequence(T);
}

std::string describe(const Sequences& s) {
    return std::to_string(s.count()) + (s.count() == 1 ? " sequence (" : " sequences (") +
           s.source + ")";
}

}  // namespace fq::io

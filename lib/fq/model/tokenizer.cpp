#include "fq/model/tokenizer.hpp"

#include <cstdio>

#include "fq/core/error.hpp"

namespace fq::model {

const std::unordered_map<std::string, std::int32_t>& Tokenizer::index() const {
    if (m_index.empty())
        for (std::size_t i = 0; i < pieces.size(); ++i)
            m_index.emplace(pieces[i], static_cast<std::int32_t>(i));  // first id of a piece
    return m_index;
}

std::vector<std::int32_t> Tokenizer::encode(const std::string& text, bool bos) const {
    const auto& idx = index();
    std::vector<std::int32_t> ids;
    if (bos) ids.push_back(1);
    if (!text.empty()) {
        const auto sp = idx.find(" ");
        if (sp == idx.end()) throw UsageError("tokenizer: no \" \" piece");
        ids.push_back(sp->second);
    }
    for (std::size_t i = 0; i < text.size();) {
        // One UTF-8 character: a lead byte and its continuation bytes (at most 4 in all).
        std::size_t n = 1;
        while (i + n < text.size() && n < 4 &&
               (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80)
            ++n;
        const std::string ch = text.substr(i, n);
        if (const auto it = idx.find(ch); it != idx.end()) {
            ids.push_back(it->second);
        } else {
            for (char b : ch) {
                const std::int32_t id =
                    static_cast<std::int32_t>(static_cast<unsigned char>(b)) + 3;
                if (static_cast<std::size_t>(id) >= pieces.size())
                    throw UsageError("tokenizer: byte piece " + std::to_string(id) +
                                     " outside the vocabulary");
                ids.push_back(id);
            }
        }
        i += n;
    }
    const std::size_t first = bos ? 1 : 0;
    while (true) {
        float best = -1e10f;
        std::size_t at = 0;
        std::int32_t best_id = -1;
        for (std::size_t i = first; i + 1 < ids.size(); ++i) {
            const auto it = idx.find(pieces[static_cast<std::size_t>(ids[i])] +
                                     pieces[static_cast<std::size_t>(ids[i + 1])]);
            if (it != idx.end() && scores[static_cast<std::size_t>(it->second)] > best) {
                best = scores[static_cast<std::size_t>(it->second)];
                best_id = it->second;
                at = i;
            }
        }
        if (best_id < 0) break;
        ids[at] = best_id;
        ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(at) + 1);
    }
    for (std::int32_t id : ids)
        if (id < 0 || static_cast<std::size_t>(id) >= pieces.size())
            throw UsageError("tokenizer: byte piece " + std::to_string(id) +
                             " outside the vocabulary");
    return ids;
}

std::string Tokenizer::decode(const std::vector<std::int32_t>& ids) const {
    std::string out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::int32_t id = ids[i];
        if (id < 0 || static_cast<std::size_t>(id) >= pieces.size())
            throw UsageError("tokenizer: id " + std::to_string(id) + " outside the vocabulary");
        if (id == 1 || id == 2) continue;  // BOS, EOS: control tokens, no text
        std::string p = pieces[static_cast<std::size_t>(id)];
        if (i > 0 && ids[i - 1] == 1 && !p.empty() && p[0] == ' ') p.erase(0, 1);
        unsigned int byte = 0;
        if (p.size() == 6 && std::sscanf(p.c_str(), "<0x%02X>", &byte) == 1)
            p = std::string(1, static_cast<char>(byte));
        out += p;
    }
    return out;
}

}  // namespace fq::model

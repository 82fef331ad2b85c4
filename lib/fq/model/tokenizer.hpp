// The llama2.c tokenizer (sentencepiece BPE vocabulary with merge scores), as llama2.c's
// run.c uses it: encode = optional BOS (id 1), a leading space piece " " when the text is not
// empty, one piece per UTF-8 character (else its bytes as <0xXX> pieces, id byte + 3), then
// repeatedly merge the adjacent pair whose concatenation is in the vocabulary with the
// highest score (first such pair on ties); decode = the pieces, "<0xXX>" as that byte, the
// leading space of the piece after BOS dropped, BOS (1) and EOS (2) themselves dropped.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace fq::model {

struct Tokenizer {
    std::vector<std::string> pieces;  // by id
    std::vector<float> scores;        // by id
    int max_token_length = 0;

    // ids of text (bos: prepend id 1). UsageError if the vocabulary lacks what it needs.
    std::vector<std::int32_t> encode(const std::string& text, bool bos = true) const;
    // The text of ids (UsageError for an id outside the vocabulary).
    std::string decode(const std::vector<std::int32_t>& ids) const;

private:
    mutable std::unordered_map<std::string, std::int32_t> m_index;  // piece -> id, built once
    const std::unordered_map<std::string, std::int32_t>& index() const;
};

}  // namespace fq::model

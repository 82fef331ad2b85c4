#include "fq/io/encoded_file.hpp"

#include <algorithm>

#include "fq/core/error.hpp"
#include "fq/core/sha256.hpp"
#include "fq/io/encoded_file_detail.hpp"

namespace fq::io {

int EncodedDataset::batch() const {
    const std::size_t b = axes.find('b');
    if (b == std::string::npos || b >= shape.size() || shape[b] == 0) return 1;
    return static_cast<int>(shape[b]);
}

namespace detail {

std::string window_digest(const std::vector<std::int64_t>& tokens, const std::uint16_t* values,
                          std::size_t count) {
    core::Sha256 h;
    for (std::int64_t t : tokens) {
        std::uint8_t b[8];
        for (int i = 0; i < 8; ++i)
            b[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(t) >> (8 * i));
        h.update(b, 8);
    }
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint8_t b[2] = {static_cast<std::uint8_t>(values[i]),
                                   static_cast<std::uint8_t>(values[i] >> 8)};
        h.update(b, 2);
    }
    return "sha256:" + h.finish_hex();
}

std::string center_digest(const std::vector<std::uint16_t>& values) {
    return window_digest({}, values.data(), values.size());
}

std::string strip(const std::string& p) {
    std::size_t i = 0;
    while (i < p.size() && p[i] == '/') ++i;
    return p.substr(i);
}

std::string hash_hex(const std::string& hash) {
    return hash.substr(7);
}

bool valid_hash(const std::string& h) {
    if (h.size() != 71 || h.rfind("sha256:", 0) != 0) return false;
    return std::all_of(h.begin() + 7, h.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string digest_of(const std::uint8_t* p, std::size_t n) {
    core::Sha256 s;
    s.update(p, n);
    const auto d = s.finish();
    return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace detail

std::pair<std::int64_t, std::int64_t> parse_range(const std::string& text, std::int64_t n,
                                                  const std::string& what) {
    auto num = [&](const std::string& s, std::int64_t dflt) -> std::int64_t {
        if (s.empty()) return dflt;
        std::size_t pos = 0;
        long long v = 0;
        try {
            v = std::stoll(s, &pos);
        } catch (...) {
            pos = 0;
        }
        if (pos != s.size() || s.empty())
            throw UsageError(what + " '" + text + "': expected a:b with integers");
        return v;
    };
    const auto colon = text.find(':');
    std::int64_t a = 0, b = n;
    if (colon == std::string::npos) {
        a = num(text, 0);
        b = a + 1;
    } else {
        a = num(text.substr(0, colon), 0);
        b = num(text.substr(colon + 1), n);
    }
    if (a < 0 || b > n || a >= b)
        throw UsageError(what + " '" + text + "' is empty or outside [0, " + std::to_string(n) +
                         ")");
    return {a, b};
}

}  // namespace fq::io

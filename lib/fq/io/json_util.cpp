#include "fq/io/json_util.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string_view>

#include "fq/core/sha256.hpp"

namespace fq::io {

using Json = nlohmann::ordered_json;

namespace {

constexpr std::size_t k_inline_object_width = 100;

bool is_scalar(const Json& v) {
    return !v.is_array() && !v.is_object();
}

std::string inline_scalars(const Json& v) {
    std::string s = v.is_array() ? "[" : "{";
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) s += ", ";
        first = false;
        if (v.is_object()) s += Json(it.key()).dump() + ": ";
        s += it.value().dump();
    }
    return s + (v.is_array() ? "]" : "}");
}

void write_readable(std::string& out, const Json& v, int indent) {
    if (is_scalar(v) || v.empty()) {
        out += v.dump();
        return;
    }
    if (std::all_of(v.begin(), v.end(), [](const Json& e) { return is_scalar(e); })) {
        std::string s = inline_scalars(v);
        if (v.is_array() || s.size() <= k_inline_object_width) {
            out += s;
            return;
        }
    }
    const std::string pad(static_cast<std::size_t>(indent) + 1, ' ');
    out += v.is_array() ? "[\n" : "{\n";
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ",\n";
        first = false;
        out += pad;
        if (v.is_object()) out += Json(it.key()).dump() + ": ";
        write_readable(out, it.value(), indent + 1);
    }
    out += "\n" + std::string(static_cast<std::size_t>(indent), ' ');
    out += v.is_array() ? "]" : "}";
}

}  // namespace

std::string dump_readable(const Json& value) {
    std::string out;
    write_readable(out, value, 0);
    return out;
}

std::string one_line(std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    std::replace(s.begin(), s.end(), '\r', ' ');
    return s;
}

void JsonReader::fail(const std::string& what) const {
    const std::string msg = one_line(m_context + ": " + what);
    if (m_code == ExitCode::corrupt) throw CorruptError(msg);
    throw UsageError(msg);
}

Json JsonReader::parse(const std::string& text) const {
    // Nesting is bounded before parsing: the checks and copies after it recurse per level,
    // and no fq file nests deeper than a few levels.
    int depth = 0;
    bool in_string = false, escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > k_max_json_depth)
                fail("nested deeper than " + std::to_string(k_max_json_depth) + " levels");
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    try {
        return Json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        fail(std::string("not valid JSON: ") + e.what());
    }
}

void JsonReader::expect_keys(const Json& obj, std::initializer_list<const char*> keys,
                             const std::string& where) const {
    if (!obj.is_object()) fail(where + " is not a JSON object");
    const std::set<std::string> want(keys.begin(), keys.end());
    for (const auto& [key, value] : obj.items())
        if (want.count(key) == 0) fail("unknown key '" + key + "' in " + where);
    for (const auto& key : want)
        if (!obj.contains(key)) fail("missing key '" + key + "' in " + where);
}

int JsonReader::get_int(const Json& obj, const char* key, int lo, int hi,
                        const std::string& where) const {
    const Json& v = obj.at(key);
    if (!v.is_number_integer()) fail(where + "'" + key + "' is not an integer");
    const bool in_range =
        v.is_number_unsigned()
            ? v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::max(hi, 0)) &&
                  static_cast<std::int64_t>(v.get<std::uint64_t>()) >= lo
            : v.get<std::int64_t>() >= lo && v.get<std::int64_t>() <= hi;
    if (!in_range)
        fail(where + "'" + key + "' = " + v.dump() + " is out of range [" + std::to_string(lo) +
             ", " + std::to_string(hi) + "]");
    return static_cast<int>(v.get<std::int64_t>());
}

double JsonReader::get_double(const Json& obj, const char* key, const std::string& where) const {
    const Json& v = obj.at(key);
    if (!v.is_number()) fail(where + "'" + key + "' is not a number");
    const double x = v.get<double>();
    if (!std::isfinite(x)) fail(where + "'" + key + "' is not finite");
    return x;
}

std::string JsonReader::get_string(const Json& obj, const char* key,
                                   const std::string& where) const {
    const Json& v = obj.at(key);
    if (!v.is_string()) fail(where + "'" + key + "' is not a string");
    return v.get<std::string>();
}

std::uint64_t JsonReader::get_uint64(const Json& obj, const char* key,
                                     const std::string& where) const {
    const Json& v = obj.at(key);
    // nlohmann stores non-negative integer literals as unsigned.
    if (!v.is_number_unsigned()) fail(where + "'" + key + "' is not an unsigned integer");
    return v.get<std::uint64_t>();
}

void JsonReader::check_finite(const Json& v, const std::string& where) const {
    if (v.is_number_float() && !std::isfinite(v.get<double>()))
        fail("non-finite number in " + where);
    if (v.is_array() || v.is_object())
        for (const auto& e : v) check_finite(e, where);
}

namespace {
constexpr std::string_view k_seal_prefix = "{\n \"file_sha256\": \"sha256:";
constexpr std::string_view k_seal_suffix = "\",\n";
}  // namespace

std::string seal_json_file(const std::string& text) {
    if (text.rfind("{\n", 0) != 0) throw std::logic_error("seal_json_file: not a JSON object");
    return std::string(k_seal_prefix) + core::sha256_hex(text.data(), text.size()) +
           std::string(k_seal_suffix) + text.substr(2);
}

std::string unseal_json_file(const std::string& text, const JsonReader& rd) {
    const std::size_t body = k_seal_prefix.size() + 64 + k_seal_suffix.size();
    if (text.rfind(k_seal_prefix, 0) != 0) {
        if (text.find("\"file_sha256\"") != std::string::npos) rd.fail("damaged file_sha256 line");
        return text;
    }
    if (text.size() < body ||
        text.compare(k_seal_prefix.size() + 64, k_seal_suffix.size(), k_seal_suffix) != 0)
        rd.fail("damaged file_sha256 line");
    std::string inner = "{\n" + text.substr(body);
    if (core::sha256_hex(inner.data(), inner.size()) != text.substr(k_seal_prefix.size(), 64))
        rd.fail(
            "file_sha256 mismatch: the file is damaged or was edited (an edited file must "
            "drop its file_sha256 line)");
    return inner;
}

}  // namespace fq::io

// JSON helpers shared by the files and configs fq reads and writes (nlohmann/json, with
// ordered objects so that a file's key order is the writer's, and re-writing a parsed file
// gives the same bytes).
//  - dump_readable: deterministic pretty printing that keeps numeric rows on one line.
//  - JsonReader: strict reading, every failure a one-line fq::Error naming the source
//    (CorruptError for files, UsageError for user configs); unknown keys are errors.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "fq/core/error.hpp"

namespace fq::io {

// One-space indentation like nlohmann's dump(1), except that arrays holding only scalars
// go on one line ([a, b, c]: one codeword row per line), and so do objects holding only
// scalars when that line is at most 100 characters ({"iter": 1, "distortion": 0.5}).
// Scalars are formatted by nlohmann (doubles in the shortest form that round-trips), so the
// text is a deterministic function of the value. No trailing newline.
std::string dump_readable(const nlohmann::ordered_json& value);

// Replaces line breaks by spaces (error messages are one line).
std::string one_line(std::string s);

// File seals. seal_json_file(text), for text a JSON object starting "{\n", inserts as its
// first member the line ' "file_sha256": "sha256:<hex>",' where hex is the SHA-256 of text
// itself: a codebook file's every byte (training record and whitespace included) is then
// checked, not only the hashed codewords. unseal_json_file gives back the sealed text, or
// fails (rd) on a mismatch or a damaged seal line; an unsealed text (written by hand or by
// an older fq) is returned as is.
std::string seal_json_file(const std::string& text);
class JsonReader;
std::string unseal_json_file(const std::string& text, const JsonReader& rd);

inline constexpr int k_max_json_depth = 64;

class JsonReader {
public:
    // Failures throw an fq::Error of `code` (corrupt or usage) with message
    // "<context>: <what>", e.g. context = "codebook file 'x.json'".
    JsonReader(std::string context, ExitCode code) : m_context(std::move(context)), m_code(code) {}

    [[noreturn]] void fail(const std::string& what) const;

    // Parses text; "not valid JSON: ..." on a syntax error or an overflowing number; text
    // nested deeper than k_max_json_depth arrays/objects is refused before parsing.
    nlohmann::ordered_json parse(const std::string& text) const;

    // obj must be an object whose keys are exactly `keys` (where names it in messages).
    void expect_keys(const nlohmann::ordered_json& obj, std::initializer_list<const char*> keys,
                     const std::string& where) const;
    // obj[key] (present) as an integer in [lo, hi], a finite number, a string, a uint64.
    // Messages name the key prefixed by `where` (e.g. "tail " -> "tail 'k' ...").
    int get_int(const nlohmann::ordered_json& obj, const char* key, int lo, int hi,
                const std::string& where = "") const;
    double get_double(const nlohmann::ordered_json& obj, const char* key,
                      const std::string& where = "") const;
    std::string get_string(const nlohmann::ordered_json& obj, const char* key,
                           const std::string& where = "") const;
    std::uint64_t get_uint64(const nlohmann::ordered_json& obj, const char* key,
                             const std::string& where = "") const;
    // Every number anywhere in v must be finite.
    void check_finite(const nlohmann::ordered_json& v, const std::string& where) const;

private:
    std::string m_context;
    ExitCode m_code;
};

}  // namespace fq::io
